"""The primitives every AsyncFabricClient method is built on, with configuration and lifecycle.

``_call`` (one operation, one result), ``_stream`` (an event stream), ``_paginate`` (every
item of a paged operation) and, from ``_client_base``, ``_namespace``: the contract between
the generated methods, the hand-written helpers (``runs``, ``downloads``, ``waiting``) and
the client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, TypeVar

import httpx

from fabric_platform._client_base import REFRESH_PATH, ClientBase, pluck_data
from fabric_platform._config import DEFAULT_MAX_IN_FLIGHT  # async only

if TYPE_CHECKING:
    from fabric_platform_api._operation import Operation

    from fabric_platform._async.streams import AsyncEventStream
    from fabric_platform._async.transport import AsyncTransport

__all__ = ["AsyncBaseClient"]

# What _call uses, bound by the first client rather than imported with this module (the
# import rows of BENCHMARKS.md) or on every call (the per-call rows).
RAW: Any = None
build_request: Any = None


def _bind_call_names() -> None:
    global RAW, build_request
    if build_request is None:
        from fabric_platform._core.raw import RAW
        from fabric_platform._core.request import build_request


_C = TypeVar("_C", bound="AsyncBaseClient")


class AsyncBaseClient(ClientBase):
    """Configuration, lifecycle and the primitives; :class:`AsyncFabricClient` adds the methods."""

    _transport: AsyncTransport

    def __init__(
        self,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        principal_id: Optional[str] = None,
        organization_id: Optional[str] = None,
        timeout: float = 30.0,
        *,
        max_retries: int = 2,
        http_client: Optional[httpx.AsyncClient] = None,
        strict: bool = False,
        default_headers: Optional[Mapping[str, str]] = None,
        on_tokens: Optional[Callable[[Dict[str, Any]], None]] = None,
        profile: Optional[str] = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,  # async only
        team_id: Optional[str] = None,
        user_id: Optional[str] = None,
        app_client_id: Optional[str] = None,
        app_client_secret: Optional[str] = None,
    ) -> None:
        self._configure(
            base_url=base_url,
            api_key=api_key,
            principal_id=principal_id,
            organization_id=organization_id,
            timeout=timeout,
            max_retries=max_retries,
            strict=strict,
            default_headers=default_headers,
            on_tokens=on_tokens,
            profile=profile,
        )
        # The credentials and the transport load with the first client, not with the
        # import (the "import" rows of BENCHMARKS.md; the async transport brings asyncio).
        from fabric_platform._async.transport import AsyncTransport
        from fabric_platform._auth import TokenStore

        _bind_call_names()

        if team_id or user_id or app_client_id or app_client_secret:
            # The public 0.8/0.17 clients' context options (get_team_id, as_user…).
            from fabric_platform._compat_helpers import remember_context

            remember_context(self, team_id=team_id, user_id=user_id, app_client_id=app_client_id)
            remember_context(self, app_client_secret=app_client_secret)
        self._tokens = TokenStore(self._config, refresh_path=REFRESH_PATH)
        self._transport = AsyncTransport(
            self._config,
            self._tokens,
            http_client=http_client,
            max_in_flight=max_in_flight,  # async only
        )

    # --- the primitives the generated methods call ------------------------------------------
    async def _call(
        self,
        op: Operation,
        args: Dict[str, Any],
        *,
        idempotency_key: Optional[str] = None,
        pluck: Optional[str] = None,
    ) -> Any:
        # Written out rather than through _prepare, with names the first client bound: this
        # is every operation's path (the per-call rows of BENCHMARKS.md).
        prepared = build_request(op, args, organization_id=self._config.organization_id)
        response = await self._transport.request(prepared, idempotency_key=idempotency_key)
        if pluck:
            response.data = pluck_data(response.data, pluck)
        return response if RAW.get() else response.data

    def _stream(
        self,
        op: Operation,
        args: Dict[str, Any],
        *,
        deadline: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> AsyncEventStream:
        from fabric_platform._async.streams import AsyncEventStream  # with the first stream

        return AsyncEventStream(
            self._transport, self._prepare(op, args), deadline=deadline, max_retries=max_retries
        )

    def _paginate(self, op: Operation, args: Dict[str, Any]) -> Any:
        # The iterators load with the first of them, not with the client.
        from fabric_platform._async.pagination import aiter_cursor, aiter_offset

        if op.pagination == "cursor":
            return aiter_cursor(lambda cursor: self._call(op, {**args, "cursor": cursor}))
        limit = args.get("limit") or 50
        return aiter_offset(lambda offset: self._call(op, {**args, "offset": offset, "limit": limit}), limit)

    # --- options and lifecycle ----------------------------------------------------------------
    def with_options(
        self: _C,
        *,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        organization_id: Optional[str] = None,
    ) -> _C:
        """A light copy with other options that shares this client's connection pool and tokens.

        Nothing is opened or copied but the configuration, so a per-call override
        (``fabric.with_options(timeout=120).wait_for_run(...)``) is cheap. Closing the
        copy does not close the shared pool: closing the original does.

        Args:
            timeout: Total seconds a call may take, retries included (default: this client's).
            max_retries: Retries after the first attempt (default: this client's).
            organization_id: Default organization for org-scoped calls (default: this client's).

        Returns:
            A new AsyncFabricClient; this one is unchanged.

        Raises:
            ValueError: ``timeout`` not above 0 or a negative ``max_retries``.
            TypeError: ``timeout`` not a number or ``max_retries`` not an int.
        """
        clone = self._clone(timeout=timeout, max_retries=max_retries, organization_id=organization_id)
        clone._transport = self._transport.copy(config=clone._config)
        return clone

    @property
    def with_raw_response(self) -> Any:
        """Call any method through this to get an ApiResponse (status, headers, request_id,
        retries_taken, elapsed, data) instead of the data alone."""
        from fabric_platform._async.raw import AsyncRawResponseProxy

        return AsyncRawResponseProxy(self)

    async def close(self) -> None:
        """Close the connection pool (a no-op for a caller-supplied ``http_client``). Idempotent."""
        await self._transport.close()

    async def __aenter__(self: _C) -> _C:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
