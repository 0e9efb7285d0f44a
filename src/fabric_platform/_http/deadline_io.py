"""Bound every socket read and write of an attempt by the call's deadline.

httpx's timeouts apply to each socket operation on its own. A server (or a broken proxy)
that sends its status line and headers one byte per second never trips a read timeout, so
without this a call with ``timeout=2`` could wait for hours before the response head is
complete; the transport's deadline streams only guard the body, which comes later.

The transport sets :data:`current_deadline` around each attempt (connect, send, response
head, and for non-streamed calls the body), and the connection pools of the httpx clients
the SDK creates get a network backend whose streams clamp every read/write timeout to what
is left of that deadline. Outside an attempt (an open SSE stream being iterated) nothing is
clamped: the stream's own idle timeout applies.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Optional, Union

from fabric_platform._core.retry import Deadline

if TYPE_CHECKING:
    import httpx

__all__ = ["clamp", "current_deadline", "install"]

#: The deadline of the attempt running in this thread / task, if any.
current_deadline: contextvars.ContextVar[Optional[Deadline]] = contextvars.ContextVar(
    "fabric_platform_call_deadline", default=None
)

# httpx/httpcore treat 0 as "do not wait at all" (a non-blocking socket): never pass it.
_MIN_WAIT = 0.001


def clamp(timeout: Optional[float]) -> Optional[float]:
    # min(timeout, max(_MIN_WAIT, deadline.remaining())), written out: it runs on every
    # socket read and write of an SDK-created client (the "per-call client CPU" rows of BENCHMARKS.md).
    deadline = current_deadline.get()
    if deadline is None:
        return timeout
    left = deadline.expires_at - deadline.clock()
    if left < _MIN_WAIT:
        left = _MIN_WAIT
    return left if timeout is None or timeout > left else timeout


def install(client: Union[httpx.Client, httpx.AsyncClient]) -> bool:
    """Make every socket read/write of an SDK-created httpx client end by the call's deadline.

    Wraps the network backend of each httpcore connection pool of ``client`` (see
    :mod:`fabric_platform._http.deadline_backends`); the async client's own transport
    (:mod:`fabric_platform._http.aio_http`) clamps its reads and writes itself.

    Args:
        client: A client the SDK owns (never a caller-supplied one).

    Returns:
        True when at least one pool was wrapped.
    """
    from fabric_platform._http.deadline_backends import wrap_pools

    return wrap_pools(client)
