"""The event log and its Server-Sent Events streams.

Every event is stored first (SQLite assigns the increasing id) and then announced. Streams
do not keep per-connection queues: each one remembers the last id it sent and reads the log
after it, so a reconnect with ``Last-Event-ID`` resumes exactly after that event — nothing
lost, nothing repeated — and a slow client cannot make the server buffer without bound.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Dict, FrozenSet, List, Optional, Sequence

from fabric_platform_api import _ops
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from .http import ApiError

if TYPE_CHECKING:
    from .._state import Emulator

# The kinds that end a run's and a job's stream: the spec's x-fabric-terminal-events.
RUN_TERMINAL_KINDS = _ops.STREAM_RUN_EVENTS.terminal_events
JOB_TERMINAL_KINDS = _ops.STREAM_JOB_EVENTS.terminal_events


class StreamDropped(Exception):
    """Raised inside an SSE body to cut the connection mid-stream (fault injection).

    Raising, rather than ending the body, makes the server close the socket without the
    final chunk, which is what a client sees when a proxy or the network resets it.
    """


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _contains_drop(record.exc_info[1] if record.exc_info else None)


def _contains_drop(exc: Optional[BaseException]) -> bool:
    """Whether ``exc`` is (or wraps, e.g. in an exception group) a StreamDropped."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, StreamDropped):
            return True
        for inner in getattr(exc, "exceptions", ()) or ():
            if _contains_drop(inner):
                return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


class EventBus:
    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._changed: Optional[asyncio.Event] = None
        self._listeners: List[Callable[[Dict[str, Any]], None]] = []

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._changed = asyncio.Event()

    def subscribe(self, listener: Callable[[Dict[str, Any]], None]) -> None:
        """``listener(event)`` after every publish, on the loop (webhooks, schedulers)."""
        self._listeners.append(listener)

    def publish(
        self,
        kind: str,
        *,
        organization_id: Optional[str],
        run_id: Optional[str] = None,
        job_id: Optional[str] = None,
        node_key: Optional[str] = None,
        data: Optional[Dict[str, Any]] = None,
        internal: bool = False,
    ) -> Dict[str, Any]:
        """Persist an event and wake the streams; returns the stored event (with its id)."""
        doc: Dict[str, Any] = {"id": "", "kind": kind, "organization_id": organization_id}
        if run_id is not None:
            doc["run_id"] = run_id
        if job_id is not None:
            doc["job_id"] = job_id
        if node_key is not None:
            doc["node_key"] = node_key
        doc["data"] = data or {}
        doc["timestamp"] = self._emulator.clock.now_iso()
        event = self._emulator.store.append_event(
            doc, org_id=organization_id, run_id=run_id, job_id=job_id, internal=internal
        )
        self._announce(event, internal)
        return event

    def _announce(self, event: Dict[str, Any], internal: bool) -> None:
        loop = self._loop
        if loop is None:
            return
        on_loop = True
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._wake(event, internal)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._wake, event, internal)

    def _wake(self, event: Optional[Dict[str, Any]], internal: bool = False) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()
        if event is not None and not internal:
            for listener in list(self._listeners):
                try:
                    listener(event)
                except Exception:  # a broken listener must not break the publisher
                    logging.getLogger(__name__).exception("event listener failed")

    def wake_all(self) -> None:
        """Wake every waiting stream (shutdown)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake, None)

    def changed(self) -> asyncio.Event:
        assert self._changed is not None, "EventBus.bind() was not called"
        return self._changed


def encode_event(event: Dict[str, Any]) -> str:
    payload = json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=str)
    return f"id: {event['id']}\nevent: {event['kind']}\ndata: {payload}\n\n"


def last_event_id(request: Request) -> int:
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if raw is None or raw.strip() == "":
        return 0
    try:
        value = int(raw.strip())
    except ValueError:
        raise ApiError(400, "validation_error", "Last-Event-ID must be an event id (an integer).") from None
    if value < 0:
        raise ApiError(400, "validation_error", "Last-Event-ID must not be negative.")
    return value


def sse_response(
    request: Request,
    emulator: Emulator,
    *,
    org_ids: Callable[[], Optional[Sequence[str]]],
    run_id: Optional[str] = None,
    job_id: Optional[str] = None,
    include_internal: bool = False,
    terminal_kinds: FrozenSet[str] = frozenset(),
    is_finished: Callable[[], bool] = lambda: False,
) -> Response:
    """An SSE response over the event log.

    ``org_ids()`` names the organizations whose events the caller may see (re-read while the
    stream runs, so a membership granted later counts). Run and job streams pass
    ``terminal_kinds`` and ``is_finished``: the stream ends after the terminal event, or at
    once when the resource already finished and nothing after ``Last-Event-ID`` remains.
    """
    if emulator.faults.streaming_disabled:
        raise ApiError(
            503, "unavailable", "Event streaming is disabled; poll instead.", headers={"Retry-After": "1"}
        )
    after = last_event_id(request)
    drop_after = emulator.faults.take_stream_drop()

    async def body() -> AsyncIterator[str]:
        nonlocal after
        config = emulator.config
        sent = 0
        yield f"retry: {int(config.sse_retry_ms)}\n\n"

        def fetch(limit: int = 500) -> List[Dict[str, Any]]:
            return emulator.store.events_after(
                after,
                org_ids=org_ids(),
                run_id=run_id,
                job_id=job_id,
                include_internal=include_internal,
                limit=limit,
            )

        while not emulator.closing:
            changed = emulator.events.changed()
            batch = fetch()
            for event in batch:
                if drop_after is not None and sent >= drop_after:
                    raise StreamDropped()
                yield encode_event(event)
                sent += 1
                after = int(event["id"])
                if event["kind"] in terminal_kinds:
                    return
                if sent % 64 == 0:
                    # Let the loop run now and then. A client that went away is noticed (and
                    # this body cancelled) only at a suspension point, and uvicorn's send()
                    # returns at once on a dead connection: without this, every dropped client
                    # would still get the whole backlog encoded for nobody (quadratic when
                    # clients reconnect often).
                    await asyncio.sleep(0)
            if batch:
                continue
            if terminal_kinds and is_finished():
                # The terminal event may have landed between the read and this check.
                if not fetch(limit=1):
                    return
                continue
            if drop_after is not None and sent >= drop_after:
                raise StreamDropped()
            try:
                await asyncio.wait_for(changed.wait(), timeout=config.sse_keepalive)
            except asyncio.TimeoutError:
                yield ": keep-alive\n\n"

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"},
    )
