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

from fabric_platform._core.retry import RetryPolicy
from fabric_platform._core.run_rules import is_terminal
from fabric_platform.errors import (
    FabricAPIError,
    FabricConnectionError,
    FabricResponseError,
    FabricTimeoutError,
)

if TYPE_CHECKING:
    from fabric_platform._async.base import AsyncBaseClient

__all__ = ["async_wait_for_terminal"]

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
        from fabric_platform._progress import (
            RunProgress,  # the shared progress shape (done, total, fraction, label)
        )

        on_progress(RunProgress(event))


async def async_wait_for_terminal(
    client: AsyncBaseClient,
    run_id: str,
    *,
    poll_interval: float,
    timeout: float,
    on_progress: Optional[ProgressCallback],
) -> Any:
    """Wait until the run is terminal and return it (see the module docstring).

    Args:
        client: The client whose primitives read the run and open its event stream.
        run_id: The run.
        poll_interval: The first wait between polls, when polling is needed.
        timeout: Seconds to wait at most, the whole wait included.
        on_progress: Called with each ``workflow.run.progress`` event's RunProgress.

    Returns:
        The terminal run.

    Raises:
        FabricTimeoutError: The run was not terminal within ``timeout``.
        FabricAPIError: The server refused to show the run or its events.
    """
    deadline = time.monotonic() + timeout
    get_args = {"run_id": run_id}
    run = await client._call(ops.GET_RUN, get_args)
    if is_terminal(run):
        return run
    # Through the clients' stream primitive: the operation's terminal events (from the
    # spec) end it, the deadline is the wait's, and opening it is not retried (see above).
    stream = client._stream(
        ops.STREAM_RUN_EVENTS, {"run_id": run_id}, deadline=deadline, max_retries=_STREAM_RETRIES
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
    # Polls start at poll_interval and grow by half each time, up to 10 s (or poll_interval).
    polls = RetryPolicy(
        initial=poll_interval,
        maximum=max(poll_interval, _POLL_MAX),
        multiplier=_POLL_BACKOFF,
        max_doublings=64,
        jitter=0.0,
    )
    polled = 0
    while True:
        run = await client._call(ops.GET_RUN, get_args)
        if is_terminal(run):
            return run
        left = deadline - time.monotonic()
        if left <= 0:
            raise _timeout(run_id, timeout)
        await asyncio.sleep(min(polls.backoff(polled), left))
        polled += 1
