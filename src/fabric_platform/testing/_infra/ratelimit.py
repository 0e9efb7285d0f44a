"""Per-principal token buckets (off until ``LocalFabric.rate_limit`` turns them on).

A bucket holds up to ``burst`` tokens and refills at ``per_second``; a request takes one. An
empty bucket answers 429 with ``Retry-After`` = whole seconds until the next token. Buckets
run on real (monotonic) time: the emulator clock's jumps are for expiries, not for traffic.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Dict, Optional, Tuple


class RateLimiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rate: Optional[Tuple[float, float]] = None
        self._buckets: Dict[str, Tuple[float, float]] = {}  # key -> (tokens, last refill)

    @property
    def enabled(self) -> bool:
        return self._rate is not None

    def configure(self, per_second: Optional[float], burst: Optional[float] = None) -> None:
        """``per_second=None`` turns limiting off; ``burst`` defaults to ``per_second``."""
        with self._lock:
            self._buckets.clear()
            if per_second is None:
                self._rate = None
                return
            if per_second <= 0:
                raise ValueError("per_second must be positive")
            burst = per_second if burst is None else burst
            if burst < 1:
                raise ValueError("burst must be at least 1")
            self._rate = (float(per_second), float(burst))

    def take(self, key: str) -> Optional[int]:
        """Take a token for ``key``: None when allowed, else the Retry-After seconds."""
        with self._lock:
            if self._rate is None:
                return None
            per_second, burst = self._rate
            now = time.monotonic()
            tokens, last = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - last) * per_second)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / per_second))
