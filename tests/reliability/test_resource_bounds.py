"""Scenario 7: many clients and streams opened and closed → open connections and traced memory
stay bounded, no ResourceWarning.

The emulator runs in a subprocess, so this process's sockets and tracemalloc figures are the
SDK's alone. After a warm-up (imports, caches), tracing starts and the process:

* creates clients, makes calls on each and closes them — sync clients with ``with``, async
  clients with ``async with``, and every tenth sync client is simply dropped without
  ``close()`` (the SDK's finalizer must release its pool);
* opens streams: a run's stream read to its end, and the global stream closed after its
  first event (the connection must go back to the pool or be closed, not leak).

Open sockets and traced memory are sampled throughout; at the end, after a garbage
collection, both must be back near where they started, and no ResourceWarning may have been
emitted.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
import warnings
from typing import Iterator, List

import pytest

from fabric_platform import AsyncFabricClient, FabricClient

from ._support import EmulatorProcess, Figures, free_port, open_sockets, size

CALLS_PER_CLIENT = 25
# One client at a time makes sequential calls here: it needs one connection (a stream being
# replaced may briefly hold a second); a leak of the abandoned streams' connections shows up
# as dozens.
SOCKET_SLACK = 10
FINAL_SOCKET_SLACK = 2
MEMORY_PEAK_LIMIT = 16 * 1024 * 1024
MEMORY_END_LIMIT = 3 * 1024 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(port=free_port(), speed=100.0) as proc:
        yield proc


@pytest.mark.scenario("7. many clients and streams opened and closed")
@pytest.mark.timeout(size(120, 600))
def test_clients_and_streams_do_not_leak(server: EmulatorProcess, figures: Figures) -> None:
    total_calls, total_streams = size(500, 10_000), size(60, 1_000)
    key = server.seed["api_key"]
    url = server.base_url
    with FabricClient(base_url=url, api_key=key) as warm:
        run = warm.submit_run("research/trends", input={"topic": "leaks"})
        run = warm.wait_for_run(run["id"], timeout=60)
        assert run["status"] == "completed"
        assert list(warm.stream_run_events(run["id"]))
        warm.get_me()

    async def warm_async() -> None:
        async with AsyncFabricClient(base_url=url, api_key=key) as c:
            await c.get_me()

    asyncio.run(warm_async())
    gc.collect()
    sockets_base = open_sockets()
    peak_sockets = sockets_base
    samples: List[int] = []
    calls = streams = dropped = 0

    def sample() -> None:
        nonlocal peak_sockets
        peak_sockets = max(peak_sockets, open_sockets())
        samples.append(tracemalloc.get_traced_memory()[0] - mem_base)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        tracemalloc.start()
        mem_base = tracemalloc.get_traced_memory()[0]
        try:
            clients = total_calls // CALLS_PER_CLIENT
            for i in range(clients):
                if i % 4 == 3:

                    async def one_async() -> None:
                        async with AsyncFabricClient(base_url=url, api_key=key) as c:
                            for _ in range(CALLS_PER_CLIENT):
                                await c.get_me()
                            sample()  # while the client and its pool are open

                    asyncio.run(one_async())
                elif i % 10 == 9:
                    c = FabricClient(base_url=url, api_key=key)
                    for _ in range(CALLS_PER_CLIENT):
                        c.get_me()
                    sample()
                    del c  # dropped without close(): the finalizer closes the pool
                    dropped += 1
                else:
                    with FabricClient(base_url=url, api_key=key) as c:
                        for _ in range(CALLS_PER_CLIENT):
                            c.get_me()
                        sample()
                calls += CALLS_PER_CLIENT
            with FabricClient(base_url=url, api_key=key) as shared:
                for i in range(total_streams):
                    if i % 2 == 0:
                        events = list(shared.stream_run_events(run["id"]))
                        assert events[-1].get("kind") == "workflow.run.completed"
                    else:
                        stream = shared.stream_events()
                        next(stream)
                        if i % 10 == 1:
                            sample()  # with the stream open
                        stream.close()  # abandoned after one event
                    streams += 1
            # And streams on short-lived clients, closed early.
            for _ in range(total_streams // 10):
                with FabricClient(base_url=url, api_key=key) as c, c.stream_run_events(run["id"]) as s:
                    next(s)
                streams += 1
            sample()
            gc.collect()
            end_growth = tracemalloc.get_traced_memory()[0] - mem_base
            peak_growth = tracemalloc.get_traced_memory()[1] - mem_base
        finally:
            tracemalloc.stop()
        sockets_end = open_sockets()
    resource_warnings = [w for w in caught if issubclass(w.category, ResourceWarning)]
    figures.calls = calls + streams
    figures.faults = 0
    figures.memory_growth = peak_growth
    figures.note(
        f"{calls} calls on {calls // CALLS_PER_CLIENT} clients (a quarter async, {dropped} sync ones "
        f"dropped without close()), then {streams} streams (half read to the end, half closed after "
        f"one event); open sockets: {sockets_base} before, at most {peak_sockets} during, "
        f"{sockets_end} after; traced memory: peak +{peak_growth / 1024:.0f} KiB, "
        f"+{end_growth / 1024:.0f} KiB at the end; {len(resource_warnings)} ResourceWarnings."
    )
    assert resource_warnings == [], [str(w.message) for w in resource_warnings[:3]]
    assert peak_sockets <= sockets_base + SOCKET_SLACK, (sockets_base, peak_sockets)
    assert sockets_end <= sockets_base + FINAL_SOCKET_SLACK, (sockets_base, sockets_end)
    assert peak_growth < MEMORY_PEAK_LIMIT, f"traced memory grew by {peak_growth} bytes"
    assert end_growth < MEMORY_END_LIMIT, f"{end_growth} bytes still allocated after closing everything"
