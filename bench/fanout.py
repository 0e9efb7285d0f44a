"""Async fan-out: 1,000 concurrent ``get_run`` on one ``AsyncFabricClient`` vs sequential sync.

Both clients call the canned server (another process, 127.0.0.1). A round is either the
calls one after another on a ``FabricClient`` or all at once (``asyncio.gather``) on one
``AsyncFabricClient``; throughput is calls per wall-clock second, every call must
succeed, rounds interleave and ratios are per round. Two servers:

* **no latency** — the canned server answers at once: the client's CPU is the only limit,
  the harshest case for the async stack;
* **2 ms service time** — each answer comes 2 ms later (other connections proceed), a
  fast real server; sequential calls now wait, concurrent ones overlap.

Reference rows show why the async client has its own transport (``_aio_http``): bare httpx
with its default async transport (``httpx.AsyncClient`` behind the same kind of semaphore)
vs sync (``httpx.Client``), on the no-latency server; and a bare ``httpx.AsyncClient()``
with default limits given the 1,000 calls at once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Dict, List, Tuple

import httpx
from _common import Row, Summary, command, interleave, log, ratios
from _servers import RUN_ID, canned_server

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform._config import DEFAULT_MAX_IN_FLIGHT

API_KEY = "fab_test_bench0000000000000000"
SERVICE_MS = 2


async def _gather(client: AsyncFabricClient, calls: int) -> Tuple[float, int]:
    start = time.perf_counter()
    results = await asyncio.gather(*(client.get_run(RUN_ID) for _ in range(calls)), return_exceptions=True)
    elapsed = time.perf_counter() - start
    failures = sum(1 for r in results if isinstance(r, BaseException))
    return elapsed, failures


async def _bare_default_limits(url: str, calls: int) -> Tuple[float, int, str]:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {API_KEY}"}) as client:

        async def one() -> object:
            response = await client.get(url)
            response.raise_for_status()
            return response.json()["data"]

        start = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(calls)), return_exceptions=True)
        elapsed = time.perf_counter() - start
    errors = [r for r in results if isinstance(r, BaseException)]
    kinds = sorted({type(e).__name__ for e in errors})
    return elapsed, len(errors), ", ".join(kinds)


def _sdk_rows(base: str, label: str, calls: int, rounds: int, smoke: bool) -> Row:
    sync_client = FabricClient(base_url=base, api_key=API_KEY)
    loop = asyncio.new_event_loop()
    async_client = AsyncFabricClient(base_url=base, api_key=API_KEY)
    failures: List[int] = []
    # Sequential rounds on a slow server take long; they measure a rate, so fewer calls do.
    seq_calls = calls if "no latency" in label else max(10, calls // 4)
    try:

        def sync_round() -> float:
            start = time.perf_counter()
            for _ in range(seq_calls):
                sync_client.get_run(RUN_ID)
            return seq_calls / (time.perf_counter() - start)

        def async_round() -> float:
            elapsed, failed = loop.run_until_complete(_gather(async_client, calls))
            failures.append(failed)
            return calls / elapsed

        sync_round()  # warm up: connections, caches
        async_round()
        failures.clear()
        res = interleave(
            rounds,
            {"sync": sync_round, "async": async_round},
            on_round=lambda i, v: log(
                f"  {label} round {i + 1}/{rounds}: sync {v['sync']:,.0f}/s, async {v['async']:,.0f}/s "
                f"({failures[-1]} failed)"
            ),
        )
    finally:
        sync_client.close()
        loop.run_until_complete(async_client.close())
        loop.close()
    ratio = Summary.of(ratios(res["async"], res["sync"]))
    failed = sum(failures)
    return Row(
        name=f"async fan-out, {label}: {calls:,} concurrent `get_run` on one `AsyncFabricClient` "
        f"(max_in_flight={DEFAULT_MAX_IN_FLIGHT}) vs sequential `FabricClient` ({rounds} rounds)",
        sdk=Summary.of(res["async"]).fmt(",.0f", "calls/s"),
        baseline=f"sequential sync {Summary.of(res['sync']).fmt(',.0f', 'calls/s')}",
        result=f"{ratio.fmt('.2f', '×')} sync; {failed} of {calls * rounds} failed",
        target="all succeed; ≥ 0.8× sequential sync",
        met=None if smoke else (failed == 0 and ratio.median >= 0.8),
        command=command("fanout", smoke),
    )


def _bare_ceiling(url: str, calls: int, rounds: int) -> Row:
    """The same comparison one layer down: bare httpx async vs bare httpx sync."""
    sync_client = httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"})
    async_client = httpx.AsyncClient(headers={"Authorization": f"Bearer {API_KEY}"})
    loop = asyncio.new_event_loop()

    async def burst() -> float:
        gate = asyncio.Semaphore(DEFAULT_MAX_IN_FLIGHT)

        async def one() -> object:
            async with gate:
                return (await async_client.get(url)).json()["data"]

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(calls)))
        return calls / (time.perf_counter() - start)

    def sync_round() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            sync_client.get(url).json()["data"]
        return calls / (time.perf_counter() - start)

    try:
        sync_round()
        loop.run_until_complete(burst())
        res: Dict[str, List[float]] = interleave(
            rounds, {"sync": sync_round, "async": lambda: loop.run_until_complete(burst())}
        )
    finally:
        sync_client.close()
        loop.run_until_complete(async_client.aclose())
        loop.close()
    ratio = Summary.of(ratios(res["async"], res["sync"]))
    return Row(
        name=f"reference — bare httpx, no latency: {calls:,} concurrent GETs on `httpx.AsyncClient` "
        f"(semaphore {DEFAULT_MAX_IN_FLIGHT}) vs sequential `httpx.Client` ({rounds} rounds)",
        sdk=Summary.of(res["async"]).fmt(",.0f", "calls/s"),
        baseline=f"sequential sync {Summary.of(res['sync']).fmt(',.0f', 'calls/s')}",
        result=f"{ratio.fmt('.2f', '×')} sync",
        target="(httpx's default async transport, which the SDK's async client replaces)",
        met=None,
        command=command("fanout"),
    )


def run(smoke: bool) -> List[Row]:
    calls, rounds = (50, 2) if smoke else (1_000, 7)
    rows: List[Row] = []
    with canned_server() as (base, _pid):
        log(f"fanout: no latency, {rounds} rounds of {calls} calls")
        rows.append(_sdk_rows(base, "no latency", calls, rounds, smoke))
        log(f"fanout: {SERVICE_MS} ms service time, {rounds} rounds of {calls} calls")
        rows.append(
            _sdk_rows(f"{base}/lat-{SERVICE_MS}", f"{SERVICE_MS} ms service time", calls, rounds, smoke)
        )
        if not smoke:
            url = f"{base}/v1/workflow-runs/{RUN_ID}"
            log("fanout: bare httpx async vs sync (reference)")
            rows.append(_bare_ceiling(url, calls, rounds))
            log("fanout: bare httpx.AsyncClient() with default limits (reference)")
            loop = asyncio.new_event_loop()
            try:
                elapsed, failed, kinds = loop.run_until_complete(_bare_default_limits(url, calls))
            finally:
                loop.close()
            rows.append(
                Row(
                    name=f"reference — bare `httpx.AsyncClient()` with default limits, {calls:,} concurrent GETs, no latency",
                    sdk="",
                    baseline=f"{calls - failed} succeeded in {elapsed:.1f} s",
                    result=f"{failed} of {calls} failed ({kinds or 'none'})",
                    target="(why the SDK bounds requests in flight)",
                    met=None,
                    command=command("fanout"),
                )
            )
    return rows
