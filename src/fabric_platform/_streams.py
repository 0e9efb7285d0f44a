"""Event streams that survive the network.

An :class:`EventStream` reads Server-Sent Events and, when the connection drops or the
server closes before the stream's terminal event, reconnects by itself with
``Last-Event-ID`` (the server resumes right after that id: nothing lost, nothing repeated),
waiting per the ``retry:`` hint with jitter, for a bounded number of attempts in a row.

A dead connection is detected two ways: the read timeout (no bytes at all for
``idle_timeout``) and a wall clock between complete lines, which catches a peer that
trickles bytes without ever finishing a line (keep-alive comments count as lines). A peer
that is not speaking SSE at all — a 2xx with another content type, or a "line" that never
ends while bytes pour in — gets a :class:`FabricResponseError` instead of reconnects.
"""

from __future__ import annotations

import random
import time
from typing import (
    TYPE_CHECKING,
    AsyncGenerator,
    AsyncIterator,
    FrozenSet,
    Generator,
    Iterator,
    Optional,
    cast,
)

import httpx

from ._sse import ServerSentEvent, SSEDecoder
from .errors import FabricConnectionError, FabricError, FabricResponseError, FabricTimeoutError

if TYPE_CHECKING:
    from fabric_platform_api.types import StreamedEvent

    from ._request import PreparedRequest
    from ._transport import AsyncTransport, SyncTransport

__all__ = ["AsyncEventStream", "EventStream", "terminal_kinds_for"]

RUN_TERMINAL = frozenset({"workflow.run.completed", "workflow.run.failed", "workflow.run.cancelled"})
JOB_TERMINAL = frozenset({"job.completed", "job.failed", "job.cancelled"})
DEFAULT_IDLE_TIMEOUT = 45.0  # the server sends a keep-alive every 15 s
DEFAULT_MAX_RECONNECTS = 8  # in a row, without an event in between
_DEFAULT_RETRY_MS = 1000
_MAX_RETRY_DELAY = 30.0
# No event line is anywhere near this long; beyond it the decoder would only buffer garbage
# until the idle timeout (gigabytes at loopback speed).
MAX_LINE_BYTES = 16 * 1024 * 1024


def terminal_kinds_for(ns: str) -> FrozenSet[str]:
    """The event kinds after which a stream is complete (none for the global stream)."""
    if ns.endswith("stream_run"):
        return RUN_TERMINAL
    if ns.endswith("stream_job"):
        return JOB_TERMINAL
    return frozenset()


class _StreamState:
    """What both loops share: resume position, reconnect budget, timing decisions."""

    def __init__(
        self,
        prepared: PreparedRequest,
        *,
        terminal_kinds: FrozenSet[str],
        deadline: Optional[float],
        idle_timeout: float,
        max_reconnects: int,
    ) -> None:
        self.prepared = prepared
        self.terminal_kinds = terminal_kinds
        self.deadline = deadline
        self.idle_timeout = idle_timeout
        self.max_reconnects = max_reconnects
        self.last_event_id: Optional[str] = None
        self.retry_ms = _DEFAULT_RETRY_MS
        self.failures = 0
        self.reconnects = 0  # total, for diagnostics and tests
        self.done = False

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        return headers

    def remaining(self) -> Optional[float]:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def read_timeout(self) -> float:
        left = self.remaining()
        return self.idle_timeout if left is None else max(0.001, min(self.idle_timeout, left))

    def check_deadline(self) -> None:
        left = self.remaining()
        if left is not None and left <= 0:
            raise FabricTimeoutError("the event stream reached its deadline")

    def seen(self, event: ServerSentEvent, decoder: SSEDecoder) -> bool:
        """Record an event; True when it ends the stream."""
        self.failures = 0
        # The event's own id, not the decoder's: the decoder may already have read further
        # events of the same chunk, and resuming after one the caller has not seen loses it.
        if event.id:
            self.last_event_id = event.id
        if event.retry is not None:
            self.retry_ms = event.retry
        elif decoder.retry is not None:
            self.retry_ms = decoder.retry
        if event.get("kind") in self.terminal_kinds:
            self.done = True
        return self.done

    def next_delay(self, error: Optional[BaseException]) -> float:
        """Count a failure and return how long to wait before reconnecting."""
        self.failures += 1
        self.reconnects += 1
        if self.failures > self.max_reconnects:
            if isinstance(error, FabricError):
                raise error
            raise FabricConnectionError(
                f"event stream lost after {self.max_reconnects} reconnect attempts"
            ) from error
        base = self.retry_ms / 1000.0 * min(1 << min(self.failures - 1, 3), 8)
        delay = min(base, _MAX_RETRY_DELAY) * random.uniform(0.5, 1.0)
        left = self.remaining()
        if left is not None:
            if left <= 0:
                raise FabricTimeoutError("the event stream reached its deadline") from error
            delay = min(delay, left)
        return delay


