"""Auto-paginating iterators over the API's cursor and offset pages.

The iterators are lazy: a page is fetched only when the items of the previous one have been
consumed, so ``next(iter)`` on a million-item collection costs one request. They are
classes rather than generators so that an abandoned ``async for`` leaves no un-finalised
async generator behind. The page rules are in ``_core/pages.py``.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable, List, Optional, Set

from fabric_platform._core.pages import check_limit, cursor_page, offset_page

__all__ = ["AsyncCursorIterator", "AsyncOffsetIterator", "aiter_cursor", "aiter_offset"]

# fetch(cursor or offset) -> the page's data
AsyncCursorFetch = Callable[[Optional[str]], Awaitable[Any]]
AsyncOffsetFetch = Callable[[int], Awaitable[Any]]


class AsyncCursorIterator(AsyncIterator[Any]):
    """Items of every cursor page, fetched one page at a time."""

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
            items, self._cursor = cursor_page(await self._fetch(self._cursor), self._seen)
            self.pages_fetched += 1
            self._buffer, self._index = items, 0
            self._done = self._cursor is None
        item = self._buffer[self._index]
        self._index += 1
        return item


class AsyncOffsetIterator(AsyncIterator[Any]):
    """Items of every offset page; stops after a page shorter than ``limit``."""

    def __init__(self, fetch_page: AsyncOffsetFetch, limit: int, *, offset: int = 0) -> None:
        self._fetch = fetch_page
        self._limit = check_limit(limit)
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
            page = offset_page(await self._fetch(self._offset))
            self.pages_fetched += 1
            self._buffer, self._index = page, 0
            self._offset += len(page)
            # A short page is the last one; saves the request that would return [].
            self._done = len(page) < self._limit
        item = self._buffer[self._index]
        self._index += 1
        return item


def aiter_cursor(fetch_page: AsyncCursorFetch, *, cursor: Optional[str] = None) -> AsyncCursorIterator:
    """Iterate the items of a cursor-paginated operation.

    Args:
        fetch_page: Called with the cursor (None for the first page); returns the page's data.
        cursor: Where to start (default: the beginning).

    Returns:
        A lazy iterator over all items.

    Raises:
        FabricResponseError: (while iterating) a page is not ``{items, next_cursor}``.
    """
    return AsyncCursorIterator(fetch_page, cursor=cursor)


def aiter_offset(fetch_page: AsyncOffsetFetch, limit: int, *, offset: int = 0) -> AsyncOffsetIterator:
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
    return AsyncOffsetIterator(fetch_page, limit, offset=offset)
