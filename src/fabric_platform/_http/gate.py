"""The async client's bound on requests in flight through its connection pool.

httpcore's async pool does work per queued request and per pooled connection on every
request it starts or finishes, so a burst of 1,000 tasks queued inside it ends in pool
timeouts; below the keep-alive limit, connections are also reused instead of opened and
closed per request. So an AsyncTransport lets at most ``max_in_flight`` requests into the
pool; the rest wait here, in order, their wait counting against their own deadline.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Deque

__all__ = ["Gate"]


class Gate:
    """A first-come-first-served limit on requests in flight, for one event loop.

    A semaphore whose waits end at a deadline. ``asyncio.wait_for(sem.acquire(), t)`` would
    do, but it wraps every waiter in a task of its own: with 1,000 calls queued behind 16
    slots that is 984 extra tasks. Here a waiter is one future and one timer; a freed slot
    is handed straight to the oldest live waiter.
    """

    __slots__ = ("_free", "_loop", "_waiters")

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        self._free = limit
        self._loop = loop
        # Futures of waiting calls, oldest first; a done one (timed out, cancelled) is skipped.
        self._waiters: Deque[asyncio.Future[bool]] = collections.deque()

    @property
    def free(self) -> int:
        """Slots nobody holds (waiters exist only while this is 0)."""
        return self._free

    async def enter(self, timeout: float) -> bool:
        """Take a slot.

        Args:
            timeout: Seconds to wait at most.

        Returns:
            True with a slot held; False when ``timeout`` seconds passed first.
        """
        if self._free > 0:
            self._free -= 1
            return True
        waiter: asyncio.Future[bool] = self._loop.create_future()
        self._waiters.append(waiter)
        timer = self._loop.call_later(max(0.0, timeout), _time_up, waiter)
        try:
            return await waiter
        except BaseException:
            # Cancelled: if a slot was handed over meanwhile, pass it on.
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self.leave()
            raise
        finally:
            timer.cancel()

    def leave(self) -> None:
        """Give a slot back: to the oldest live waiter, else to the pool of free slots."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)
                return
        self._free += 1


def _time_up(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)
