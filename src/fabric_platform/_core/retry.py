"""Retry decisions: what may be repeated, how long to wait, and when the call is out of time.

Pure functions of their inputs (the clock and the random source are parameters), shared by
the sync and the async transport, so both behave identically and every rule is unit-tested
without sleeping.

The rules:

* Statuses 408, 429, 500, 502, 503, 504 and transport failures are transient.
* A request is repeated only if repeating it cannot duplicate a side effect: its method is
  idempotent (GET, HEAD, OPTIONS, PUT, DELETE) or it carries an ``Idempotency-Key`` (the
  server then answers a repeat with the first result). The exception is a failure to
  *connect*: the request never left the machine, so any request may be sent again.
* Waits grow exponentially from 0.5 s to at most 8 s with ±20 % jitter (so clients that
  failed together do not retry together); a ``Retry-After`` hint replaces the backoff.
* One deadline (the call's ``timeout``) bounds every attempt and every wait together. A
  wait that would end past the deadline is not started: the last error is raised at once.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import random
from typing import Callable, NamedTuple, Optional, Union

import httpx

__all__ = [
    "API_POLICY",
    "INITIAL_BACKOFF",
    "MAX_BACKOFF",
    "MAX_RETRY_AFTER",
    "RETRYABLE_STATUSES",
    "Deadline",
    "DeadlineExceeded",
    "RetryDecision",
    "RetryPolicy",
    "attempt_timeout",
    "backoff_delay",
    "decide_retry",
    "is_replay_safe",
    "parse_retry_after",
    "should_retry",
]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
JITTER = 0.2
MAX_RETRY_AFTER = 60.0

# The request bytes never reached the server: always safe to send again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The server may have received (and acted on) the request before the failure.
_MAYBE_PROCESSED = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.CloseError,
)

Outcome = Union[int, BaseException]


def is_replay_safe(method: str, has_idempotency_key: bool) -> bool:
    """Whether sending this request twice has the effect of sending it once.

    Args:
        method: The HTTP method.
        has_idempotency_key: An ``Idempotency-Key`` header is sent.

    Returns:
        True for idempotent methods and for any request with an idempotency key.
    """
    return has_idempotency_key or method.upper() in IDEMPOTENT_METHODS


def should_retry(
    method: str,
    outcome: Outcome,
    has_idempotency_key: bool,
    *,
    replayable_body: bool = True,
) -> bool:
    """Whether an attempt's outcome is worth another attempt (ignoring budget and time).

    Args:
        method: The HTTP method.
        outcome: The response status, or the exception the attempt raised.
        has_idempotency_key: An ``Idempotency-Key`` header is sent.
        replayable_body: The body can be sent again (False for one-shot streams).

    Returns:
        True if the request should be repeated.
    """
    if isinstance(outcome, BaseException):
        if isinstance(outcome, _NOT_SENT):
            return True
        if isinstance(outcome, _MAYBE_PROCESSED):
            return replayable_body and is_replay_safe(method, has_idempotency_key)
        # Unsupported protocol, local protocol misuse, proxy refusals, our own deadline:
        # repeating changes nothing.
        return False
    if outcome not in RETRYABLE_STATUSES:
        return False
    return replayable_body and is_replay_safe(method, has_idempotency_key)


def backoff_delay(retry_index: int, *, rand: Callable[[], float] = random.random) -> float:
    """The wait before retry number ``retry_index + 1`` when the server gave no hint.

    Args:
        retry_index: 0 for the first retry, 1 for the second, ...
        rand: A source of floats in [0, 1) (injectable for tests).

    Returns:
        Seconds: ``0.5 * 2**retry_index`` capped at 8, times a jitter factor in [0.8, 1.2],
        never more than 8.
    """
    return RetryPolicy(rand=rand).backoff(retry_index)


def parse_retry_after(
    value: Optional[str], now: float, *, cap: Optional[float] = MAX_RETRY_AFTER
) -> Optional[float]:
    """Read a ``Retry-After`` header in either of its forms.

    Args:
        value: The header value: delay-seconds (``"3"``, leniently ``"1.5"``) or an HTTP-date.
        now: The current wall-clock time (``time.time()``), for the date form.
        cap: Upper bound on the result; None for the server's raw hint.

    Returns:
        Seconds to wait (>= 0, a date in the past gives 0), or None when the header is absent
        or unreadable.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    seconds: Optional[float]
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        # float() also accepts "nan", "inf" and "1e400": none of them is a usable wait.
        if not math.isfinite(seconds) or seconds < 0:
            return None
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:  # pragma: no cover - older Pythons return None instead of raising
            return None
        if when.tzinfo is None:
            # "-0000" zones parse as naive; HTTP-dates are always UTC.
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = max(0.0, when.timestamp() - now)
    return seconds if cap is None else min(seconds, cap)


def attempt_timeout(timeout: float, remaining: float) -> float:
    """The httpx timeout of one attempt: never longer than what is left of the deadline.

    Args:
        timeout: The configured per-call timeout.
        remaining: Seconds left before the call's deadline.

    Returns:
        ``min(timeout, remaining)``, at least a millisecond (httpx treats 0 as "no wait").
    """
    return max(0.001, min(timeout, remaining))


class Deadline:
    """The instant a call must be finished by, measured on a monotonic clock."""

    __slots__ = ("clock", "expires_at", "started_at")

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.clock = clock  # the monotonic clock the deadline is measured on
        self.started_at = clock()
        self.expires_at = self.started_at + seconds

    def remaining(self) -> float:
        """Seconds left (0 once expired)."""
        return max(0.0, self.expires_at - self.clock())

    def elapsed(self) -> float:
        """Seconds since the call started."""
        return self.clock() - self.started_at

    @property
    def expired(self) -> bool:
        """True once no time is left."""
        return self.clock() >= self.expires_at


