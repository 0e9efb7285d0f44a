"""FabricClient, the synchronous client.

Every spec operation comes from the generated mixin (`fabric_platform_api.sync_client`); this
module supplies the four primitives it calls — `_call`, `_stream`, `_paginate`,
`_namespace` (in `_client_base`) — plus configuration, lifecycle and the few methods a table
cannot describe (in `resources/`). AsyncFabricClient lives in `_async_client`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, cast

import httpx
from fabric_platform_api.sync_client import SyncMethods

from ._auth import TokenStore
from ._client_base import REFRESH_PATH, ClientBase
from ._compat_helpers import remember_context
from ._raw import RawResponseProxy
from ._transport import SyncTransport
from .resources.sync_downloads import ClientDownloadsMixin
from .resources.sync_runs import ClientRunsMixin

if TYPE_CHECKING:
    from fabric_platform_api._operation import Operation

__all__ = ["FabricClient"]


class FabricClient(ClientRunsMixin, ClientDownloadsMixin, ClientBase, SyncMethods):
    """The synchronous Fabric client: every API operation as a method.

    Args:
        base_url: Fabric API base URL (env ``FABRIC_BASE_URL``; default https://gofabric.dev).
        api_key: A ``fab_*`` API key (env ``FABRIC_API_KEY``).
        principal_id: A user/service-account id, sent as ``X-Principal-Id`` (trusted deployments).
        organization_id: Default organization for org-scoped calls (env ``FABRIC_ORGANIZATION_ID``).
        timeout: Total seconds a call may take, retries and their waits included.
        max_retries: Retries after the first attempt for retryable failures.
        http_client: Your own ``httpx.Client`` (not closed by us).
        strict: Validate every response against the spec's models.
        default_headers: Headers added to every request.
        on_tokens: Called with new AuthTokens after login/refresh, so you can persist them.
        profile: A profile of ``~/.config/fabric/config.toml`` (env ``FABRIC_PROFILE``):
            its settings apply where neither an argument nor ``FABRIC_*`` gives one.
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
        http_client: Optional[httpx.Client] = None,
        strict: bool = False,
        default_headers: Optional[Mapping[str, str]] = None,
        on_tokens: Optional[Callable[[Dict[str, Any]], None]] = None,
        profile: Optional[str] = None,
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
        # The public 0.8/0.17 clients' context options (get_team_id, as_user…).
        remember_context(self, team_id=team_id, user_id=user_id, app_client_id=app_client_id)
        remember_context(self, app_client_secret=app_client_secret)
        self._tokens = TokenStore(self._config, refresh_path=REFRESH_PATH)
        self._transport = SyncTransport(self._config, self._tokens, http_client=http_client)

    # --- the primitives the generated methods call ------------------------------------------
    def _call(
        self,
        op: Operation,
        args: Dict[str, Any],
        *,
        idempotency_key: Optional[str] = None,
        pluck: Optional[str] = None,
    ) -> Any:
        response = self._transport.request(self._prepare(op, args), idempotency_key=idempotency_key)
        return self._result(response, pluck)

    def _stream(self, op: Operation, args: Dict[str, Any]) -> Any:
        from ._streams import EventStream

        return EventStream(self._transport, self._prepare(op, args))

    def _paginate(self, op: Operation, args: Dict[str, Any]) -> Any:
        from ._pagination import iter_cursor, iter_offset  # with the first iterator, not the client

        if op.pagination == "cursor":
            return iter_cursor(lambda cursor: self._call(op, {**args, "cursor": cursor}))
        limit = args.get("limit") or 50
        return iter_offset(lambda offset: self._call(op, {**args, "offset": offset, "limit": limit}), limit)

    # --- options and lifecycle ----------------------------------------------------------------
    def with_options(
        self,
        *,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        organization_id: Optional[str] = None,
    ) -> FabricClient:
        """A light copy with other options that shares this client's connection pool and tokens.

        Nothing is opened or copied but the configuration, so a per-call override
        (``fabric.with_options(timeout=120).wait_for_run(...)``) is cheap. Closing the
        copy does not close the shared pool: closing the original does.

        Args:
            timeout: Total seconds a call may take, retries included (default: this client's).
            max_retries: Retries after the first attempt (default: this client's).
            organization_id: Default organization for org-scoped calls (default: this client's).

        Returns:
            A new FabricClient; this one is unchanged.

        Raises:
            ValueError: ``timeout`` not above 0 or a negative ``max_retries``.
            TypeError: ``timeout`` not a number or ``max_retries`` not an int.
        """
        return cast(
            FabricClient,
            self._clone(timeout=timeout, max_retries=max_retries, organization_id=organization_id),
        )

    @property
    def with_raw_response(self) -> Any:
        """Call any method through this to get an ApiResponse (status, headers, request_id,
        retries_taken, elapsed, data) instead of the data alone."""
        return RawResponseProxy(self)

    def close(self) -> None:
        """Close the connection pool (a no-op for a caller-supplied ``http_client``). Idempotent."""
        self._transport.close()

    def __enter__(self) -> FabricClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _install_public_names() -> None:
    # The public fabric-platform 0.8/0.17 names and call shapes (see _compat_names).
    import fabric_platform_api.sync_client as generated

    from ._compat_helpers import sync_helpers
    from ._compat_names import install

    install(FabricClient, generated, sync_helpers())


_install_public_names()
