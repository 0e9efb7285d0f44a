"""The send pipeline every operation goes through, for the sync and the async client.

This module only gathers the pipeline's names; the pipeline itself is split by concern:

* ``_call`` — a call's per-operation template, its per-call state, :class:`ApiResponse`;
* ``_pipeline`` — :class:`BaseTransport`, shared by both transports: setting up a call and
  building each attempt's request (credentials, Idempotency-Key, cached merged headers);
* ``_outcome`` — what follows an attempt: retry, refresh or raise; the result of a 2xx;
* ``_validation`` — strict mode's check against the generated models;
* ``_body_streams`` — response bodies that stop at the call's deadline;
* ``_client_handle`` — the httpx client a transport shares with its copies;
* ``_gate`` — the async client's bound on requests in flight;
* ``_sync_transport`` / ``_async_transport`` — the I/O loop, once with ``def`` and once
  with ``async def``.

Importing the sync side does not import asyncio, and nothing here imports pydantic (strict
mode does, in ``_validation``, on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fabric_platform._call import ApiResponse
from fabric_platform._pipeline import USER_AGENT
from fabric_platform._sync_transport import SyncTransport

if TYPE_CHECKING:
    from fabric_platform._async_transport import AsyncTransport
    from fabric_platform._gate import DEFAULT_MAX_IN_FLIGHT

__all__ = ["DEFAULT_MAX_IN_FLIGHT", "USER_AGENT", "ApiResponse", "AsyncTransport", "SyncTransport"]

# Names that need asyncio, imported when first asked for (PEP 562).
_ASYNC_NAMES = {
    "AsyncTransport": ("fabric_platform._async_transport", "AsyncTransport"),
    "DEFAULT_MAX_IN_FLIGHT": ("fabric_platform._gate", "DEFAULT_MAX_IN_FLIGHT"),
}


def __getattr__(name: str) -> Any:
    target = _ASYNC_NAMES.get(name)
    if target is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(target[0]), target[1])
    globals()[name] = value
    return value