class DeadlineExceeded(Exception):
    """Internal: the call's deadline passed while a response body was still arriving."""


class RetryDecision(NamedTuple):
    """What to do after a failed attempt."""

    retry: bool
    delay: float  # seconds to wait before the next attempt (0 when not retrying)
    reason: str  # for logs: "backoff", "retry-after", "not-retryable", "exhausted", "deadline"


def decide_retry(
    *,
    method: str,
    outcome: Outcome,
    has_idempotency_key: bool,
    retries_taken: int,
    max_retries: int,
    remaining: float,
    retry_after: Optional[float] = None,
    replayable_body: bool = True,
    rand: Callable[[], float] = random.random,
) -> RetryDecision:
    """Combine retryability, the retry budget, the server's hint and the deadline.

    The API calls' policy (:data:`API_POLICY`, with ``rand`` as its jitter source); see
    :meth:`RetryPolicy.decide`.

    Returns:
        The decision; ``retry=False`` means raise the last error now.
    """
    return RetryPolicy(rand=rand).decide(
        method=method,
        outcome=outcome,
        has_idempotency_key=has_idempotency_key,
        retries_taken=retries_taken,
        max_retries=max_retries,
        remaining=remaining,
        retry_after=retry_after,
        replayable_body=replayable_body,
    )


class RetryPolicy:
    """How every loop that waits and tries again spaces its tries, and when it stops.

    One object for the pipeline's attempts, signed-URL downloads, download resumes, event
    stream reconnects and ``wait_for_run`` polling; each loop keeps its own count and
    budget, and asks this for the wait. The wait before try ``n + 1`` (``n`` from 0) is
    ``initial * multiplier**min(n, max_doublings)``, capped at ``maximum``, times a jitter
    factor drawn from ``[jitter_center - jitter, jitter_center + jitter)``, and never above
    ``maximum``.

    Args:
        initial: The first wait, in seconds.
        maximum: No wait is longer.
        multiplier: How much each wait grows over the previous one.
        max_doublings: Growth stops after this many tries (keeps the power finite).
        jitter: How far the jitter factor strays from ``jitter_center`` (0: no jitter).
        jitter_center: The middle of the jitter factor's range.
        max_retry_after: A server's ``Retry-After`` hint is capped at this.
        rand: A source of floats in [0, 1) (injectable for tests).
    """

    __slots__ = (
        "initial",
        "jitter",
        "jitter_center",
        "max_doublings",
        "max_retry_after",
        "maximum",
        "multiplier",
        "rand",
    )

    def __init__(
        self,
        *,
        initial: float = INITIAL_BACKOFF,
        maximum: float = MAX_BACKOFF,
        multiplier: float = 2.0,
        max_doublings: int = 16,
        jitter: float = JITTER,
        jitter_center: float = 1.0,
        max_retry_after: float = MAX_RETRY_AFTER,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.max_doublings = max_doublings
        self.jitter = jitter
        self.jitter_center = jitter_center
        self.max_retry_after = max_retry_after
        self.rand = rand

    def backoff(self, retry_index: int) -> float:
        """The wait before try ``retry_index + 2`` (0: the wait after the first failure)."""
        nominal = min(self.maximum, self.initial * (self.multiplier ** min(retry_index, self.max_doublings)))
        if not self.jitter:
            return min(self.maximum, nominal * self.jitter_center)
        factor = self.jitter_center - self.jitter + 2.0 * self.jitter * self.rand()
        return min(self.maximum, nominal * factor)

    def retry_after(self, value: Optional[str], now: float) -> Optional[float]:
        """A ``Retry-After`` header's wait, capped at ``max_retry_after`` (None: no hint)."""
        return parse_retry_after(value, now, cap=self.max_retry_after)

    def decide(
        self,
        *,
        method: str,
        outcome: Outcome,
        has_idempotency_key: bool,
        retries_taken: int,
        max_retries: int,
        remaining: float,
        retry_after: Optional[float] = None,
        replayable_body: bool = True,
    ) -> RetryDecision:
        """Whether to send an HTTP request again after a failed attempt, and after how long.

        Args:
            method: The HTTP method.
            outcome: The response status, or the exception the attempt raised.
            has_idempotency_key: An ``Idempotency-Key`` header is sent.
            retries_taken: Retries already made for this call.
            max_retries: Retries allowed for this call.
            remaining: Seconds left before the call's deadline.
            retry_after: The server's (capped) ``Retry-After`` hint in seconds, if any.
            replayable_body: The body can be sent again.

        Returns:
            The decision; ``retry=False`` means raise the last error now.
        """
        if not should_retry(method, outcome, has_idempotency_key, replayable_body=replayable_body):
            return RetryDecision(False, 0.0, "not-retryable")
        if retries_taken >= max_retries:
            return RetryDecision(False, 0.0, "exhausted")
        if retry_after is not None:
            delay, reason = retry_after, "retry-after"
        else:
            delay, reason = self.backoff(retries_taken), "backoff"
        # Waiting until (or past) the deadline leaves no time for the attempt itself; the
        # caller is better served by the error now than by the same error later.
        if delay >= remaining:
            return RetryDecision(False, 0.0, "deadline")
        return RetryDecision(True, delay, reason)


#: The API calls' policy: 0.5 s doubling to 8 s, ±20 % jitter, Retry-After capped at 60 s.
API_POLICY = RetryPolicy()
