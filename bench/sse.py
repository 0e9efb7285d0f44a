"""SSE decode throughput: the SDK's event stream vs raw line splitting vs httpx-sse.

The canned server (another process) streams ``retry:`` and N events of ~200 B JSON in the
emulator's wire format (``id:``, ``event:``, ``data:``), the last one terminal, in 64 KiB
chunks. Each contender reads the whole stream and decodes every event's JSON:

* **SDK** — ``FabricClient.stream_run_events(run_id)``, reading ``event.json`` of each event
  (its JSON is otherwise parsed lazily; this forces the work the baselines do);
* **raw** — ``httpx.stream`` + ``iter_lines()`` + ``json.loads`` of each ``data:`` line (no
  SSE semantics at all: no ids, no multi-line data, no CR handling);
* **httpx-sse** — ``EventSource(response).iter_sse()`` + ``json.loads(sse.data)``.

Throughput is events per second of *client CPU* (``time.process_time``: the server runs in
another process and the machine is shared), in interleaved rounds; ratios are per round.
The SDK also runs without orjson (in a child process that blocks it) for reference.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Callable, Dict, List

import httpx
from _common import ROOT, Row, Summary, command, cpu_time, interleave, log, python, ratios
from _servers import canned_server
from httpx_sse import EventSource

from fabric_platform import FabricClient

API_KEY = "fab_test_bench0000000000000000"


def sdk_reader(base: str, count: int) -> Callable[[], int]:
    client = FabricClient(base_url=base, api_key=API_KEY)

    def read() -> int:
        n = 0
        with client.stream_run_events(f"sse-{count}") as stream:
            for event in stream:
                event.json  # noqa: B018 - decode, as the baselines do
                n += 1
        return n

    return read


def raw_reader(base: str, count: int) -> Callable[[], int]:
    client = httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60.0)
    url = f"{base}/v1/workflow-runs/sse-{count}/events"
    loads = json.loads

    def read() -> int:
        n = 0
        with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    loads(line[5:])
                    n += 1
        return n

    return read


def httpx_sse_reader(base: str, count: int) -> Callable[[], int]:
    client = httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60.0)
    url = f"{base}/v1/workflow-runs/sse-{count}/events"
    loads = json.loads

    def read() -> int:
        n = 0
        with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as response:
            for sse in EventSource(response).iter_sse():
                if sse.data:  # httpx-sse dispatches the data-less `retry:` block as an event
                    loads(sse.data)
                    n += 1
        return n

    return read


def _rate(read: Callable[[], int], count: int) -> Callable[[], float]:
    def measure() -> float:
        start = cpu_time()
        n = read()
        spent = cpu_time() - start
        if n != count:
            raise AssertionError(f"read {n} events, expected {count}")
        return n / spent

    return measure


_NO_ORJSON = """
import sys, time
sys.modules["orjson"] = None  # as if the speedups extra were not installed
sys.path.insert(0, "bench")
from sse import sdk_reader
read = sdk_reader({base!r}, {count})
read()
rates = []
for _ in range({rounds}):
    t = time.process_time(); n = read(); rates.append(n / (time.process_time() - t))
print(" ".join(map(str, rates)))
"""


def run(smoke: bool) -> List[Row]:
    count, rounds = (2_000, 2) if smoke else (100_000, 9)
    log(f"sse: {count} events per stream, {rounds} interleaved rounds")
    with canned_server() as (base, _pid):
        readers: Dict[str, Callable[[], int]] = {
            "sdk": sdk_reader(base, count),
            "raw": raw_reader(base, count),
            "httpx-sse": httpx_sse_reader(base, count),
        }
        for read in readers.values():  # warm up (connections, caches)
            read()

        def progress(i: int, values: Dict[str, float]) -> None:
            log(f"  round {i + 1}/{rounds}: " + ", ".join(f"{k} {v:,.0f}/s" for k, v in values.items()))

        res = interleave(rounds, {k: _rate(v, count) for k, v in readers.items()}, on_round=progress)
        no_orjson: List[float] = []
        if not smoke:
            log("sse: SDK without orjson (child process)")
            out = subprocess.run(
                [python(), "-c", _NO_ORJSON.format(base=base, count=count, rounds=max(3, rounds // 2))],
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=600,
                env={
                    **os.environ,
                    "PYTHONPATH": os.pathsep.join(["bench", os.environ.get("PYTHONPATH", "")]),
                },
                check=True,
            )
            no_orjson = [float(x) for x in out.stdout.split()]

    vs_raw = Summary.of(ratios(res["sdk"], res["raw"]))
    vs_sse = Summary.of(ratios(res["sdk"], res["httpx-sse"]))
    notes = [
        "events/s of client CPU; the SDK figure forces `event.json` on every event "
        "(JSON is parsed with orjson when the `speedups` extra is installed)",
    ]
    if no_orjson:
        notes.append(
            f"SDK without orjson (separate process, not interleaved): "
            f"{Summary.of(no_orjson).fmt(',.0f', 'events/s')}"
        )
    return [
        Row(
            name=f"SSE decode vs raw `iter_lines` + `json.loads` ({count:,} events of ~200 B, {rounds} rounds)",
            sdk=Summary.of(res["sdk"]).fmt(",.0f", "ev/s"),
            baseline=Summary.of(res["raw"]).fmt(",.0f", "ev/s"),
            result=f"{vs_raw.fmt('.2f', '×')} raw",
            target="≥ 0.95× raw",
            met=None if smoke else vs_raw.median >= 0.95,
            command=command("sse", smoke),
            notes=notes,
        ),
        Row(
            name="SSE decode vs httpx-sse + `json.loads` (same runs)",
            sdk=Summary.of(res["sdk"]).fmt(",.0f", "ev/s"),
            baseline=Summary.of(res["httpx-sse"]).fmt(",.0f", "ev/s"),
            result=f"{vs_sse.fmt('.2f', '×')} httpx-sse",
            target="≥ 1.4× httpx-sse",
            met=None if smoke else vs_sse.median >= 1.4,
            command=command("sse", smoke),
        ),
    ]
