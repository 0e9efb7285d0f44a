"""The two page styles of the API (wire contract §1), checked page by page.

* cursor: ``data = {"items": [...], "next_cursor": "<opaque>" | null}``
* offset: ``data = [...]``; a page shorter than ``limit`` is the last one.
"""

from __future__ import annotations

from typing import Any, List, Optional, Set, Tuple

from fabric_platform.errors import FabricResponseError

__all__ = ["check_limit", "cursor_page", "offset_page"]


def cursor_page(data: Any, seen: Set[str]) -> Tuple[List[Any], Optional[str]]:
    """Validate one cursor page; its items and the next cursor (None: the last page)."""
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


def offset_page(data: Any) -> List[Any]:
    """Validate one offset page (a list); its items."""
    if not isinstance(data, list):
        raise FabricResponseError(f"expected an offset page (a list), got {type(data).__name__}")
    return data


def check_limit(limit: int) -> int:
    """``limit`` when it is a usable page size (a positive int)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive int, got {limit!r}")
    return limit
