"""Auto-paginating iterators: lazy page fetches, both page styles, stop conditions, bad
pages, and the async twins."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, Dict, List, Optional

import pytest

from fabric_platform._async.pagination import aiter_cursor, aiter_offset
from fabric_platform._sync.pagination import iter_cursor, iter_offset
from fabric_platform.errors import FabricResponseError


class CursorPages:
    """Pages of 3 items over 0..n-1, cursors "c3", "c6", ..."""

    def __init__(self, n: int, size: int = 3) -> None:
        self.n, self.size = n, size
        self.calls: List[Optional[str]] = []

    def __call__(self, cursor: Optional[str]) -> Dict[str, Any]:
        self.calls.append(cursor)
        start = int(cursor[1:]) if cursor else 0
        end = min(start + self.size, self.n)
        return {"items": list(range(start, end)), "next_cursor": f"c{end}" if end < self.n else None}


class OffsetPages:
    def __init__(self, n: int) -> None:
        self.n = n
        self.calls: List[int] = []

    def __call__(self, offset: int, limit: int) -> List[int]:
        self.calls.append(offset)
        return list(range(offset, min(offset + limit, self.n)))


def test_cursor_iterates_all_items_in_order() -> None:
    pages = CursorPages(10)
    assert list(iter_cursor(pages)) == list(range(10))
    assert pages.calls == [None, "c3", "c6", "c9"]


def test_cursor_fetches_lazily() -> None:
    pages = CursorPages(100)
    it = iter_cursor(pages)
    assert pages.calls == []  # nothing fetched before the first next()
    assert next(it) == 0
    assert pages.calls == [None]
    assert list(itertools.islice(it, 2)) == [1, 2]
    assert pages.calls == [None]  # still within the first page
    assert next(it) == 3
    assert pages.calls == [None, "c3"]
    assert it.pages_fetched == 2


def test_cursor_start_and_empty() -> None:
    assert list(iter_cursor(CursorPages(6), cursor="c3")) == [3, 4, 5]
    empty = CursorPages(0)
    assert list(iter_cursor(empty)) == []
    assert empty.calls == [None]


def test_cursor_skips_empty_pages_that_have_a_next_cursor() -> None:
    answers = iter([{"items": [], "next_cursor": "a"}, {"items": [1], "next_cursor": ""}])
    assert list(iter_cursor(lambda c: next(answers))) == [1]


@pytest.mark.parametrize(
    "page",
    [
        [1, 2],
        {"next_cursor": None},
        {"items": "abc", "next_cursor": None},
        {"items": [], "next_cursor": 5},
        None,
    ],
)
def test_cursor_rejects_malformed_pages(page: Any) -> None:
    with pytest.raises(FabricResponseError):
        list(iter_cursor(lambda c: page))


def test_cursor_loop_guard() -> None:
    calls = []

    def stuck(cursor: Optional[str]) -> Dict[str, Any]:
        calls.append(cursor)
        return {"items": [1], "next_cursor": "same"}

    with pytest.raises(FabricResponseError, match="already"):
        list(iter_cursor(stuck))
    assert calls == [None, "same"]


def test_offset_stops_on_short_page() -> None:
    pages = OffsetPages(7)
    assert list(iter_offset(lambda off: pages(off, 3), 3)) == list(range(7))
    assert pages.calls == [0, 3, 6]  # the short page [6] ends it: no request for offset 9


def test_offset_exact_multiple_needs_one_empty_page() -> None:
    pages = OffsetPages(6)
    assert list(iter_offset(lambda off: pages(off, 3), 3)) == list(range(6))
    assert pages.calls == [0, 3, 6]


def test_offset_lazy_and_start() -> None:
    pages = OffsetPages(1000)
    it = iter_offset(lambda off: pages(off, 50), 50, offset=100)
    assert next(it) == 100 and pages.calls == [100]
    assert list(itertools.islice(it, 49))[-1] == 149 and pages.calls == [100]
    assert next(it) == 150 and pages.calls == [100, 150]


def test_offset_rejects_bad_pages_and_limits() -> None:
    with pytest.raises(FabricResponseError):
        list(iter_offset(lambda off: {"items": []}, 10))
    for bad in (0, -1, True, 2.5):
        with pytest.raises(ValueError):
            iter_offset(lambda off: [], bad)  # type: ignore[arg-type]


def test_async_twins() -> None:
    cursor_pages = CursorPages(8)
    offset_pages = OffsetPages(5)

    async def fetch_cursor(cursor: Optional[str]) -> Dict[str, Any]:
        await asyncio.sleep(0)
        return cursor_pages(cursor)

    async def fetch_offset(offset: int) -> List[int]:
        await asyncio.sleep(0)
        return offset_pages(offset, 2)

    async def main() -> Any:
        it = aiter_cursor(fetch_cursor)
        first = await it.__anext__()
        calls_after_first = list(cursor_pages.calls)
        rest = [x async for x in it]
        offs = [x async for x in aiter_offset(fetch_offset, 2)]
        return first, calls_after_first, rest, offs

    first, calls_after_first, rest, offs = asyncio.run(main())
    assert first == 0 and calls_after_first == [None]
    assert rest == list(range(1, 8))
    assert cursor_pages.calls == [None, "c3", "c6"]
    assert offs == list(range(5)) and offset_pages.calls == [0, 2, 4]


def test_async_abandoned_iteration_leaves_nothing_behind() -> None:
    async def fetch(cursor: Optional[str]) -> Dict[str, Any]:
        return {"items": [1, 2, 3], "next_cursor": "more" if cursor is None else None}

    async def main() -> int:
        async for item in aiter_cursor(fetch):
            return int(item)  # break out early: a class iterator needs no aclose()
        return -1

    assert asyncio.run(main()) == 1
