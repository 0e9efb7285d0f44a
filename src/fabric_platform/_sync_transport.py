"""The pipeline's I/O loop for :class:`~fabric_platform.FabricClient` (threads, no asyncio)."""

from __future__ import annotations

import contextlib
import random
import time
from typing import Any, Callable, Dict, Iterator, Mapping, Optional

import httpx

from fabric_platform import _deadline_io
from fabric_platform._auth import AuthSnapshot, TokenStore
from fabric_platform._body_streams import SEND_ERRORS, SUCCESS, SyncDeadlineStream
from fabric_platform._call import ApiResponse, Call
from fabric_platform._client_handle import DEFAULT_LIMITS, ClientHandle
from fabric_platform._config import ClientConfig
from fabric_platform._logging import logger
from fabric_platform._pipeline import BaseTransport
from fabric_platform._request import PreparedRequest
from fabric_platform.errors import FabricAuthError, FabricError

__all__ = ["SyncTransport"]


class SyncTransport(BaseTransport):
    """The pipeline for :class:`FabricClient`. Safe to share between threads."""

    def __init__(
        self,
        config: ClientConfig,
        tokens: Optional[TokenStore] = None,
        http_client: Optional[httpx.Client] = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        _handle: Optional[ClientHandle] = None,
    ) -> None:
        """Create a transport.

        Args:
            config: The client configuration.
            tokens: The credential store (one is made from ``config`` when omitted).
            http_client: An httpx client to use ("bring your own": it is not closed by us).
                Without one, the transport creates and owns a pooled client.
            clock: Monotonic clock for deadlines (tests inject a fake).
            wall_clock: Wall clock for HTTP-date ``Retry-After``.
            sleep: Sleeps between retries (tests inject a recorder).
            rand: Jitter source.
        """
        super().__init__(
            config,
            tokens,
            http_client,
            handle=_handle,
            max_in_flight=0,
            clock=clock,
            wall_clock=wall_clock,
            sleep=sleep,
            rand=rand,
        )
        client = self._handle.client
        if not isinstance(client, httpx.Client):
            raise TypeError(f"SyncTransport needs an httpx.Client, got {type(client).__name__}")

    @staticmethod
    def _create_http_client(config: ClientConfig) -> httpx.Client:
        # Redirects are not followed: the API never redirects, and re-sending a POST to a
        # Location a proxy made up is not something to do silently.
        client = httpx.Client(timeout=config.timeout, limits=DEFAULT_LIMITS, follow_redirects=False)
        _deadline_io.install(client)  # the deadline also bounds a trickled response head
        return client

    def copy(
        self,
        *,
        config: Optional[ClientConfig] = None,
        tokens: Optional[TokenStore] = None,
        **config_changes: Any,
    ) -> SyncTransport:
        """A light copy with some settings changed, sharing the connection pool.

        Args:
            config: A whole new configuration (e.g. from ``ClientConfig.replace``).
            tokens: A different credential store (default: shared, unless the API key,
                principal id or on_tokens change, which gets a fresh store).
            **config_changes: :class:`ClientConfig` fields to change (``timeout``, ``max_retries``...).

        Returns:
            The copy. Closing it does not close the shared pool.
        """
        return self._copy(config, tokens, config_changes)

    def close(self) -> None:
        """Release the connection pool if this transport created it. Idempotent.

        A ``with_options`` copy only marks itself closed; a user-supplied httpx client is
        never closed by the SDK.
        """
        self._closed = True
        if self._owns_handle:
            self._handle.close()

    def request(
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
            prepared: The request from :func:`~fabric_platform._request.build_request`.
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
        call = self._new_call(
            prepared,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            stream=False,
        )
        return self._finish(call, self._run(call))

    @contextlib.contextmanager
    def open_stream(
        self,
        prepared: PreparedRequest,
        *,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> Iterator[httpx.Response]:
        """Open a streamed 2xx response (SSE, downloads); it is closed when the block exits.

        Connecting, auth refresh and retries of failed attempts happen within ``timeout``;
        once open, each read may wait up to ``timeout``.

        Args:
            prepared: The request.
            headers: Extra headers (``Accept``, ``Last-Event-ID``, ...).
            timeout: Seconds (default: config).

        Yields:
            The open ``httpx.Response``; iterate it with ``iter_bytes``/``iter_lines``.

        Raises:
            FabricAPIError: A non-2xx answer (body read, then mapped).
            FabricConnectionError: Could not connect within the deadline.
        """
        call = self._new_call(
            prepared, idempotency_key=None, timeout=timeout, max_retries=None, headers=headers, stream=True
        )
        response = self._run(call)
        try:
            yield response
        finally:
            response.close()

    def _send_refresh(self, parent: Call) -> Callable[[str, Dict[str, Any], str], Any]:
        def send(path: str, body: Dict[str, Any], key: str) -> Any:
            call = self._refresh_call(parent, path, body, key)
            return self._finish(call, self._run(call)).data

        return send

    def _refresh_first(self, call: Call) -> AuthSnapshot:
        # The access token is about to expire: refresh before sending.
        try:
            self.tokens.refresh(self._send_refresh(call), self.tokens.generation)
        except FabricAuthError:
            raise
        except FabricError as exc:
            # Proactive refresh is an optimisation: the token has not expired yet, so a
            # transient failure here should not fail the call. The server will say
            # token_expired if it has, and the reactive path takes over.
            logger.info("proactive token refresh failed (%s); using the current token", type(exc).__name__)
        return self.tokens.snapshot()

    def _run(self, call: Call) -> httpx.Response:
        # The attempt loop. Returns a 2xx response: read (and released) unless call.stream.
        client: httpx.Client = self._handle.client  # type: ignore[assignment]  # (replaced in a forked child)
        deadline = call.deadline
        while True:
            auth = self._ready_credentials(call)
            if auth is None:
                auth = self._refresh_first(call)
            request = self._build_request(call, auth)
            if call.debug:
                call.attempt_started = self._clock()  # for the log lines' durations
                self._log_request(call, request)
            # Socket reads/writes of the attempt (connect, send, head, and the body unless
            # streamed) end by the deadline; set once per attempt (cheaper than two `with`s).
            bounded = _deadline_io.current_deadline.set(deadline)
            try:
                try:
                    response = client.send(request, stream=True)
                except httpx.TransportError as exc:
                    step = self._after_exception(call, exc, auth)
                else:
                    success = response.status_code in SUCCESS
                    try:
                        if not ((success and call.stream) or response.is_stream_consumed):
                            response.stream = SyncDeadlineStream(
                                response.stream,  # type: ignore[arg-type]
                                deadline,
                                response.headers,
                            )
                            response.read()
                    except SEND_ERRORS as exc:
                        response.close()
                        step = self._after_exception(call, exc, auth)
                    except BaseException:
                        response.close()
                        raise
                    else:
                        if success:
                            if call.stream and call.debug:
                                self._log_response(call, response, response.headers.get("x-request-id"))
                            return response
                        response.close()
                        step = self._after_response(call, response, auth)
            finally:
                _deadline_io.current_deadline.reset(bounded)
            if step.action == "raise":
                raise step.error
            if step.action == "refresh":
                self.tokens.refresh(self._send_refresh(call), auth.generation)
                call.auth_replayed = True
                continue
            self._sleep(step.delay)
            call.retries_taken += 1
