"""Event streams survive the network: the emulator cuts every SSE connection after K events,
over a run of more than 1,000 events, and the SDK's stream still delivers each event exactly
once, in order, reconnecting by itself with ``Last-Event-ID``.

The run is a definition of 333 ``transform`` nodes (3 events each, plus the run's own), and
the stream is opened while it executes, so drops happen both in the replayed part and in the
live tail. ``sse_retry_ms=5`` makes the server's ``retry:`` hint short, as a real server
under test would be configured; the SDK honours it.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from fabric_platform.testing import LocalFabric

NODES = 333
TIMEOUT = 120.0


@pytest.fixture(scope="module")
def local() -> Iterator[LocalFabric]:
    with LocalFabric(speed=200.0, sse_keepalive=0.5, sse_retry_ms=5, password_hash_iterations=1000) as server:
        yield server


@pytest.fixture(scope="module")
def long_run(local: LocalFabric) -> str:
    """One run of 1,000+ events, started (not finished): the first test streams it live."""
    with local.client() as fabric:
        wf_id = fabric.upsert_workflow(
            name=f"long-{NODES}", nodes=[{"type": "transform", "config": {}} for _ in range(NODES)]
        )
        return fabric.run_workflow(wf_id, context={"topic": "reconnect"})


def _reference(local: LocalFabric, run_id: str) -> List[Tuple[str, str]]:
    """The run's events as the server has them, read on one clean connection."""
    local.reset_faults()
    with local.client() as fabric:
        return [(e["id"], e["kind"]) for e in fabric.stream_run_events(run_id)]


def _assert_exactly_once(seen: List[Dict[str, Any]], reference: List[Tuple[str, str]]) -> None:
    ids = [e["id"] for e in seen]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    assert [int(i) for i in ids] == sorted(int(i) for i in ids), "events out of order"
    assert [(e["id"], e["kind"]) for e in seen] == reference, "an event was lost"
    assert len(reference) > 1000
    assert reference[-1][1] == "workflow.run.completed"


# The first case streams the run while it executes (drops in the live tail); the others
# replay the finished run (drops in the replayed part). K=7: 143 reconnections (the
# emulator answers a reconnect in ~50 ms, so the async twin keeps to K=37).
@pytest.mark.parametrize("every", [37, 7])
def test_sync_stream_reconnects_without_loss_or_duplicates(
    local: LocalFabric, long_run: str, every: int
) -> None:
    local.drop_stream_after(events=every, times=100_000)
    with local.client(timeout=TIMEOUT) as fabric:
        stream = fabric.stream_run_events(long_run)
        seen = [dict(event) for event in stream]
    reference = _reference(local, long_run)
    _assert_exactly_once(seen, reference)
    # Every connection but the last one was cut after exactly `every` events.
    assert stream.reconnects == math.ceil(len(reference) / every) - 1
    print(f"sync K={every}: {len(seen)} events, {stream.reconnects} reconnects")


@pytest.mark.parametrize("every", [37])
def test_async_stream_reconnects_without_loss_or_duplicates(
    local: LocalFabric, long_run: str, every: int
) -> None:
    local.drop_stream_after(events=every, times=100_000)

    async def consume() -> Tuple[List[Dict[str, Any]], int]:
        async with local.async_client(timeout=TIMEOUT) as fabric:
            stream = fabric.stream_run_events(long_run)
            events = [dict(event) async for event in stream]
            return events, stream.reconnects

    seen, reconnects = asyncio.run(consume())
    reference = _reference(local, long_run)
    _assert_exactly_once(seen, reference)
    assert reconnects == math.ceil(len(reference) / every) - 1
    print(f"async K={every}: {len(seen)} events, {reconnects} reconnects")


def test_global_stream_resumes_after_drops(local: LocalFabric, long_run: str) -> None:
    """The never-ending global stream reconnects too (no terminal event to stop at)."""
    reference = _reference(local, long_run)
    wanted = {event_id for event_id, _ in reference}
    local.drop_stream_after(events=50, times=100_000)
    seen: List[str] = []
    with local.client(timeout=TIMEOUT) as fabric:
        stream = fabric.stream_events()
        for event in stream:
            if event["id"] in wanted:
                seen.append(event["id"])
                if len(seen) == len(reference):
                    break
        stream.close()
    local.reset_faults()
    assert seen == [event_id for event_id, _ in reference]
    assert stream.reconnects >= len(reference) // 50 - 1
