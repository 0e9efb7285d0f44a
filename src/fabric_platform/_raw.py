"""``with_raw_response``: call an operation and get its ApiResponse instead of its data.

A context variable carries the request for the duration of one call, so the generated
methods need no extra parameter; only methods known to send exactly one request honour it.
"""

from __future__ import annotations

import contextvars
from typing import Any, Callable, TypeVar

__all__ = ["RAW", "AsyncRawResponseProxy", "RawResponseProxy", "single_request"]

_F = TypeVar("_F", bound=Callable[..., Any])

# Set by `with_raw_response`: `_call` then returns the ApiResponse instead of its data.
RAW: contextvars.ContextVar[bool] = contextvars.ContextVar("fabric_raw_response", default=False)


def _single_request(method: Any) -> bool:
    """Generated operations (and hand-written ones marked so) make exactly one request."""
    func = getattr(method, "__func__", method)
    return bool(getattr(func, "_fabric_single_request", False)) or str(
        getattr(func, "__module__", "")
    ).startswith("fabric_platform_api")


def single_request(func: _F) -> _F:
    """Mark a hand-written method that sends exactly one request (raw responses apply)."""
    func._fabric_single_request = True  # type: ignore[attr-defined]
    return func


class RawResponseProxy:
    """`fabric.with_raw_response.<method or namespace>...(...)` → ApiResponse.

    Meant for operations (one request each); helpers that make several requests, such as
    ``wait_for_run``, return their usual result.
    """

    def __init__(self, target: Any) -> None:
        self._target = target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # a callable namespace: fabric.with_raw_response.providers()
        token = RAW.set(True)
        try:
            return self._target(*args, **kwargs)
        finally:
            RAW.reset(token)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr) or hasattr(attr, "_client"):
            return RawResponseProxy(attr)  # a namespace: keep walking
        if not _single_request(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            token = RAW.set(True)
            try:
                return attr(*args, **kwargs)
            finally:
                RAW.reset(token)

        return call


class AsyncRawResponseProxy(RawResponseProxy):
    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        token = RAW.set(True)
        try:
            return await self._target(*args, **kwargs)
        finally:
            RAW.reset(token)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr) or hasattr(attr, "_client"):
            return AsyncRawResponseProxy(attr)
        if not _single_request(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            token = RAW.set(True)
            try:
                return await attr(*args, **kwargs)
            finally:
                RAW.reset(token)

        return call
