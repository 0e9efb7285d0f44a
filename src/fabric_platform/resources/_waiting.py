"""wait_for_run: watch the run's event stream, fall back to polling only when needed.

Order matters for correctness: read the run first (a run that is already terminal returns
at once), then subscribe. The server replays a run's stream from its first event when no
``Last-Event-ID`` is sent, so a run that ends between the read and the subscription still
delivers its terminal event — no race. Whatever the stream does, the run is re-read at the
end, so the caller always gets the server's terminal state.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

from fabric_platform_api import _ops as ops

from .._streams import RUN_TERMINAL, AsyncEventStream, EventStream
from ..errors import FabricAPIError, FabricConnectionError, FabricResponseError, FabricTimeoutError
from ._run_rules import is_terminal

if TYPE_CHECKING:
    from .._async_client import AsyncFabricClient
    from .._client import FabricClient

__all__ = ["async_wait_for_terminal", "wait_for_terminal"]

ProgressCallback = Callable[[Mapping[str, Any]], None]
_POLL_BACKOFF = 1.5
_POLL_MAX = 10.0
# Statuses after which polling is the better way to learn the outcome: "this server cannot
# stream to us" (404/405/406/501) or "not right now" (429, 5xx: the stream is opened
# without retries, see below, and each poll retries by itself). Anything else is a real
# error (401, 403, ...).
_NO_STREAMING = {404, 405, 406, 429, 500, 501, 502, 503, 504}
# The stream is opened without transport retries: a 503 ("streaming disabled, poll
# instead", with Retry-After) would otherwise cost seconds of retries before the fallback,
# and polling answers the same question. Dropped connections still reconnect (the stream's
# own loop, with Last-Event-ID).
_STREAM_RETRIES = 0


def _streaming_unavailable(error: BaseException) -> bool:
    if isinstance(error, FabricAPIError):
        return error.status_code in _NO_STREAMING
    if isinstance(error, FabricResponseError):
        return True  # a 2xx that is not an event stream (a proxy in between): poll instead
    return isinstance(error, FabricConnectionError) and not isinstance(error, FabricTimeoutError)


def _timeout(run_id: str, timeout: float) -> FabricTimeoutError:
    return FabricTimeoutError(f"run {run_id} did not finish within {timeout:g} s")


def _progress(event: Mapping[str, Any], on_progress: Optional[ProgressCallback]) -> None:
    if on_progress is not None and event.get("kind") == "workflow.run.progress":
        from .._progress import RunProgress  # the shared progress shape (done, total, fraction, label)

        on_progress(RunProgress(event))


def wait_for_terminal(
    client: FabricClient,
    run_id: str,
    *,
    poll_interval: float,
    timeout: float,
    on_progress: Optional[ProgressCallback],
) -> Any:
    deadline = time.monotonic() + timeout
    get_args = {"run_id": run_id}
    run = client._call(ops.GET_RUN, get_args)
    if is_terminal(run):
        return run
    stream = EventStream(
        client._transport.copy(max_retries=_STREAM_RETRIES),
        client._prepare(ops.STREAM_RUN_EVENTS, {"run_id": run_id}),
        terminal_kinds=RUN_TERMINAL,
        deadline=deadline,
    )
    try:
        for event in stream:
            _progress(event, on_progress)
    except FabricTimeoutError:
        raise _timeout(run_id, timeout) from None
    except (FabricAPIError, FabricConnectionError, FabricResponseError) as exc:
        if not _streaming_unavailable(exc):
            raise
    finally:
        stream.close()
    delay = poll_interval
    while True:
        run = client._call(ops.GET_RUN, get_args)
        if is_terminal(run):
            return run
        left = deadline - time.monotonic()
        if left <= 0:
            raise _timeout(run_id, timeout)
        time.sleep(min(delay, left))
        delay = min(delay * _POLL_BACKOFF, max(poll_interval, _POLL_MAX))


async def async_wait_for_terminal(
    client: AsyncFabricClient,
    run_id: str,
    *,
    poll_interval: float,
    timeout: float,
    on_progress: Optional[ProgressCallback],
) -> Any:
    deadline = time.monotonic() + timeout
    get_args = {"run_id": run_id}
    run = await client._call(ops.GET_RUN, get_args)
    if is_terminal(run):
        return run
    stream = AsyncEventStream(
        client._transport.copy(max_retries=_STREAM_RETRIES),
        client._prepare(ops.STREAM_RUN_EVENTS, {"run_id": run_id}),
        terminal_kinds=RUN_TERMINAL,
        deadline=deadline,
    )
    try:
        async for event in stream:
            _progress(event, on_progress)
    except FabricTimeoutError:
        raise _timeout(run_id, timeout) from None
    except (FabricAPIError, FabricConnectionError, FabricResponseError) as exc:
        if not _streaming_unavailable(exc):
            raise
    finally:
        await stream.aclose()
    delay = poll_interval
    while True:
        run = await client._call(ops.GET_RUN, get_args)
        if is_terminal(run):
            return run
        left = deadline - time.monotonic()
        if left <= 0:
            raise _timeout(run_id, timeout)
        await asyncio.sleep(min(delay, left))
        delay = min(delay * _POLL_BACKOFF, max(poll_interval, _POLL_MAX))
