"""Scenario 3: connection resets at random points of SSE streams → every event exactly once,
in order.

The SDK's stream reads the emulator through :class:`ResettingProxy`, which resets each
connection after a random number of bytes (seeded, so every run cuts at the same offsets):
inside the status line or headers, between events, in the middle of an ``id:`` or ``data:``
line, inside a chunk-size line. The emulator also drops some connections itself between
events. While the consumer reads, a producer appends numbered events to the log (the same
way the engine does: ``EventBus.publish``); a run stream then ends with the run's real
terminal event, a global stream when the last numbered event has arrived.

The reference is the same stream read straight from the emulator afterwards: the consumer's
events must equal it exactly (ids, kinds, payloads, order).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any, Iterator, List, Optional, Tuple

import pytest
from fabric_platform_api import operations as ops

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform._async.streams import AsyncEventStream
from fabric_platform._sync.streams import EventStream
from fabric_platform.testing import LocalFabric

from ._proxy import ResettingProxy
from ._support import FAST, Figures, size, wait_until

SEQ_KIND = "workflow.run.progress"
PAD = "p" * 180  # events of a realistic size (~300 bytes on the wire)


@pytest.fixture()
def local() -> Iterator[LocalFabric]:
    with LocalFabric(**{**FAST, "sse_retry_ms": 5}) as server:
        yield server


def _cutter(seed: int) -> Any:
    rng = random.Random(seed)

    def cut_after() -> Optional[int]:
        if rng.random() < 0.08:
            return rng.randrange(0, 400)  # in the response head or the first event
        return rng.randrange(400, 40_000)

    return cut_after


def _publish(local: LocalFabric, org: str, run_id: Optional[str], start: int, stop: int) -> None:
    emulator = local.emulator

    def batch() -> None:
        for seq in range(start, stop):
            emulator.events.publish(
                SEQ_KIND, organization_id=org, run_id=run_id, data={"reliability_seq": seq, "pad": PAD}
            )

    local._call(batch)


def _producer(local: LocalFabric, org: str, run_id: Optional[str], total: int, done: threading.Event) -> Any:
    def produce() -> None:
        try:
            for start in range(0, total, 250):
                _publish(local, org, run_id, start, min(total, start + 250))
        finally:
            done.set()

    return produce


def _key(event: Any) -> Tuple[str, str, str]:
    return (event.id, event.event, event.data)


def _check(figures: Figures, got: List[Any], reference: List[Any], total: int) -> List[str]:
    problems: List[str] = []
    ids = [int(e.id) for e in got]
    duplicates = len(ids) - len(set(ids))
    figures.duplicates = (figures.duplicates or 0) + duplicates
    missing = {_key(e) for e in reference} - {_key(e) for e in got}
    figures.lost = (figures.lost or 0) + len(missing)
    figures.calls += len(got)
    if duplicates:
        problems.append(f"{duplicates} events delivered twice")
    if ids != sorted(ids):
        problems.append("events out of order")
    if missing:
        problems.append(f"{len(missing)} events lost, e.g. {sorted(missing)[:3]}")
    if [_key(e) for e in got] != [_key(e) for e in reference]:
        problems.append("the consumer's events differ from the server's log")
    seqs = [e.get("data", {}).get("reliability_seq") for e in got if e.get("kind") == SEQ_KIND]
    if seqs != list(range(total)):
        problems.append(f"numbered events: got {len(seqs)} of {total}, in order: {seqs == sorted(seqs)}")
    return problems


def _waiting_run(local: LocalFabric, client: FabricClient) -> str:
    definition = client.upsert_workflow(
        f"hold-{time.monotonic_ns()}", [{"key": "hold", "type": "wait_for_input", "config": {"signal": "go"}}]
    )
    run_id = client.run_workflow(definition)
    wait_until(lambda: client.get_run(run_id)["status"] == "waiting", what="the run to wait for its signal")
    return run_id


def _drops(local: LocalFabric, seed: int, count: int) -> None:
    rng = random.Random(seed)
    for _ in range(count):
        local.drop_stream_after(rng.randint(1, 120))


def _reference_run(local: LocalFabric, run_id: str) -> List[Any]:
    with local.client() as direct:
        return list(direct.stream_run_events(run_id))


def _reference_global(local: LocalFabric, total: int) -> List[Any]:
    with local.client() as direct:
        stream = EventStream(
            direct._transport, direct._prepare(ops.STREAM_EVENTS, {}), deadline=time.monotonic() + 60
        )
        out = []
        with stream:
            for event in stream:
                out.append(event)
                if event.get("data", {}).get("reliability_seq") == total - 1:
                    break
        return out


CASES = ["run-sync", "run-async", "global-sync", "global-async"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.scenario("3. SSE streams reset at random points")
@pytest.mark.timeout(size(60, 400))
def test_stream_survives_random_resets(local: LocalFabric, figures: Figures, case: str) -> None:
    scope, flavour = case.split("-")
    figures.scenario = f"3. SSE resets at random points ({scope} stream, {flavour})"
    total = size(500, 10_000 if (scope, flavour) in (("global", "sync"), ("run", "async")) else 5_000)
    seed = CASES.index(case) + 1
    org = local.organization_id
    setup_client = local.client()
    run_id = _waiting_run(local, setup_client) if scope == "run" else None
    drops = size(3, 12)
    _drops(local, seed, drops)
    deadline = time.monotonic() + size(45, 300)
    produced = threading.Event()
    producer = threading.Thread(target=_producer(local, org, run_id, total, produced), daemon=True)
    got: List[Any] = []
    reconnects = 0

    def finished_run() -> None:
        # Once every numbered event is published, let the run finish: its terminal event
        # ends the run stream.
        if produced.wait(deadline - time.monotonic()):
            setup_client.signal_run(run_id, "go", {"ok": True})

    with ResettingProxy(("127.0.0.1", _port(local)), _cutter(seed)) as proxy:
        op, args = (ops.STREAM_RUN_EVENTS, {"run_id": run_id}) if scope == "run" else (ops.STREAM_EVENTS, {})
        finisher = threading.Thread(target=finished_run, daemon=True) if scope == "run" else None
        producer.start()
        if finisher is not None:
            finisher.start()
        if flavour == "sync":
            with FabricClient(base_url=proxy.base_url, api_key=local.api_key) as client:
                stream = EventStream(client._transport, client._prepare(op, args), deadline=deadline)
                with stream:
                    for event in stream:
                        got.append(event)
                        if scope == "global" and event.get("data", {}).get("reliability_seq") == total - 1:
                            break
                reconnects = stream.reconnects
        else:

            async def consume() -> int:
                async with AsyncFabricClient(base_url=proxy.base_url, api_key=local.api_key) as client:
                    stream = AsyncEventStream(client._transport, client._prepare(op, args), deadline=deadline)
                    async with stream:
                        async for event in stream:
                            got.append(event)
                            if (
                                scope == "global"
                                and event.get("data", {}).get("reliability_seq") == total - 1
                            ):
                                break
                    return stream.reconnects

            reconnects = asyncio.run(consume())
        producer.join(30)
        if finisher is not None:
            finisher.join(30)
        cuts, connections = proxy.cuts, proxy.connections
    setup_client.close()
    reference = _reference_run(local, run_id) if scope == "run" else _reference_global(local, total)
    if scope == "run":
        assert reference[-1].get("kind") == "workflow.run.completed"
    server_drops = drops - len(local.emulator.faults.describe()["stream_drops"])
    figures.faults = cuts + server_drops
    figures.retries = reconnects
    figures.note(
        f"{scope} stream, {flavour} client: {len(got)} events ({total} numbered ones published "
        f"while reading) over {connections} connections; the proxy reset {cuts} of them at random "
        f"byte offsets and the emulator dropped {server_drops} between events; the stream "
        f"reconnected {reconnects} times."
    )
    problems = _check(figures, got, reference, total)
    assert cuts >= size(3, 20), f"too few resets to mean anything: {cuts}"
    assert not problems, "\n".join(problems)


def _port(local: LocalFabric) -> int:
    return int(local.base_url.rsplit(":", 1)[1])
