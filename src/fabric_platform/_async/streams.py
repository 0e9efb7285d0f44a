"""Event streams that survive the network.

An :class:`AsyncEventStream` reads Server-Sent Events and, when the connection drops or the
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

import asyncio
import time
from typing import TYPE_CHECKING, AsyncGenerator, AsyncIterator, FrozenSet, Optional, cast

import httpx

from fabric_platform._core.sse import SSEDecoder
from fabric_platform._core.sse_event import ServerSentEvent
from fabric_platform._core.stream_state import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_RECONNECTS,
    MAX_LINE_BYTES,
    RECOVERABLE,
    StreamState,
    check_event_stream,
    line_too_long,
)
from fabric_platform.errors import FabricTimeoutError

if TYPE_CHECKING:
    from fabric_platform_api.types import StreamedEvent

    from fabric_platform._async.transport import AsyncTransport
    from fabric_platform._core.request import PreparedRequest

__all__ = ["AsyncEventStream"]


class AsyncEventStream(AsyncIterator["StreamedEvent"]):
    """A reconnecting iterator of events; close it (or use it as a context manager) to free the connection.

    Each item is a :class:`ServerSentEvent`; type checkers see it as ``StreamedEvent``, the
    same class with the spec's Event fields on its mapping view (``event["kind"]``).
    """

    def __init__(
        self,
        transport: AsyncTransport,
        prepared: PreparedRequest,
        *,
        terminal_kinds: Optional[FrozenSet[str]] = None,
        deadline: Optional[float] = None,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_reconnects: int = DEFAULT_MAX_RECONNECTS,
        max_retries: Optional[int] = None,
    ) -> None:
        """Args:
        transport: Opens each connection (with its credentials, retries and deadline).
        prepared: The stream operation's request.
        terminal_kinds: Event kinds that complete the stream (default: the operation's
            terminal events, from the spec; none for the organization's stream).
        deadline: A ``time.monotonic()`` instant the whole stream must end by.
        idle_timeout: Seconds without a complete line before the connection counts as dead.
        max_reconnects: Reconnects in a row, without an event in between, before giving up.
        max_retries: Retries of a failed attempt to open a connection (default: the client's).
        """
        kinds = prepared.operation.terminal_events if terminal_kinds is None else terminal_kinds
        self._state = StreamState(
            prepared,
            terminal_kinds=kinds,
            deadline=deadline,
            idle_timeout=idle_timeout,
            max_reconnects=max_reconnects,
            open_retries=max_retries,
        )
        self._transport = transport
        # The decoder's events are the streamed events (StreamedEvent is ServerSentEvent at
        # runtime); one cast per stream, none per event.
        # The generator gets the transport and the state, not the stream: were it to hold
        # `self`, stream and generator would form a cycle, and a loop left with `break` would
        # leave the connection open until the cyclic GC runs, at any point of later code
        # (inside httpcore's pool lock, say, where closing it deadlocks).
        self._gen = cast(AsyncGenerator["StreamedEvent", None], self._events(transport, self._state))

    @property
    def reconnects(self) -> int:
        """How many times the stream reconnected so far."""
        return self._state.reconnects

    @property
    def last_event_id(self) -> Optional[str]:
        """The id of the last event read (where a reconnect resumes)."""
        return self._state.last_event_id

    def __aiter__(self) -> AsyncIterator[StreamedEvent]:
        # The loop drives the generator itself, not through __anext__ (the stream stays an
        # iterator for explicit calls).
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
    async def _events(transport: AsyncTransport, st: StreamState) -> AsyncGenerator[ServerSentEvent, None]:
        while not st.done:
            st.check_deadline()
            error: Optional[BaseException] = None
            try:
                async with transport.open_stream(
                    st.prepared, headers=st.headers(), timeout=st.read_timeout(), max_retries=st.open_retries
                ) as resp:
                    check_event_stream(resp)
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
                                raise line_too_long()
                        for event in decoder.feed(chunk):
                            yield event
                            if st.seen(event, decoder):
                                return
                        st.check_deadline()
            except httpx.TimeoutException as exc:
                st.check_deadline()
                error = FabricTimeoutError(f"event stream idle for {st.idle_timeout:g} s")
                error.__cause__ = exc
            except RECOVERABLE as exc:
                error = exc
            await asyncio.sleep(st.next_delay(error))
