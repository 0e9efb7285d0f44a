"""Wait latency: from a run's terminal event to ``wait_for_run`` returning, vs a polling loop.

The emulator (``LocalFabric``, in this process, 127.0.0.1) runs ``research/trends`` at high
speed (a run takes ~25–100 ms). A listener on the emulator's event bus records the
monotonic time each terminal event is published; the latency of a wait is the moment it
returns minus that time (same clock, same process).

* **SDK** — ``submit_run`` then ``wait_for_run(run_id)`` (default ``poll_interval=1.0``): it
  reads the run, watches its event stream, re-reads it after the terminal event. Waits run
  one after another.
* **polling** — ``submit_run`` then ``get_run`` every second until terminal (what a
  1-second polling loop gives). These waits run in parallel threads, one per run (they
  spend their time sleeping), so a round costs about a second.

Rounds interleave the two. Requests per wait are counted by the emulator (``stats()``).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List

from _common import Row, Summary, command, interleave, log, percentile

from fabric_platform.testing import LocalFabric

TERMINAL_KINDS = {"workflow.run.completed", "workflow.run.failed", "workflow.run.cancelled"}
TERMINAL_STATUSES = {"completed", "failed", "cancelled"}
SPEED = 20.0


class Recorder:
    def __init__(self) -> None:
        self.terminal_at: Dict[str, float] = {}

    def __call__(self, event: Dict[str, Any]) -> None:  # runs on the emulator's loop
        if event.get("kind") in TERMINAL_KINDS and event.get("run_id"):
            self.terminal_at[event["run_id"]] = time.monotonic()

    def latency_ms(self, run_id: str, returned_at: float) -> float:
        deadline = time.monotonic() + 5.0
        while run_id not in self.terminal_at:  # cannot happen after a terminal read; be safe
            if time.monotonic() > deadline:
                raise AssertionError(f"no terminal event recorded for {run_id}")
            time.sleep(0.001)
        return (returned_at - self.terminal_at[run_id]) * 1000.0


def run(smoke: bool) -> List[Row]:
    rounds, per_round = (1, 3) if smoke else (20, 10)
    total = rounds * per_round
    log(f"wait: {rounds} rounds × {per_round} runs each way (emulator speed {SPEED:g})")
    sdk_ms: List[float] = []
    poll_ms: List[float] = []
    sdk_requests: List[float] = []
    poll_requests: List[float] = []
    already_terminal = 0
    with LocalFabric(speed=SPEED) as local:
        recorder = Recorder()
        local.emulator.events.subscribe(recorder)
        client = local.client()
        workflow_input = {"topic": "latency"}

        def sdk_round() -> float:
            nonlocal already_terminal
            for _ in range(per_round):
                run = client.submit_run("research/trends", input=workflow_input)
                local.reset_stats()
                done = client.wait_for_run(run["id"])
                returned = time.monotonic()
                assert done["status"] in TERMINAL_STATUSES
                sdk_requests.append(sum(local.stats().values()))
                if len(sdk_requests) and sdk_requests[-1] <= 1:
                    already_terminal += 1
                sdk_ms.append(recorder.latency_ms(run["id"], returned))
            return 0.0

        def poll_one(results: List[float], counts: List[float]) -> None:
            run = client.submit_run("research/trends", input=workflow_input)
            requests = 0
            while True:
                current = client.get_run(run["id"])
                requests += 1
                if current["status"] in TERMINAL_STATUSES:
                    break
                time.sleep(1.0)
            returned = time.monotonic()
            results.append(recorder.latency_ms(run["id"], returned))
            counts.append(requests)

        def poll_round() -> float:
            results: List[float] = []
            counts: List[float] = []
            threads = [
                threading.Thread(target=poll_one, args=(results, counts), daemon=True)
                for _ in range(per_round)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            if len(results) != per_round:
                raise AssertionError("a polling wait did not finish")
            poll_ms.extend(results)
            poll_requests.extend(counts)
            return 0.0

        client.wait_for_run(client.submit_run("research/trends", input=workflow_input)["id"])  # warm up
        interleave(
            rounds,
            {"sdk": sdk_round, "polling": poll_round},
            on_round=lambda i, _v: log(
                f"  round {i + 1}/{rounds}: sdk p50 {percentile(sdk_ms, 50):.1f} ms, "
                f"polling p50 {percentile(poll_ms, 50):.0f} ms"
            ),
        )
        client.close()

    p50, p99 = percentile(sdk_ms, 50), percentile(sdk_ms, 99)
    b50, b99 = percentile(poll_ms, 50), percentile(poll_ms, 99)
    reqs = Summary.of(sdk_requests)
    breqs = Summary.of(poll_requests)
    met = None if smoke else (p50 <= 20.0 and p99 <= 100.0)
    return [
        Row(
            name=f"wait latency: terminal event → `wait_for_run` returns ({total} runs, emulator speed {SPEED:g})",
            sdk=f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (min {min(sdk_ms):.1f}, max {max(sdk_ms):.1f}); "
            f"{reqs.median:.0f} requests/wait ({reqs.low:.0f}–{reqs.high:.0f})",
            baseline=f"1 s polling loop: p50 {b50:.0f} ms, p99 {b99:.0f} ms; "
            f"{breqs.median:.0f} requests/wait ({breqs.low:.0f}–{breqs.high:.0f})",
            result=f"p50 {p50:.1f} ms, p99 {p99:.1f} ms ({b50 / max(p50, 0.001):.0f}× sooner than polling at p50)",
            target="p50 ≤ 20 ms, p99 ≤ 100 ms",
            met=met,
            command=command("wait", smoke),
            notes=[
                "requests per wait counted by the emulator: GET run, the event stream, GET run again; "
                f"{already_terminal} of {total} SDK waits found the run already terminal at the first read"
            ],
        )
    ]
