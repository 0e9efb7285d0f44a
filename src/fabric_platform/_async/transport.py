"""The send pipeline of :class:`~fabric_platform.AsyncFabricClient`: one logical call, attempt by attempt.

One call = one *logical* request: credentials → Idempotency-Key → attempts with retries,
backoff and a total deadline → envelope parsing → typed errors → token effects → optional
strict validation. The transport runs the attempts; what it decides comes from elsewhere,
each piece a class of its own:

* :class:`~fabric_platform._core.call.CallPlanner` — the call's options, body and key;
* :class:`~fabric_platform._http.requests.RequestBuilder` — each attempt's httpx.Request;
* :class:`~fabric_platform._core.outcome.Outcomes` — after an attempt: retry, refresh,
  raise, or the result of a 2xx;
* :class:`~fabric_platform._http.client_handle.ClientHandle` — the httpx client shared
  with ``with_options`` copies, and the turns of requests in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Dict,
    Mapping,
    Optional,
    Union,
    cast,
)

import httpx

from fabric_platform._auth import NO_CREDENTIALS, AsyncRefreshSender, AuthSnapshot, TokenStore
from fabric_platform._config import DEFAULT_MAX_IN_FLIGHT  # async only
from fabric_platform._core.log import logger
from fabric_platform._http import deadline_io
from fabric_platform._http.body_streams import SEND_ERRORS, SUCCESS, AsyncDeadlineStream
from fabric_platform._http.client_handle import ClientHandle
from fabric_platform._http.clients import create_client_async
from fabric_platform.errors import FabricAuthError, FabricError

if TYPE_CHECKING:
    from fabric_platform._config import ClientConfig
    from fabric_platform._core.api_response import ApiResponse
    from fabric_platform._core.call import Call, CallPlanner, Step
    from fabric_platform._core.outcome import Outcomes
    from fabric_platform._core.request import PreparedRequest
    from fabric_platform._http.requests import RequestBuilder

__all__ = ["AsyncTransport"]


class AsyncTransport:
    """The pipeline for :class:`AsyncFabricClient`. Safe to share between threads and tasks."""

    # Made with the first request (see __getattr__).
    _planner: CallPlanner
    _builder: RequestBuilder
    _outcomes: Outcomes

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
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,  # async only
        _handle: Optional[ClientHandle[httpx.AsyncClient]] = None,
    ) -> None:
        """Create a transport.

        Args:
            config: The client configuration.
            tokens: The credential store (one is made from ``config`` when omitted).
            http_client: An httpx.AsyncClient to use ("bring your own": it is not closed by
                us). Without one, the transport creates and owns a pooled client.
            clock: Monotonic clock for deadlines (tests inject a fake).
            wall_clock: Wall clock for HTTP-date ``Retry-After``.
            sleep: How to wait between retries (tests inject a recorder).
            rand: Jitter source.
            max_in_flight: (async only) Requests let into the connection pool at once
                (shared with copies); more wait, in order, within their own deadline.

        Raises:
            ValueError: (async only) ``max_in_flight`` is below 1.
        """
        if max_in_flight < 1:  # async only
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight!r}")
        self.config = config
        # Only the transport that created the handle closes it; copies share it.
        self._owns_handle = _handle is None
        if _handle is None:
            # A caller's client ("bring your own") is never closed by us; else we make one.
            _handle = ClientHandle(
                create_client_async(config) if http_client is None else http_client,
                owned=http_client is None,
                max_in_flight=max_in_flight,  # async only
                factory=lambda: create_client_async(config),
            )
        if not isinstance(_handle.client, httpx.AsyncClient):
            raise TypeError(f"AsyncTransport needs an httpx.AsyncClient, got {type(_handle.client).__name__}")
        self._handle = _handle
        self.tokens = tokens if tokens is not None else TokenStore.from_config(config)
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._rand = rand
        self._closed = False

    def __getattr__(self, name: str) -> Any:
        # The pipeline's parts, and the modules of their rules, come with the first request
        # rather than with the client (the "client construction" row of BENCHMARKS.md);
        # from then on they are plain attributes and this is not called again.
        if name not in ("_planner", "_builder", "_outcomes"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        from fabric_platform._core.call import CallPlanner
        from fabric_platform._core.outcome import Outcomes
        from fabric_platform._core.retry import RetryPolicy
        from fabric_platform._http.requests import RequestBuilder

        self._planner = CallPlanner(self.config, self._clock)
        self._builder = RequestBuilder(self.config, self._handle)
        self._outcomes = Outcomes(
            self.tokens, clock=self._clock, wall_clock=self._wall_clock, policy=RetryPolicy(rand=self._rand)
        )
        return getattr(self, name)

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The underlying httpx client (shared with copies)."""
        return self._handle.client

    @property
    def is_closed(self) -> bool:
        """True once this transport (or the one owning the pool) was closed."""
        return self._closed or self._handle.closed

    def copy(
        self,
        *,
        config: Optional[ClientConfig] = None,
        tokens: Optional[TokenStore] = None,
        **config_changes: Any,
    ) -> AsyncTransport:
        """A light copy with some settings changed, sharing the connection pool.

        Args:
            config: A whole new configuration (e.g. from ``ClientConfig.replace``).
            tokens: A different credential store (default: shared, unless the API key,
                principal id or on_tokens change, which gets a fresh store).
            **config_changes: :class:`ClientConfig` fields to change (``timeout``, ``max_retries``...).

        Returns:
            The copy. Closing it does not close the shared pool.
        """
        self._check_open()
        base = self.config if config is None else config
        config = base.replace(**config_changes) if config_changes else base
        if tokens is None:
            auth_changed = any(
                getattr(config, k) is not getattr(self.config, k)
                for k in ("api_key", "principal_id", "on_tokens")
            )
            # A different identity must not share (or overwrite) this client's session.
            tokens = (
                TokenStore.from_config(config, refresh_path=self.tokens.refresh_path)
                if auth_changed
                else self.tokens
            )
        return AsyncTransport(
            config,
            tokens,
            clock=self._clock,
            wall_clock=self._wall_clock,
            sleep=self._sleep,
            rand=self._rand,
            _handle=self._handle,
        )

    async def close(self) -> None:
        """Release the connection pool if this transport created it. Idempotent.

        A ``with_options`` copy only marks itself closed; a user-supplied httpx client is
        never closed by the SDK.
        """
        self._closed = True
        if self._owns_handle:
            await self._handle.aclose()

    def _check_open(self) -> None:
        if self.is_closed:
            raise RuntimeError("this Fabric client has been closed; create a new one")

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

        Args:
            prepared: The request from :func:`~fabric_platform._core.request.build_request`.
            idempotency_key: Key for POST/PATCH/PUT (default: a new uuid4, reused by retries).
            timeout: Total seconds for the call, retries included (default: config).
            max_retries: Retries allowed (default: config).
            headers: Extra headers for this call.

        Returns:
            The data and response details.

        Raises:
            FabricAPIError: A non-2xx answer (subclass by status), after retries.
            FabricConnectionError: No answer; FabricTimeoutError when out of time.
            FabricResponseError: A 2xx that is not a JSON envelope.
            FabricResponseValidationError: ``strict`` and the data does not match the spec.
        """
        if self._closed or self._handle.closed:
            self._check_open()
        call = self._planner.start(
            prepared,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
        )
        return self._outcomes.finish(call, await self._run(call))

    @contextlib.asynccontextmanager
    async def open_stream(
        self,
        prepared: PreparedRequest,
        *,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> AsyncIterator[httpx.Response]:
        """Open a streamed 2xx response (SSE, downloads); it is closed when the block exits.

        Connecting, auth refresh and retries of failed attempts happen within ``timeout``;
        once open, each read may wait up to ``timeout``.

        Args:
            prepared: The request.
            headers: Extra headers (``Accept``, ``Last-Event-ID``, ...).
            timeout: Seconds (default: config).
            max_retries: Retries of failed attempts to open it (default: config).

        Yields:
            The open ``httpx.Response``; iterate it with ``aiter_bytes``/``aiter_lines``.

        Raises:
            FabricAPIError: A non-2xx answer (body read, then mapped).
            FabricConnectionError: Could not connect within the deadline.
        """
        self._check_open()
        call = self._planner.start(
            prepared, timeout=timeout, max_retries=max_retries, headers=headers, stream=True
        )
        response = await self._run(call)
        try:
            yield response
        finally:
            await response.aclose()

    # -- the attempts ------------------------------------------------------------------------

    async def _run(self, call: Call) -> httpx.Response:
        # The attempt loop. Returns a 2xx response: read (and released) unless call.stream.
        while True:
            auth = self._ready_credentials(call)
            if auth is None:
                auth = await self._refresh_first(call)
            turn = await self._handle.acquire_async(call.deadline.remaining())
            if turn is None:
                # Out of time while waiting for a turn: the same outcome as httpx's own
                # pool timeout, so it is reported (and never retried) the same way.
                raise self._outcomes.after_exception(
                    call, httpx.PoolTimeout("no free slot in time"), auth
                ).error
            try:
                outcome = await self._attempt(call, auth)
            finally:
                # Held for the request and its body (for a stream: until its head arrived).
                turn.leave()
            if isinstance(outcome, httpx.Response):
                return outcome
            if outcome.action == "raise":
                raise outcome.error
            if outcome.action == "refresh":
                await self.tokens.arefresh(self._send_refresh(call), auth.generation)
                call.auth_replayed = True
                continue
            await self._sleep(outcome.delay)
            call.retries_taken += 1

    async def _attempt(self, call: Call, auth: AuthSnapshot) -> Union[httpx.Response, Step]:
        # One attempt: the 2xx response (read unless call.stream), or what to do next. The
        # request is built here, so its timeouts start from what is left of the deadline.
        client = self._handle.client  # read per attempt: a forked child gets a new one
        request = self._builder.build(call, auth)
        if call.debug:
            call.attempt_started = self._clock()  # for the log lines' durations
            self._outcomes.log_request(call, request)
        # Socket reads/writes of the attempt (connect, send, head, and the body unless
        # streamed) end by the deadline.
        bounded = deadline_io.current_deadline.set(call.deadline)
        try:
            try:
                response = await client.send(request, stream=True)
            except httpx.TransportError as exc:
                return self._outcomes.after_exception(call, exc, auth)
            success = response.status_code in SUCCESS
            try:
                if not ((success and call.stream) or response.is_stream_consumed):
                    response.stream = AsyncDeadlineStream(
                        cast(httpx.AsyncByteStream, response.stream),
                        call.deadline,
                        response.headers,
                    )
                    await response.aread()
            except SEND_ERRORS as exc:
                await response.aclose()
                return self._outcomes.after_exception(call, exc, auth)
            except BaseException:
                await response.aclose()
                raise
        finally:
            deadline_io.current_deadline.reset(bounded)
        if success:
            if call.stream and call.debug:
                self._outcomes.log_response(call, response, response.headers.get("x-request-id"))
            return response
        await response.aclose()
        return self._outcomes.after_response(call, response, auth)

    # -- credentials -------------------------------------------------------------------------

    def _ready_credentials(self, call: Call) -> Optional[AuthSnapshot]:
        # The credentials for the next attempt; None when a proactive refresh comes first.
        # That is tried at most once per call: if it failed transiently, every retry of the
        # call would otherwise start another refresh (each with retries of its own).
        if call.t.public:
            return NO_CREDENTIALS
        tokens = self.tokens
        if call.proactive_tried or not tokens.needs_refresh():
            return tokens.snapshot()
        call.proactive_tried = True
        return None

    async def _refresh_first(self, call: Call) -> AuthSnapshot:
        # The access token is about to expire: refresh before sending.
        try:
            await self.tokens.arefresh(self._send_refresh(call), self.tokens.generation)
        except FabricAuthError:
            raise
        except FabricError as exc:
            # Proactive refresh is an optimisation: the token has not expired yet, so a
            # transient failure here should not fail the call. The server will say
            # token_expired if it has, and the reactive path takes over.
            logger.info("proactive token refresh failed (%s); using the current token", type(exc).__name__)
        return self.tokens.snapshot()

    def _send_refresh(self, parent: Call) -> AsyncRefreshSender:
        async def send(path: str, body: Dict[str, Any], key: str) -> Any:
            call = self._planner.refresh_call(parent, path, body, key)
            return self._outcomes.finish(call, await self._run(call)).data

        return send

    def __repr__(self) -> str:
        return f"{type(self).__name__}(config={self.config!r}, closed={self.is_closed})"
