"""The pipeline's I/O loop for :class:`~fabric_platform.AsyncFabricClient` (asyncio)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Mapping, Optional, Union

import httpx

from fabric_platform import _deadline_io
from fabric_platform._auth import AuthSnapshot, TokenStore
from fabric_platform._body_streams import SEND_ERRORS, SUCCESS, AsyncDeadlineStream
from fabric_platform._call import ApiResponse, Call, Step
from fabric_platform._client_handle import DEFAULT_LIMITS, ClientHandle
from fabric_platform._config import ClientConfig
from fabric_platform._gate import DEFAULT_MAX_IN_FLIGHT, Gate
from fabric_platform._logging import logger
from fabric_platform._pipeline import BaseTransport
from fabric_platform._request import PreparedRequest
from fabric_platform.errors import FabricAuthError, FabricError

__all__ = ["AsyncTransport"]


class AsyncTransport(BaseTransport):
    """The pipeline for :class:`AsyncFabricClient`. Safe to share between tasks."""

    def __init__(
        self,
        config: ClientConfig,
        tokens: Optional[TokenStore] = None,
        http_client: Optional[httpx.AsyncClient] = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        _handle: Optional[ClientHandle] = None,
    ) -> None:
        """Create a transport.

        Args:
            config: The client configuration.
            tokens: The credential store (one is made from ``config`` when omitted).
            http_client: An httpx.AsyncClient to use (not closed by us); else one we own.
            clock: Monotonic clock for deadlines.
            wall_clock: Wall clock for HTTP-date ``Retry-After``.
            sleep: Awaited between retries.
            rand: Jitter source.
            max_in_flight: Requests let into the connection pool at once (shared with
                copies); more wait, in order, within their own deadline.

        Raises:
            ValueError: ``max_in_flight`` is below 1.
        """
        if max_in_flight < 1:  # checked before a pool is created for nothing
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight!r}")
        super().__init__(
            config,
            tokens,
            http_client,
            handle=_handle,
            max_in_flight=max_in_flight,
            clock=clock,
            wall_clock=wall_clock,
            sleep=sleep,
            rand=rand,
        )
        client = self._handle.client
        if not isinstance(client, httpx.AsyncClient):
            raise TypeError(f"AsyncTransport needs an httpx.AsyncClient, got {type(client).__name__}")

    @staticmethod
    def _create_http_client(config: ClientConfig) -> httpx.AsyncClient:
        # The SDK's own HTTP/1.1 transport (see _aio_http: httpx's default async transport
        # costs twice the CPU per request); requests through a proxy from the environment
        # get httpx's (mounted here: httpx does not read the environment when given a
        # transport).
        from fabric_platform._aio_http import AsyncHTTP11Transport
        from fabric_platform._proxies import environment_mounts

        def proxied(url: str) -> httpx.AsyncBaseTransport:
            return httpx.AsyncHTTPTransport(proxy=httpx.Proxy(url), limits=DEFAULT_LIMITS)

        client = httpx.AsyncClient(
            transport=AsyncHTTP11Transport(limits=DEFAULT_LIMITS),
            mounts=environment_mounts(proxied),
            timeout=config.timeout,
            limits=DEFAULT_LIMITS,
            follow_redirects=False,
        )
        _deadline_io.install(client)  # the proxy mounts' pools, if any
        return client

    def copy(
        self,
        *,
        config: Optional[ClientConfig] = None,
        tokens: Optional[TokenStore] = None,
        **config_changes: Any,
    ) -> AsyncTransport:
        """A light copy with some settings changed, sharing the connection pool (and the bound
        on requests in flight); as :meth:`SyncTransport.copy
        <fabric_platform._sync_transport.SyncTransport.copy>`.
        """
        return self._copy(config, tokens, config_changes)

    async def close(self) -> None:
        """Release the connection pool if this transport created it. Idempotent."""
        self._closed = True
        if self._owns_handle:
            await self._handle.aclose()

    async def request(
        self,
        prepared: PreparedRequest,
        *,
        idempotency_key: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> ApiResponse:
        """Send one logical call and return its parsed result.

        The async twin of :meth:`SyncTransport.request
        <fabric_platform._sync_transport.SyncTransport.request>`: the same arguments, result
        and errors.
        """
        call = self._new_call(
            prepared,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            stream=False,
        )
        return self._finish(call, await self._run(call))

    @contextlib.asynccontextmanager
    async def open_stream(
        self,
        prepared: PreparedRequest,
        *,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> AsyncIterator[httpx.Response]:
        """Open a streamed 2xx response (SSE, downloads); it is closed when the block exits.

        Args:
            prepared: The request.
            headers: Extra headers (``Accept``, ``Last-Event-ID``, ...).
            timeout: Seconds (default: config).

        Yields:
            The open ``httpx.Response``; iterate it with ``aiter_bytes``/``aiter_lines``.

        Raises:
            FabricAPIError: A non-2xx answer (body read, then mapped).
            FabricConnectionError: Could not connect within the deadline.
        """
        call = self._new_call(
            prepared, idempotency_key=None, timeout=timeout, max_retries=None, headers=headers, stream=True
        )
        response = await self._run(call)
        try:
            yield response
        finally:
            await response.aclose()

    def _send_refresh(self, parent: Call) -> Callable[[str, Dict[str, Any], str], Awaitable[Any]]:
        async def send(path: str, body: Dict[str, Any], key: str) -> Any:
            call = self._refresh_call(parent, path, body, key)
            return self._finish(call, await self._run(call)).data

        return send

    async def _refresh_first(self, call: Call) -> AuthSnapshot:
        # As SyncTransport._refresh_first: a failed proactive refresh does not fail the call.
        try:
            await self.tokens.arefresh(self._send_refresh(call), self.tokens.generation)
        except FabricAuthError:
            raise
        except FabricError as exc:
            logger.info("proactive token refresh failed (%s); using the current token", type(exc).__name__)
        return self.tokens.snapshot()

    def _gate(self) -> Gate:
        # The running loop's bound on requests in flight through the shared pool.
        loop = asyncio.get_running_loop()
        gates = self._handle.gates
        gate: Optional[Gate] = gates.get(loop)
        if gate is None:
            gate = gates[loop] = Gate(self._handle.max_in_flight, loop)
        return gate

    async def _run(self, call: Call) -> httpx.Response:
        client: httpx.AsyncClient = self._handle.client  # type: ignore[assignment]  # (replaced in a forked child)
        gate = self._gate()
        while True:
            auth = self._ready_credentials(call)
            if auth is None:
                auth = await self._refresh_first(call)
            if not await gate.enter(call.deadline.remaining()):
                # Out of time while waiting for a turn: the same outcome as httpx's own
                # pool timeout, so it is reported (and never retried) the same way.
                raise self._after_exception(call, httpx.PoolTimeout("no free slot in time"), auth).error
            try:
                outcome = await self._attempt(client, call, auth)
            finally:
                # Held for the request and its body (for a stream: until its head arrived).
                gate.leave()
            if isinstance(outcome, httpx.Response):
                return outcome
            step = outcome
            if step.action == "raise":
                raise step.error
            if step.action == "refresh":
                await self.tokens.arefresh(self._send_refresh(call), auth.generation)
                call.auth_replayed = True
                continue
            await self._sleep(step.delay)
            call.retries_taken += 1

    async def _attempt(
        self, client: httpx.AsyncClient, call: Call, auth: AuthSnapshot
    ) -> Union[httpx.Response, Step]:
        # One attempt, inside the gate: the 2xx response (read unless call.stream), or what
        # to do next. The request is built here, so its timeouts start from what is left
        # of the deadline once the turn came.
        request = self._build_request(call, auth)
        if call.debug:
            call.attempt_started = self._clock()  # for the log lines' durations
            self._log_request(call, request)
        bounded = _deadline_io.current_deadline.set(call.deadline)  # as in SyncTransport._run
        try:
            return await self._exchange(client, call, request, auth)
        finally:
            _deadline_io.current_deadline.reset(bounded)

    async def _exchange(
        self, client: httpx.AsyncClient, call: Call, request: httpx.Request, auth: AuthSnapshot
    ) -> Union[httpx.Response, Step]:
        try:
            response = await client.send(request, stream=True)
        except httpx.TransportError as exc:
            return self._after_exception(call, exc, auth)
        success = response.status_code in SUCCESS
        try:
            if not ((success and call.stream) or response.is_stream_consumed):
                response.stream = AsyncDeadlineStream(
                    response.stream,  # type: ignore[arg-type]
                    call.deadline,
                    response.headers,
                )
                await response.aread()
        except SEND_ERRORS as exc:
            await response.aclose()
            return self._after_exception(call, exc, auth)
        except BaseException:
            await response.aclose()
            raise
        if success:
            if call.stream and call.debug:
                self._log_response(call, response, response.headers.get("x-request-id"))
            return response
        await response.aclose()
        return self._after_response(call, response, auth)
