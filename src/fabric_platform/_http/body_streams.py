"""Response body streams that stop at the call's deadline.

httpx's read timeout is per chunk; a server trickling bytes could otherwise hold a call far
past its deadline. The transports wrap every body they read (all but open SSE/download
streams, whose reads may legitimately be far apart, and bodies already in memory, as an
``httpx.MockTransport`` gives them) in one of these.
"""

from __future__ import annotations

from typing import AsyncIterator, Iterator

import httpx

from fabric_platform._core.retry import Deadline, DeadlineExceeded

__all__ = ["SEND_ERRORS", "SUCCESS", "AsyncDeadlineStream", "DeadlineExceeded", "SyncDeadlineStream"]


#: What one attempt can fail with before its response is complete (mapped to a Step).
SEND_ERRORS = (httpx.TransportError, DeadlineExceeded)
#: The statuses of a success.
SUCCESS = frozenset(range(200, 300))


class SyncDeadlineStream(httpx.SyncByteStream):
    """Wraps a response stream so reading it stops at the call's deadline."""

    def __init__(self, inner: httpx.SyncByteStream, deadline: Deadline, headers: httpx.Headers) -> None:
        self._inner = inner
        self._deadline = deadline
        self._headers = headers  # Content-Length is only looked up once the deadline passed

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        deadline = self._deadline
        for chunk in self._inner:
            received += len(chunk)
            # deadline.expired, written out: it runs for every chunk (the per-call rows)
            if deadline.clock() >= deadline.expires_at and not _complete(self._headers, received):
                raise DeadlineExceeded()
            yield chunk

    def close(self) -> None:
        self._inner.close()


class AsyncDeadlineStream(httpx.AsyncByteStream):
    """Async twin of :class:`SyncDeadlineStream`."""

    def __init__(self, inner: httpx.AsyncByteStream, deadline: Deadline, headers: httpx.Headers) -> None:
        self._inner = inner
        self._deadline = deadline
        self._headers = headers

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        deadline = self._deadline
        async for chunk in self._inner:
            received += len(chunk)
            if deadline.clock() >= deadline.expires_at and not _complete(self._headers, received):
                raise DeadlineExceeded()
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def _complete(headers: httpx.Headers, received: int) -> bool:
    # Past the deadline, a body that has fully arrived is still accepted.
    value = headers.get("content-length")
    try:
        return value is not None and received >= int(value)
    except ValueError:
        return False
