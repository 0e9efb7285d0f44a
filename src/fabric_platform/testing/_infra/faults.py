"""Fault injection: what LocalFabric.fail_next/add_latency/drop_stream_after/... configure.

Rules match a request by HTTP method (``*`` for any) and a path pattern, an ``fnmatch`` glob
tried against both the concrete path (``/v1/jobs/4b1…``) and the route template
(``/v1/jobs/{id}``), so either spelling works. Rules are consumed under a lock because the
test thread configures them while the server's loop reads them.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

# Status → error code used for injected failures (wire contract §1).
_CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    422: "validation_error",
    429: "rate_limited",
}


def code_for_status(status: int) -> str:
    if status in _CODES:
        return _CODES[status]
    if status == 503:
        return "unavailable"
    return "internal_error" if status >= 500 else "invalid_request"


@dataclass
class FailRule:
    method: str
    path_pattern: str
    status: int
    remaining: int
    retry_after: Optional[float] = None
    commit: bool = False

    def describe(self) -> Dict[str, Any]:
        return {
            "type": "fail_next",
            "method": self.method,
            "path_pattern": self.path_pattern,
            "status": self.status,
            "remaining": self.remaining,
            "retry_after": self.retry_after,
            "commit": self.commit,
        }


@dataclass
class LatencyRule:
    method: str
    path_pattern: str
    seconds: float

    def describe(self) -> Dict[str, Any]:
        return {
            "type": "latency",
            "method": self.method,
            "path_pattern": self.path_pattern,
            "seconds": self.seconds,
        }


@dataclass
class StreamDrop:
    after_events: int
    remaining: int


@dataclass
class Faults:
    fail_rules: List[FailRule] = field(default_factory=list)
    latency_rules: List[LatencyRule] = field(default_factory=list)
    stream_drops: List[StreamDrop] = field(default_factory=list)
    streaming_disabled: bool = False
    injected: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # ---- configuration (any thread)
    def fail_next(
        self,
        method: str,
        path_pattern: str,
        status: int,
        *,
        count: int = 1,
        retry_after: Optional[float] = None,
        commit: bool = False,
    ) -> None:
        if not 400 <= int(status) <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self.fail_rules.append(
                FailRule(method.upper(), path_pattern, int(status), int(count), retry_after, bool(commit))
            )

    def add_latency(self, method: str, path_pattern: str, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        with self._lock:
            self.latency_rules.append(LatencyRule(method.upper(), path_pattern, float(seconds)))

    def drop_stream_after(self, events: int, times: int = 1) -> None:
        if events < 0 or times < 1:
            raise ValueError("events must be >= 0 and times >= 1")
        with self._lock:
            self.stream_drops.append(StreamDrop(int(events), int(times)))

    def disable_streaming(self, disabled: bool = True) -> None:
        self.streaming_disabled = disabled

    def reset(self) -> None:
        with self._lock:
            self.fail_rules.clear()
            self.latency_rules.clear()
            self.stream_drops.clear()
            self.streaming_disabled = False

    def describe(self) -> Dict[str, Any]:
        with self._lock:
            return {
                "rules": [r.describe() for r in self.fail_rules] + [r.describe() for r in self.latency_rules],
                "stream_drops": [
                    {"events": d.after_events, "remaining": d.remaining} for d in self.stream_drops
                ],
                "streaming_disabled": self.streaming_disabled,
                "injected": self.injected,
            }

    # ---- consumption (server loop)
    def take_failure(self, method: str, path: str, template: Optional[str]) -> Optional[FailRule]:
        """The first matching failure rule, with one use consumed; None when nothing matches."""
        with self._lock:
            for rule in self.fail_rules:
                if _matches(rule.method, rule.path_pattern, method, path, template):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self.fail_rules.remove(rule)
                    self.injected += 1
                    return FailRule(
                        rule.method, rule.path_pattern, rule.status, 1, rule.retry_after, rule.commit
                    )
        return None

    def latency_for(self, method: str, path: str, template: Optional[str]) -> float:
        with self._lock:
            return sum(
                r.seconds
                for r in self.latency_rules
                if _matches(r.method, r.path_pattern, method, path, template)
            )

    def take_stream_drop(self) -> Optional[int]:
        """For a new SSE connection: after how many events to cut it (None: do not cut)."""
        with self._lock:
            if not self.stream_drops:
                return None
            drop = self.stream_drops[0]
            drop.remaining -= 1
            if drop.remaining <= 0:
                self.stream_drops.pop(0)
            self.injected += 1
            return drop.after_events


def _matches(rule_method: str, pattern: str, method: str, path: str, template: Optional[str]) -> bool:
    if rule_method not in ("*", method.upper()):
        return False
    if fnmatch.fnmatchcase(path, pattern):
        return True
    return template is not None and (template == pattern or fnmatch.fnmatchcase(template, pattern))