_RECOVERABLE = (FabricConnectionError, httpx.TransportError)


def _check_event_stream(resp: httpx.Response) -> None:
    """Refuse a 2xx that is not an event stream (a proxy page, a JSON envelope...).

    Reconnecting would only fetch the same answer again, slowly, and end in a misleading
    "stream lost"; no Content-Type at all is tolerated.
    """
    ctype = resp.headers.get("content-type")
    if ctype is not None and ctype.split(";", 1)[0].strip().lower() != "text/event-stream":
        raise FabricResponseError(
            f"{resp.request.method} {resp.request.url.path} -> {resp.status_code}: expected "
            f"text/event-stream, got {ctype.split(';', 1)[0].strip() or 'an empty content type'}",
            response=resp,
        )


def _line_too_long() -> FabricResponseError:
    return FabricResponseError(
        f"the event stream sent more than {MAX_LINE_BYTES} bytes without a line break; not an event stream"
    )


class EventStream(Iterator["StreamedEvent"]):
    """A reconnecting iterator of events; close it (or use ``with``) to free the connection.

    Each item is a :class:`ServerSentEvent`; type checkers see it as ``StreamedEvent``, the
    same class with the spec's Event fields on its mapping view (``event["kind"]``).
    """

    def __init__(
        self,
        transport: SyncTransport,
        prepared: PreparedRequest,
        *,
        terminal_kinds: Optional[FrozenSet[str]] = None,
        deadline: Optional[float] = None,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_reconnects: int = DEFAULT_MAX_RECONNECTS,
    ) -> None:
        kinds = terminal_kinds_for(prepared.operation.ns) if terminal_kinds is None else terminal_kinds
        self._state = _StreamState(
            prepared,
            terminal_kinds=kinds,
            deadline=deadline,
            idle_timeout=idle_timeout,
            max_reconnects=max_reconnects,
        )
        self._transport = transport
        # The decoder's events are the streamed events (StreamedEvent is ServerSentEvent at
        # runtime); one cast per stream, none per event.
        # The generator gets the transport and the state, not the stream: were it to hold
        # `self`, stream and generator would form a cycle, and a loop left with `break` would
        # leave the connection open until the cyclic GC runs, at any point of later code
        # (inside httpcore's pool lock, say, where closing it deadlocks).
        self._gen = cast("Generator[StreamedEvent, None, None]", self._events(transport, self._state))

    @property
    def reconnects(self) -> int:
        """How many times the stream reconnected so far."""
        return self._state.reconnects

    @property
    def last_event_id(self) -> Optional[str]:
        return self._state.last_event_id

    def __iter__(self) -> Iterator[StreamedEvent]:
        # A `for` loop drives the generator itself: one Python frame less per event than
        # going through __next__ (the stream stays an iterator for explicit next() calls).
        return self._gen

    def __next__(self) -> StreamedEvent:
        return next(self._gen)

    def close(self) -> None:
        """Stop reading and return the connection to the pool."""
        self._gen.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _events(transport: SyncTransport, st: _StreamState) -> Generator[ServerSentEvent, None, None]:
        while not st.done:
            st.check_deadline()
            error: Optional[BaseException] = None
            try:
                with transport.open_stream(
                    st.prepared, headers=st.headers(), timeout=st.read_timeout()
                ) as resp:
                    _check_event_stream(resp)
                    decoder = SSEDecoder()
                    last_line = time.monotonic()
                    unterminated = 0
                    for chunk in resp.iter_bytes():
                        now = time.monotonic()
                        if b"\n" in chunk or b"\r" in chunk:
                            last_line = now
                            unterminated = 0
                        else:
                            if now - last_line > st.idle_timeout:
                                raise FabricTimeoutError("no complete line within the idle timeout")
                            unterminated += len(chunk)
                            if unterminated > MAX_LINE_BYTES:
                                raise _line_too_long()
                        for event in decoder.feed(chunk):
                            yield event
                            if st.seen(event, decoder):
                                return
                        st.check_deadline()
            except httpx.TimeoutException as exc:
                st.check_deadline()
                error = FabricTimeoutError(f"event stream idle for {st.idle_timeout:g} s")
                error.__cause__ = exc
            except _RECOVERABLE as exc:
                error = exc
            time.sleep(st.next_delay(error))


