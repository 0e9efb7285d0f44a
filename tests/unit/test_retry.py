"""The retry decisions, table-driven: statuses, exceptions, methods with and without an
Idempotency-Key, Retry-After in every form, backoff bounds and the total deadline."""

from __future__ import annotations

import email.utils
from typing import Optional, Union

import httpx
import pytest

from fabric_platform._core.retry import (
    INITIAL_BACKOFF,
    MAX_BACKOFF,
    MAX_RETRY_AFTER,
    Deadline,
    attempt_timeout,
    backoff_delay,
    decide_retry,
    is_replay_safe,
    parse_retry_after,
    should_retry,
)

REQ = httpx.Request("GET", "https://fabric.test/v1/x")
NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("method", "outcome", "has_key", "expected"),
    [
        # transient statuses: retried when repeating is safe
        ("GET", 408, False, True),
        ("GET", 429, False, True),
        ("GET", 500, False, True),
        ("GET", 502, False, True),
        ("GET", 503, False, True),
        ("GET", 504, False, True),
        ("DELETE", 503, False, True),
        ("PUT", 500, False, True),
        ("POST", 503, True, True),
        ("PATCH", 502, True, True),
        # ...but a POST/PATCH without a key could run twice: never
        ("POST", 503, False, False),
        ("POST", 429, False, False),
        ("PATCH", 500, False, False),
        # definitive answers are never retried, key or not
        ("GET", 400, False, False),
        ("GET", 401, False, False),
        ("GET", 403, False, False),
        ("GET", 404, False, False),
        ("GET", 409, False, False),
        ("POST", 409, True, False),
        ("POST", 422, True, False),
        ("GET", 501, False, False),
        ("GET", 200, False, False),
        # the request never left: always safe
        ("POST", httpx.ConnectError("refused", request=REQ), False, True),
        ("POST", httpx.ConnectTimeout("slow connect", request=REQ), False, True),
        ("POST", httpx.PoolTimeout("pool", request=REQ), False, True),
        ("GET", httpx.ConnectError("refused", request=REQ), False, True),
        # the server may have acted: only when repeating is safe
        ("GET", httpx.ReadTimeout("slow", request=REQ), False, True),
        ("POST", httpx.ReadTimeout("slow", request=REQ), True, True),
        ("POST", httpx.ReadTimeout("slow", request=REQ), False, False),
        ("POST", httpx.RemoteProtocolError("eof", request=REQ), False, False),
        ("POST", httpx.RemoteProtocolError("eof", request=REQ), True, True),
        ("PATCH", httpx.WriteTimeout("w", request=REQ), False, False),
        ("GET", httpx.ReadError("reset", request=REQ), False, True),
        # errors that repeating cannot fix
        ("GET", httpx.UnsupportedProtocol("ftp://", request=REQ), False, False),
        ("GET", httpx.LocalProtocolError("bad header", request=REQ), False, False),
        ("GET", ValueError("not a transport error"), False, False),
    ],
)
def test_should_retry_table(
    method: str, outcome: Union[int, BaseException], has_key: bool, expected: bool
) -> None:
    assert should_retry(method, outcome, has_key) is expected


@pytest.mark.parametrize(
    "outcome",
    [503, httpx.ReadTimeout("slow", request=REQ)],
)
def test_one_shot_bodies_are_not_resent(outcome: Union[int, BaseException]) -> None:
    assert should_retry("POST", outcome, True, replayable_body=True)
    assert not should_retry("POST", outcome, True, replayable_body=False)
    # ...except when the bytes never left
    assert should_retry("POST", httpx.ConnectError("x", request=REQ), True, replayable_body=False)


def test_is_replay_safe() -> None:
    for m in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "get"):
        assert is_replay_safe(m, False)
    for m in ("POST", "PATCH"):
        assert not is_replay_safe(m, False)
        assert is_replay_safe(m, True)


def _http_date(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("0", 0.0),
        ("3", 3.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("59", 59.0),
        ("60", 60.0),
        ("61", MAX_RETRY_AFTER),  # capped
        ("86400", MAX_RETRY_AFTER),  # huge: capped
        ("1e400", None),  # overflows to inf: not a usable wait
        ("inf", None),
        ("nan", None),
        ("-5", None),
        ("soon", None),
        ("Wed, 99 Foo 2026 99:99:99 GMT", None),
        ("<html>", None),
        (_http_date(NOW + 5), 5.0),
        (_http_date(NOW + 3600), MAX_RETRY_AFTER),  # a date an hour away: capped
        (_http_date(NOW - 30), 0.0),  # in the past: retry now
    ],
)
def test_parse_retry_after(header: Optional[str], expected: Optional[float]) -> None:
    assert parse_retry_after(header, NOW) == expected


def test_parse_retry_after_uncapped_and_zone_forms() -> None:
    assert parse_retry_after("86400", NOW, cap=None) == 86400.0
    # a "-0000" zone parses as a naive datetime: still read as UTC
    assert parse_retry_after(_http_date(NOW + 10).replace("GMT", "-0000"), NOW) == 10.0


