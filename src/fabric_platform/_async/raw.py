"""``fabric.with_raw_response``: the same methods and namespaces, answering ApiResponse."""

from __future__ import annotations

from typing import Any

from fabric_platform._core.raw import RAW, is_single_request

__all__ = ["AsyncRawResponseProxy"]


class AsyncRawResponseProxy:
    """`fabric.with_raw_response.<method or namespace>...(...)` → ApiResponse.

    Meant for operations (one request each); helpers that make several requests, such as
    ``wait_for_run``, return their usual result.
    """

    def __init__(self, target: Any) -> None:
        self._target = target

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # a callable namespace: fabric.with_raw_response.providers()
        token = RAW.set(True)
        try:
            return await self._target(*args, **kwargs)
        finally:
            RAW.reset(token)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr) or hasattr(attr, "_client"):
            return AsyncRawResponseProxy(attr)  # a namespace: keep walking
        if not is_single_request(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            token = RAW.set(True)
            try:
                return await attr(*args, **kwargs)
            finally:
                RAW.reset(token)

        return call
