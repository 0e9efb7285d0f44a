"""AsyncFabricClient, the asyncio client.

The twin of `_client.FabricClient` over the generated `fabric_platform_api.async_client`.
Importing it does not import asyncio: the async transport (and with it asyncio) loads when
the first client is constructed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, cast

import httpx
from fabric_platform_api.async_client import AsyncMethods

from ._auth import TokenStore
from ._client_base import REFRESH_PATH, ClientBase
from ._compat_helpers import remember_context
from ._config import DEFAULT_MAX_IN_FLIGHT
from ._raw import AsyncRawResponseProxy
from .resources.async_downloads import AsyncClientDownloadsMixin
from .resources.async_runs import AsyncClientRunsMixin

if TYPE_CHECKING:
    from fabric_platform_api._operation import Operation

__all__ = ["AsyncFabricClient"]


class AsyncFabricClient(AsyncClientRunsMixin, AsyncClientDownloadsMixin, ClientBase, AsyncMethods):
    """The asyncio Fabric client: the same methods as :class:`FabricClient`, awaitable.

    Args: as :class:`FabricClient`, with ``http_client`` an ``httpx.AsyncClient``, and
        max_in_flight: How many requests this client lets into its connection pool at once
            (default 16); more concurrent calls wait their turn in order, within their own
            ``timeout``. Raise it for high-latency links with many concurrent calls.
    """

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
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
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
        from ._transport import AsyncTransport  # asyncio loads with the first async client

        # The public 0.8/0.17 clients' context options (get_team_id, as_user…).
        remember_context(self, team_id=team_id, user_id=user_id, app_client_id=app_client_id)
        remember_context(self, app_client_secret=app_client_secret)
        self._tokens = TokenStore(self._config, refresh_path=REFRESH_PATH)
        self._transport = AsyncTransport(
            self._config, self._tokens, http_client=http_client, max_in_flight=max_in_flight
        )

    async def _call(
        self,
        op: Operation,
        args: Dict[str, Any],
        *,
        idempotency_key: Optional[str] = None,
        pluck: Optional[str] = None,
    ) -> Any:
        response = await self._transport.request(self._prepare(op, args), idempotency_key=idempotency_key)
        return self._result(response, pluck)

    def _stream(self, op: Operation, args: Dict[str, Any]) -> Any:
        from ._streams import AsyncEventStream

        return AsyncEventStream(self._transport, self._prepare(op, args))

    def _paginate(self, op: Operation, args: Dict[str, Any]) -> Any:
        from ._pagination import aiter_cursor, aiter_offset  # with the first iterator, not the client

        if op.pagination == "cursor":
            return aiter_cursor(lambda cursor: self._call(op, {**args, "cursor": cursor}))
        limit = args.get("limit") or 50
        return aiter_offset(lambda offset: self._call(op, {**args, "offset": offset, "limit": limit}), limit)

    def with_options(
        self,
        *,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        organization_id: Optional[str] = None,
    ) -> AsyncFabricClient:
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
        return cast(
            AsyncFabricClient,
            self._clone(timeout=timeout, max_retries=max_retries, organization_id=organization_id),
        )

    @property
    def with_raw_response(self) -> Any:
        """Await any method through this to get an ApiResponse instead of the data alone."""
        return AsyncRawResponseProxy(self)

    async def close(self) -> None:
        """Close the connection pool (a no-op for a caller-supplied ``http_client``). Idempotent."""
        await self._transport.close()

    async def __aenter__(self) -> AsyncFabricClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _install_public_names() -> None:
    # The public fabric-platform 0.8/0.17 names and call shapes (see _compat_names).
    import fabric_platform_api.async_client as generated

    from ._compat_helpers import async_helpers
    from ._compat_names import install

    install(AsyncFabricClient, generated, async_helpers())


_install_public_names()
