"""Auto-paginating iterators over the two page styles of the API (wire contract §1).

* cursor: ``data = {"items": [...], "next_cursor": "<opaque>" | null}``
* offset: ``data = [...]``; a page shorter than ``limit`` is the last one.

The iterators are lazy: a page is fetched only when the items of the previous one have been
consumed, so ``next(iter)`` on a million-item collection costs one request. They are
classes rather than generators so that an abandoned ``async for`` leaves no un-finalised
async generator behind.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, List, Optional, Set, Tuple

from fabric_platform.errors import FabricResponseError

__all__ = [
    "AsyncCursorIterator",
    "AsyncOffsetIterator",
    "CursorIterator",
    "OffsetIterator",
    "aiter_cursor",
    "aiter_offset",
    "iter_cursor",
    "iter_offset",
]

CursorFetch = Callable[[Optional[str]], Any]
AsyncCursorFetch = Callable[[Optional[str]], Awaitable[Any]]
OffsetFetch = Callable[[int], Any]
AsyncOffsetFetch = Callable[[int], Awaitable[Any]]


def _cursor_page(data: Any, seen: Set[str]) -> Tuple[List[Any], Optional[str]]:
    # Shared by both cursor iterators: validate one page and pick the next cursor.
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise FabricResponseError(
            f"expected a cursor page {{'items': [...], 'next_cursor': ...}}, got {type(data).__name__}"
        )
    next_cursor = data.get("next_cursor")
    if next_cursor is not None and not isinstance(next_cursor, str):
        raise FabricResponseError(f"next_cursor must be a string or null, got {type(next_cursor).__name__}")
    if next_cursor == "":
        next_cursor = None
    if next_cursor is not None:
        # A server bug that hands back a cursor already used would loop forever.
        if next_cursor in seen:
            raise FabricResponseError("the server returned a cursor it had already returned")
        seen.add(next_cursor)
    return list(data["items"]), next_cursor


def _offset_page(data: Any) -> List[Any]:
    if not isinstance(data, list):
        raise FabricResponseError(f"expected an offset page (a list), got {type(data).__name__}")
    return data


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive int, got {limit!r}")
    return limit


class CursorIterator(Iterator[Any]):
    """Items of every cursor page, fetched one page at a time."""

    def __init__(self, fetch_page: CursorFetch, *, cursor: Optional[str] = None) -> None:
        self._fetch = fetch_page
        self._cursor = cursor
        self._buffer: List[Any] = []
        self._index = 0
        self._done = False
        self._seen: Set[str] = set()
        self.pages_fetched = 0

    def __iter__(self) -> CursorIterator:
        return self

    def __next__(self) -> Any:
        while self._index >= len(self._buffer):
            if self._done:
                raise StopIteration
            items, self._cursor = _cursor_page(self._fetch(self._cursor), self._seen)
            self.pages_fetched += 1
            self._buffer, self._index = items, 0
            self._done = self._cursor is None
        item = self._buffer[self._index]
        self._index += 1
        return item


class AsyncCursorIterator(AsyncIterator[Any]):
    """Async twin of :class:`CursorIterator`."""

    def __init__(self, fetch_page: AsyncCursorFetch, *, cursor: Optional[str] = None) -> None:
        self._fetch = fetch_page
        self._cursor = cursor
        self._buffer: List[Any] = []
        self._index = 0
        self._done = False
        self._seen: Set[str] = set()
        self.pages_fetched = 0

    def __aiter__(self) -> AsyncCursorIterator:
        return self

    async def __anext__(self) -> Any:
        while self._index >= len(self._buffer):
            if self._done:
                raise StopAsyncIteration
            items, self._cursor = _cursor_page(await self._fetch(self._cursor), self._seen)
            self.pages_fetched += 1
            self._buffer, self._index = items, 0
            self._done = self._cursor is None
        item = self._buffer[self._index]
        self._index += 1
        return item


class OffsetIterator(Iterator[Any]):
    """Items of every offset page; stops after a page shorter than ``limit``."""

    def __init__(self, fetch_page: OffsetFetch, limit: int, *, offset: int = 0) -> None:
        self._fetch = fetch_page
        self._limit = _check_limit(limit)
        self._offset = offset
        self._buffer: List[Any] = []
        self._index = 0
        self._done = False
        self.pages_fetched = 0

    def __iter__(self) -> OffsetIterator:
        return self

    def __next__(self) -> Any:
        while self._index >= len(self._buffer):
            if self._done:
                raise StopIteration
            page = _offset_page(self._fetch(self._offset))
            self.pages_fetched += 1
            self._buffer, self._index = page, 0
            self._offset += len(page)
            # A short page is the last one; saves the request that would return [].
            self._done = len(page) < self._limit
        item = self._buffer[self._index]
        self._index += 1
        return item


class AsyncOffsetIterator(AsyncIterator[Any]):
    """Async twin of :class:`OffsetIterator`."""

    def __init__(self, fetch_page: AsyncOffsetFetch, limit: int, *, offset: int = 0) -> None:
        self._fetch = fetch_page
        self._limit = _check_limit(limit)
        self._offset = offset
        self._buffer: List[Any] = []
        self._index = 0
        self._done = False
        self.pages_fetched = 0

    def __aiter__(self) -> AsyncOffsetIterator:
        return self

    async def __anext__(self) -> Any:
        while self._index >= len(self._buffer):
            if self._done:
                raise StopAsyncIteration
            page = _offset_page(await self._fetch(self._offset))
            self.pages_fetched += 1
            self._buffer, self._index = page, 0
            self._offset += len(page)
            self._done = len(page) < self._limit
        item = self._buffer[self._index]
        self._index += 1
        return item


def iter_cursor(fetch_page: CursorFetch, *, cursor: Optional[str] = None) -> CursorIterator:
    """Iterate the items of a cursor-paginated operation.

    Args:
        fetch_page: Called with the cursor (None for the first page); returns the page's data.
        cursor: Where to start (default: the beginning).

    Returns:
        A lazy iterator over all items.

    Raises:
        FabricResponseError: (while iterating) a page is not ``{items, next_cursor}``.
    """
    return CursorIterator(fetch_page, cursor=cursor)


def aiter_cursor(fetch_page: AsyncCursorFetch, *, cursor: Optional[str] = None) -> AsyncCursorIterator:
    """Async twin of :func:`iter_cursor` (``fetch_page`` returns an awaitable).

    Args:
        fetch_page: Called with the cursor; returns an awaitable of the page's data.
        cursor: Where to start.

    Returns:
        A lazy async iterator over all items.
    """
    return AsyncCursorIterator(fetch_page, cursor=cursor)


def iter_offset(fetch_page: OffsetFetch, limit: int, *, offset: int = 0) -> OffsetIterator:
    """Iterate the items of an offset-paginated operation.

    Args:
        fetch_page: Called with the offset; returns the page (a list of at most ``limit``).
        limit: The page size requested by ``fetch_page``.
        offset: Where to start.

    Returns:
        A lazy iterator over all items.

    Raises:
        ValueError: ``limit`` is not a positive int.
    """
    return OffsetIterator(fetch_page, limit, offset=offset)


def aiter_offset(fetch_page: AsyncOffsetFetch, limit: int, *, offset: int = 0) -> AsyncOffsetIterator:
    """Async twin of :func:`iter_offset`.

    Args:
        fetch_page: Called with the offset; returns an awaitable of the page.
        limit: The page size.
        offset: Where to start.

    Returns:
        A lazy async iterator over all items.

    Raises:
        ValueError: ``limit`` is not a positive int.
    """
    return AsyncOffsetIterator(fetch_page, limit, offset=offset)
