"""FabricClient and AsyncFabricClient.

Every spec operation comes from the generated mixins (`fabric_platform_api.sync_client` /
`async_client`); this module supplies the four primitives those mixins call — `_call`,
`_stream`, `_paginate`, `_namespace` — plus configuration, lifecycle and the few methods a
table cannot describe (they live in `_runs.py`, `_run_helpers.py` and `resources/`).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional, Type, TypeVar, cast

import httpx
from fabric_platform_api._operation import Operation
from fabric_platform_api.async_client import AsyncMethods
from fabric_platform_api.sync_client import SyncMethods

from ._auth import TokenStore
from ._config import ClientConfig
from ._pagination import aiter_cursor, aiter_offset, iter_cursor, iter_offset
from ._raw import RAW, AsyncRawResponseProxy, RawResponseProxy
from ._request import PreparedRequest, build_request
from ._transport import DEFAULT_MAX_IN_FLIGHT, ApiResponse, AsyncTransport, SyncTransport
from .errors import FabricResponseError
from .resources.async_downloads import AsyncClientDownloadsMixin
from .resources.async_runs import AsyncClientRunsMixin
from .resources.sync_downloads import ClientDownloadsMixin
from .resources.sync_runs import ClientRunsMixin

__all__ = ["AsyncFabricClient", "FabricClient"]

_N = TypeVar("_N")
_REFRESH_PATH = "/v1/auth/token/refresh"


def _pluck(data: Any, spec: Optional[str]) -> Any:
    """The part of ``data`` a flat method returns (``id``, ``allowed``, ``[].name``)."""
    if not spec:
        return data
    try:
        if spec.startswith("[]."):
            key = spec[3:]
            return [item[key] for item in data]
        return data[spec]
    except (KeyError, TypeError, IndexError):
        raise FabricResponseError(f"the response data has no {spec!r}: {type(data).__name__}") from None


class _ClientBase:
    """Configuration and the parts of the primitives that do no I/O."""

    _config: ClientConfig
    _tokens: TokenStore

    def _configure(
        self,
        *,
        base_url: Optional[str],
        api_key: Optional[str],
        principal_id: Optional[str],
        organization_id: Optional[str],
        timeout: float,
        max_retries: int,
        strict: bool,
        default_headers: Optional[Mapping[str, str]],
        on_tokens: Optional[Callable[[Dict[str, Any]], None]],
    ) -> None:
        self._config = ClientConfig.from_env(
            base_url=base_url,
            api_key=api_key,
            principal_id=principal_id,
            organization_id=organization_id,
            timeout=timeout,
            max_retries=max_retries,
            strict=strict,
            default_headers=default_headers,
            on_tokens=on_tokens,
        )
        self._namespaces: Dict[type, Any] = {}

    @property
    def base_url(self) -> str:
        """The Fabric API base URL this client talks to."""
        return self._config.base_url

    @property
    def organization_id(self) -> str:
        """The organization used when a method's organization argument is omitted."""
        return self._config.organization_id

    @property
    def strict(self) -> bool:
        """Whether responses are validated against the spec's models."""
        return self._config.strict

    def _prepare(self, op: Operation, args: Dict[str, Any]) -> PreparedRequest:
        return build_request(op, args, organization_id=self._config.organization_id)

    def _result(self, response: ApiResponse, pluck: Optional[str]) -> Any:
        if pluck:
            response.data = _pluck(response.data, pluck)
        return response if RAW.get() else response.data

    def _clone(self, **options: Any) -> Any:
        # A shallow copy: same transport pool and token store, other config, fresh namespaces.
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        changes = {k: v for k, v in options.items() if v is not None}
        clone._config = self._config.replace(**changes)
        clone._transport = self._transport.copy(config=clone._config)  # type: ignore[attr-defined]
        clone._namespaces = {}
        return clone

    def _namespace(self, cls: Type[_N]) -> _N:
        ns = self._namespaces.get(cls)
        if ns is None:
            ns = self._namespaces[cls] = cls(self)  # type: ignore[call-arg]
        return ns

    def social_login_url(self, provider: str) -> str:
        """The URL to send a user to for OAuth sign-in with ``provider`` (e.g. "google")."""
        return f"{self._config.base_url}/v1/auth/social/{provider}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._config!r})"


class FabricClient(ClientRunsMixin, ClientDownloadsMixin, _ClientBase, SyncMethods):
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
        )
        self._tokens = TokenStore(self._config, refresh_path=_REFRESH_PATH)
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
        """A light copy with other options that shares this client's connection pool and tokens."""
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


class AsyncFabricClient(AsyncClientRunsMixin, AsyncClientDownloadsMixin, _ClientBase, AsyncMethods):
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
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
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
        )
        self._tokens = TokenStore(self._config, refresh_path=_REFRESH_PATH)
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
        """A light copy with other options that shares this client's connection pool and tokens."""
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
