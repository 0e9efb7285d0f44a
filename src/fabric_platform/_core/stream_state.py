"""An event stream's rules, for both clients: resume position, reconnect budget, timing.

What the reading loops (``_async/streams.py`` and its generated sync twin) decide between
reads: the headers of the next connection (``Last-Event-ID``), when the stream is complete
(its operation's terminal events, from the spec), how long to wait before reconnecting,
and when the deadline has passed. No I/O here.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Dict, FrozenSet, Optional

import httpx

from fabric_platform._core.retry import RetryPolicy
from fabric_platform._core.sse import SSEDecoder
from fabric_platform._core.sse_event import ServerSentEvent
from fabric_platform.errors import FabricConnectionError, FabricError, FabricResponseError, FabricTimeoutError

if TYPE_CHECKING:
    from fabric_platform._core.request import PreparedRequest

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_RECONNECTS",
    "MAX_LINE_BYTES",
    "RECOVERABLE",
    "StreamState",
    "check_event_stream",
    "line_too_long",
]

DEFAULT_IDLE_TIMEOUT = 45.0  # the server sends a keep-alive every 15 s
DEFAULT_MAX_RECONNECTS = 8  # in a row, without an event in between
_DEFAULT_RETRY_MS = 1000
_MAX_RETRY_DELAY = 30.0
# No event line is anywhere near this long; beyond it the decoder would only buffer garbage
# until the idle timeout (gigabytes at loopback speed).
MAX_LINE_BYTES = 16 * 1024 * 1024


class StreamState:
    """What both loops share: resume position, reconnect budget, timing decisions."""

    def __init__(
        self,
        prepared: PreparedRequest,
        *,
        terminal_kinds: FrozenSet[str],
        deadline: Optional[float],
        idle_timeout: float,
        max_reconnects: int,
        open_retries: Optional[int] = None,
    ) -> None:
        self.prepared = prepared
        self.terminal_kinds = terminal_kinds
        self.deadline = deadline
        self.idle_timeout = idle_timeout
        self.max_reconnects = max_reconnects
        self.open_retries = open_retries  # retries of one attempt to connect (None: the client's)
        self.last_event_id: Optional[str] = None
        self.retry_ms = _DEFAULT_RETRY_MS
        self.failures = 0
        self.reconnects = 0  # total, for diagnostics and tests
        self.done = False

    def headers(self) -> Dict[str, str]:
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
        # The server's retry hint, doubling to 8 times it (at most 30 s), full jitter down
        # to half: reconnecting clients spread out instead of arriving together.
        policy = RetryPolicy(
            initial=self.retry_ms / 1000.0,
            maximum=_MAX_RETRY_DELAY,
            max_doublings=3,
            jitter=0.25,
            jitter_center=0.75,
        )
        delay = policy.backoff(self.failures - 1)
        left = self.remaining()
        if left is not None:
            if left <= 0:
                raise FabricTimeoutError("the event stream reached its deadline") from error
            delay = min(delay, left)
        return delay


RECOVERABLE = (FabricConnectionError, httpx.TransportError)


def check_event_stream(resp: httpx.Response) -> None:
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


def line_too_long() -> FabricResponseError:
    return FabricResponseError(
        f"the event stream sent more than {MAX_LINE_BYTES} bytes without a line break; not an event stream"
    )