class AsyncEventStream(AsyncIterator["StreamedEvent"]):
    """The asyncio twin of :class:`EventStream` (``async for``; ``aclose()``)."""

    def __init__(
        self,
        transport: AsyncTransport,
        prepared: PreparedRequest,
        *,
        terminal_kinds: Optional[FrozenSet[str]] = None,
        deadline: Optional[float] = None,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_reconnects: int = DEFAULT_MAX_RECONNECTS,
    ) -> None:
        kinds = terminal_kinds_for(prepared.operation.ns) if terminal_kinds is None else terminal_kinds
        self._state = _StreamState(
            prepared,
            terminal_kinds=kinds,
            deadline=deadline,
            idle_timeout=idle_timeout,
            max_reconnects=max_reconnects,
        )
        self._transport = transport
        # No `self` in the generator (see EventStream): no cycle, prompt finalization.
        self._gen = cast("AsyncGenerator[StreamedEvent, None]", self._events(transport, self._state))

    @property
    def reconnects(self) -> int:
        return self._state.reconnects

    @property
    def last_event_id(self) -> Optional[str]:
        return self._state.last_event_id

    def __aiter__(self) -> AsyncIterator[StreamedEvent]:
        # `async for` drives the async generator itself (no extra coroutine per event).
        return self._gen

    async def __anext__(self) -> StreamedEvent:
        return await self._gen.__anext__()

    async def aclose(self) -> None:
        """Stop reading and return the connection to the pool."""
        await self._gen.aclose()

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @staticmethod
    async def _events(transport: AsyncTransport, st: _StreamState) -> AsyncGenerator[ServerSentEvent, None]:
        import asyncio

        while not st.done:
            st.check_deadline()
            error: Optional[BaseException] = None
            try:
                async with transport.open_stream(
                    st.prepared, headers=st.headers(), timeout=st.read_timeout()
                ) as resp:
                    _check_event_stream(resp)
                    decoder = SSEDecoder()
                    last_line = time.monotonic()
                    unterminated = 0
                    async for chunk in resp.aiter_bytes():
                        now = time.monotonic()
                        if b"\n" in chunk or b"\r" in chunk:
                            last_line = now
                            unterminated = 0
                        else:
                            if now - last_line > st.idle_timeout:
                                raise FabricTimeoutError("no complete line within the idle timeout")
                            unterminated += len(chunk)
                            if unterminated > MAX_LINE_BYTES:
                                raise _line_too_long()
                        for event in decoder.feed(chunk):
                            yield event
                            if st.seen(event, decoder):
                                return
                        st.check_deadline()
            except httpx.TimeoutException as exc:
                st.check_deadline()
                error = FabricTimeoutError(f"event stream idle for {st.idle_timeout:g} s")
                error.__cause__ = exc
            except _RECOVERABLE as exc:
                error = exc
            await asyncio.sleep(st.next_delay(error))