def test_backoff_nominal_sequence_and_cap() -> None:
    # rand=0.5 means "no jitter": 0.5, 1, 2, 4, 8, 8, ...
    assert [backoff_delay(i, rand=lambda: 0.5) for i in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


@pytest.mark.parametrize("retry_index", range(12))
@pytest.mark.parametrize("r", [0.0, 0.25, 0.5, 0.999999])
def test_backoff_bounds(retry_index: int, r: float) -> None:
    nominal = min(MAX_BACKOFF, INITIAL_BACKOFF * 2**retry_index)
    delay = backoff_delay(retry_index, rand=lambda: r)
    assert 0.8 * nominal - 1e-9 <= delay <= min(MAX_BACKOFF, 1.2 * nominal) + 1e-9
    assert delay <= MAX_BACKOFF


def test_backoff_jitter_spreads() -> None:
    low = backoff_delay(1, rand=lambda: 0.0)
    high = backoff_delay(1, rand=lambda: 0.999)
    assert low == pytest.approx(0.8) and high == pytest.approx(1.2, abs=1e-3)
    assert backoff_delay(10**6, rand=lambda: 0.5) == MAX_BACKOFF  # no overflow


def _decide(**kw: object) -> tuple:  # type: ignore[type-arg]
    args: dict = {  # type: ignore[type-arg]
        "method": "GET",
        "outcome": 503,
        "has_idempotency_key": False,
        "retries_taken": 0,
        "max_retries": 2,
        "remaining": 30.0,
        "rand": lambda: 0.5,
    }
    args.update(kw)
    return tuple(decide_retry(**args))  # type: ignore[arg-type]


def test_decide_retry_backoff_then_budget() -> None:
    assert _decide() == (True, 0.5, "backoff")
    assert _decide(retries_taken=1) == (True, 1.0, "backoff")
    assert _decide(retries_taken=2) == (False, 0.0, "exhausted")
    assert _decide(max_retries=0) == (False, 0.0, "exhausted")


def test_decide_retry_not_retryable_wins() -> None:
    assert _decide(outcome=404) == (False, 0.0, "not-retryable")
    assert _decide(method="POST") == (False, 0.0, "not-retryable")
    assert _decide(method="POST", has_idempotency_key=True) == (True, 0.5, "backoff")


def test_decide_retry_honours_retry_after() -> None:
    assert _decide(outcome=429, retry_after=3.0) == (True, 3.0, "retry-after")
    # a hint shorter than the backoff is honoured too: the server knows best
    assert _decide(outcome=429, retry_after=0.0, retries_taken=1) == (True, 0.0, "retry-after")


def test_decide_retry_deadline() -> None:
    # Retry-After beyond what is left: give up at once (the 429 is raised)
    assert _decide(outcome=429, retry_after=45.0, remaining=29.0) == (False, 0.0, "deadline")
    assert _decide(outcome=429, retry_after=29.0, remaining=29.0) == (False, 0.0, "deadline")
    assert _decide(outcome=429, retry_after=28.9, remaining=29.0)[0] is True
    # backoff longer than what is left: same
    assert _decide(remaining=0.4) == (False, 0.0, "deadline")
    assert _decide(remaining=0.0) == (False, 0.0, "deadline")


def test_attempt_timeout_is_bounded_by_the_deadline() -> None:
    assert attempt_timeout(30.0, 100.0) == 30.0
    assert attempt_timeout(30.0, 12.5) == 12.5
    assert attempt_timeout(30.0, 0.0) == 0.001  # httpx would read 0 as "don't wait at all"


def test_deadline_arithmetic() -> None:
    now = [100.0]
    d = Deadline(30.0, lambda: now[0])
    assert d.remaining() == 30.0 and not d.expired
    now[0] += 12.0
    assert d.remaining() == 18.0 and d.elapsed() == 12.0
    now[0] += 18.0
    assert d.remaining() == 0.0 and d.expired
    now[0] += 5.0
    assert d.remaining() == 0.0


def test_worst_case_call_stays_within_timeout() -> None:
    """timeout=30, max_retries=2 with attempts that each use their whole timeout: the
    planned attempts plus waits never exceed the deadline (never 90 s+)."""
    now = [0.0]
    d = Deadline(30.0, lambda: now[0])
    retries = 0
    while True:
        now[0] += attempt_timeout(30.0, d.remaining())  # the attempt hangs until its timeout
        decision = decide_retry(
            method="GET",
            outcome=httpx.ConnectTimeout("t", request=REQ),
            has_idempotency_key=False,
            retries_taken=retries,
            max_retries=2,
            remaining=d.remaining(),
            rand=lambda: 0.5,
        )
        if not decision.retry:
            break
        now[0] += decision.delay
        retries += 1
    assert now[0] <= 30.0
