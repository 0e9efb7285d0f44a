"""Scenario 2: 429 storms with Retry-After → every call succeeds or raises within its deadline,
and the waits honour the hints.

* Injected storms: before a random subset of calls the emulator is told to answer the next
  1–5 attempts with 429 and a random ``Retry-After`` (sometimes longer than the call's whole
  deadline). Each call's outcome is predicted from its fault and checked: success after
  exactly that many retries, or FabricRateLimitError; never sooner than the hints add up
  to, never later than the deadline.
* The real limiter: a token bucket per principal, hammered by threads and by asyncio tasks
  at once; every call ends in time, each retry having waited at least the (whole-second)
  hint.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any, Callable, Iterator, List, Optional, Tuple

import pytest

from fabric_platform import FabricClient
from fabric_platform.errors import FabricError, FabricRateLimitError
from fabric_platform.testing import LocalFabric

from ._support import FAST, Figures, size

TIMEOUT = 2.0  # each call's total deadline (retries and waits included)
MAX_RETRIES = 3
SLACK = 0.75  # scheduling slack on a loaded 2-core machine


@pytest.fixture()
def local() -> Iterator[LocalFabric]:
    with LocalFabric(**FAST) as server:
        yield server


def _calls(client: FabricClient, job_id: str) -> List[Tuple[str, str, Callable[[], Any]]]:
    """(method, path pattern, raw call) for a mix of reads and idempotent writes."""
    raw = client.with_raw_response
    return [
        ("GET", "/v1/me", lambda: raw.get_me()),
        ("GET", "/v1/jobs/*", lambda: raw.get_job(job_id)),
        ("GET", "/v1/organizations", lambda: raw.list_organizations()),
        ("POST", "/v1/jobs", lambda: raw.create_job(modality="text", input={"prompt": "storm"})),
    ]


@pytest.mark.scenario("2a. 429 storms with Retry-After (injected)")
@pytest.mark.timeout(size(60, 240))
def test_injected_429_storms_end_in_time_and_honour_hints(local: LocalFabric, figures: Figures) -> None:
    rng = random.Random(7)
    total = size(100, 500)
    client = local.client(timeout=TIMEOUT, max_retries=MAX_RETRIES)
    job_id = client.create_job(modality="text", input={"prompt": "seed"})["id"]
    calls = _calls(client, job_id)
    problems: List[str] = []
    outcomes = {"ok": 0, "exhausted": 0, "hint_too_long": 0}
    waited = 0.0
    created = 0  # create_job calls that succeeded: each must have made exactly one job
    try:
        for i in range(total):
            method, pattern, call = calls[rng.randrange(len(calls))]
            local.reset_faults()
            storm: Optional[Tuple[int, float]] = None
            if rng.random() < 0.4:
                count = rng.randint(1, MAX_RETRIES + 2)
                hint = rng.choice([0.01, 0.02, 0.05, 0.1]) if rng.random() < 0.9 else TIMEOUT + 3.0
                storm = (count, hint)
                local.fail_next(method, pattern, 429, count=count, retry_after=hint)
            started = time.monotonic()
            error: Optional[BaseException] = None
            result: Any = None
            try:
                result = call()
            except FabricError as exc:
                error = exc
            elapsed = time.monotonic() - started
            figures.calls += 1
            if method == "POST" and error is None:
                created += 1
            where = f"call {i} {method} {pattern} storm={storm}"
            if elapsed > TIMEOUT + SLACK:
                problems.append(f"{where}: took {elapsed:.2f}s, deadline {TIMEOUT}s")
            if storm is None:
                if error is not None:
                    problems.append(f"{where}: unexpected {error!r}")
                else:
                    outcomes["ok"] += 1
                continue
            count, hint = storm
            if hint >= TIMEOUT:
                # The hint alone outlasts the deadline: raise at once, reporting the hint.
                if not isinstance(error, FabricRateLimitError) or error.retry_after != pytest.approx(hint):
                    problems.append(f"{where}: expected an immediate FabricRateLimitError, got {error!r}")
                elif elapsed > 0.5:
                    problems.append(f"{where}: a hopeless hint should fail fast, took {elapsed:.2f}s")
                outcomes["hint_too_long"] += 1
                continue
            retries = min(count, MAX_RETRIES)
            figures.retries = (figures.retries or 0) + retries
            waited += retries * hint
            if elapsed < retries * hint:
                problems.append(f"{where}: {elapsed:.3f}s < {retries} x Retry-After {hint}s")
            if count > MAX_RETRIES:
                if not isinstance(error, FabricRateLimitError):
                    problems.append(
                        f"{where}: expected FabricRateLimitError after {MAX_RETRIES} retries, got {error!r}"
                    )
                outcomes["exhausted"] += 1
            elif error is not None or result.retries_taken != count:
                problems.append(
                    f"{where}: expected success after {count} retries, got {error or result.retries_taken!r}"
                )
            else:
                outcomes["ok"] += 1
        injected = local.emulator.faults.describe()["injected"]
        jobs = sum(1 for j in client.iter_jobs(limit=100) if j["input"].get("prompt") == "storm")
    finally:
        local.reset_faults()
        client.close()
    figures.faults = injected  # every 429 the server actually sent
    figures.duplicates = max(0, jobs - created)
    if jobs != created:
        problems.append(f"{created} successful create_job calls made {jobs} jobs")
    figures.note(
        f"{total} sequential calls (reads and POST create_job with its idempotency key), "
        f"timeout {TIMEOUT:g} s, max_retries {MAX_RETRIES}: {outcomes['ok']} succeeded, "
        f"{outcomes['exhausted']} raised FabricRateLimitError after the retry budget, "
        f"{outcomes['hint_too_long']} raised at once because Retry-After exceeded the deadline; "
        f"{waited:.1f} s of hinted waits, each honoured."
    )
    assert not problems, "\n".join(problems[:30])


@pytest.mark.scenario("2b. 429 storms from the token bucket (threads + tasks)")
@pytest.mark.timeout(size(90, 240))
def test_rate_limiter_storm_from_threads_and_tasks(local: LocalFabric, figures: Figures) -> None:
    threads, per_thread = 8, size(6, 40)
    tasks, per_task = 20, size(3, 15)
    timeout, retries = 8.0, 6
    limiter = local.emulator.ratelimit
    refusals = [0]
    lock = threading.Lock()
    take = limiter.take

    def counting_take(key: str) -> Optional[int]:
        answer = take(key)
        if answer is not None:
            with lock:
                refusals[0] += 1
        return answer

    limiter.take = counting_take  # type: ignore[method-assign]
    local.rate_limit(per_second=40, burst=10)
    problems: List[str] = []
    results: List[Tuple[float, int]] = []  # (elapsed, retries) of successful calls
    failures: List[Tuple[float, BaseException]] = []

    def record(elapsed: float, raw: Any, error: Optional[BaseException]) -> None:
        with lock:
            if error is None:
                results.append((elapsed, raw.retries_taken))
            else:
                failures.append((elapsed, error))

    def worker(client: FabricClient) -> None:
        for _ in range(per_thread):
            started = time.monotonic()
            try:
                raw = client.with_raw_response.get_me()
                record(time.monotonic() - started, raw, None)
            except Exception as exc:  # recorded and judged below
                record(time.monotonic() - started, None, exc)

    async def async_part() -> None:
        async with local.async_client(timeout=timeout, max_retries=retries) as aclient:

            async def one_task() -> None:
                for _ in range(per_task):
                    started = time.monotonic()
                    try:
                        raw = await aclient.with_raw_response.get_me()
                        record(time.monotonic() - started, raw, None)
                    except Exception as exc:
                        record(time.monotonic() - started, None, exc)

            await asyncio.gather(*(one_task() for _ in range(tasks)))

    client = local.client(timeout=timeout, max_retries=retries)
    try:
        pool = [threading.Thread(target=worker, args=(client,)) for _ in range(threads)]
        for t in pool:
            t.start()
        asyncio.run(async_part())
        for t in pool:
            t.join(timeout * (per_thread + 1))
            assert not t.is_alive(), "a worker thread did not finish"
    finally:
        local.rate_limit(None)
        limiter.take = take  # type: ignore[method-assign]
        client.close()
    total = threads * per_thread + tasks * per_task
    assert len(results) + len(failures) == total
    for elapsed, error in failures:
        if not isinstance(error, FabricRateLimitError):
            problems.append(f"unexpected failure {error!r}")
        if elapsed > timeout + SLACK:
            problems.append(f"a failing call took {elapsed:.2f}s (deadline {timeout}s)")
    for elapsed, taken in results:
        if elapsed > timeout + SLACK:
            problems.append(f"a call took {elapsed:.2f}s (deadline {timeout}s)")
        # The limiter's Retry-After is a whole number of seconds (>= 1).
        if elapsed < taken * 1.0 - 0.01:
            problems.append(f"{taken} retries in {elapsed:.2f}s: the 1 s hints were not honoured")
    figures.calls = total
    figures.faults = refusals[0]
    figures.retries = sum(t for _, t in results)
    figures.note(
        f"token bucket 40/s (burst 10) per principal; {threads} threads x {per_thread} calls and "
        f"{tasks} tasks x {per_task} calls at once; {refusals[0]} answers were 429; "
        f"{len(results)} calls succeeded, {len(failures)} raised FabricRateLimitError in time."
    )
    assert refusals[0] > 0, "the storm never happened: no 429 was sent"
    assert not problems, "\n".join(problems[:30])
