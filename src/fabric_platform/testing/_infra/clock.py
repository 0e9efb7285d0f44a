"""The emulator's clock: real time plus an offset that tests move forward.

Two notions of time live here on purpose:

* *wall time* (``now()``) decides expiries, schedules and timestamps. ``advance(seconds)``
  jumps it forward, so a test can expire a token or fire a cron schedule without waiting.
* *work time* (``sleep()``) is how long simulated work takes. It is real waiting divided by
  ``speed``, so tests run a "2 second" job in 20 ms at speed 100.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone
from typing import Callable, List


def iso(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and a ``Z``: fixed width, so strings sort like times."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


class Clock:
    def __init__(self, speed: float = 1.0, offset_seconds: float = 0.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = float(speed)
        self._offset = float(offset_seconds)
        self._lock = threading.Lock()
        self._listeners: List[Callable[[float], None]] = []

    @property
    def offset_seconds(self) -> float:
        return self._offset

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self._offset)

    def now_iso(self) -> str:
        return iso(self.now())

    def later_iso(self, seconds: float) -> str:
        return iso(self.now() + timedelta(seconds=seconds))

    def is_past(self, iso_time: str) -> bool:
        return parse_iso(iso_time) <= self.now()

    def advance(self, seconds: float) -> None:
        """Move wall time forward and tell listeners (e.g. the scheduler) so they fire at once."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
            listeners = list(self._listeners)
        for listener in listeners:
            listener(seconds)

    def on_advance(self, listener: Callable[[float], None]) -> None:
        """Call ``listener(seconds)`` after every ``advance`` (on the advancing thread)."""
        with self._lock:
            self._listeners.append(listener)

    async def sleep(self, seconds: float) -> None:
        """Simulated work: waits ``seconds / speed`` of real time."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)
