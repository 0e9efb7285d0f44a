"""``with_raw_response``'s switch: a call returns its ApiResponse instead of its data.

A context variable carries the request for the duration of one call, so the generated
methods need no extra parameter; only methods known to send exactly one request honour it.
"""

from __future__ import annotations

import contextvars
from typing import Any, Callable, TypeVar

__all__ = ["RAW", "is_single_request"]

_F = TypeVar("_F", bound=Callable[..., Any])

# Set by `with_raw_response`: `_call` then returns the ApiResponse instead of its data.
RAW: contextvars.ContextVar[bool] = contextvars.ContextVar("fabric_raw_response", default=False)


def is_single_request(method: Any) -> bool:
    """Generated operations (and hand-written ones marked ``single_request``) make exactly
    one request."""
    func = getattr(method, "__func__", method)
    return bool(getattr(func, "_fabric_single_request", False)) or str(
        getattr(func, "__module__", "")
    ).startswith("fabric_platform_api")
