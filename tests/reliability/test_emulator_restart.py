"""Scenario 5: the emulator (file database) is killed and restarted while ``wait_for_run`` and
an event stream are running → both complete after the restart; nothing is lost.

The emulator runs as the standalone ``fabric-platform emulator`` command in a subprocess and
is stopped with SIGKILL: no shutdown hook runs, the SQLite WAL stays as the crash left it,
every open connection is reset. A new process is started on the same database file and the
same port (clients keep their base URL, as they would behind a restarted service).

Per cycle: a run whose single node takes a few seconds; one thread in ``wait_for_run``, one
reading the run's event stream; the kill comes once the stream has seen the run start.
Checked afterwards: ``wait_for_run`` returned the completed run, the stream ended with the
terminal event and equals the server's log exactly (nothing lost, nothing twice), and what
was written before the kill (a job, a team, the earlier runs) is all still there.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest
from fabric_platform_api import operations as ops

from fabric_platform import FabricClient
from fabric_platform._sync.streams import EventStream

from ._support import EmulatorProcess, Figures, free_port, size

SPEED = 4.0
NODE_SECONDS = 10.0  # 2.5 s of real time at speed 4: the kill lands while the node works


def _client(proc: EmulatorProcess, api_key: str) -> FabricClient:
    return FabricClient(base_url=proc.base_url, api_key=api_key, timeout=20, max_retries=3)


def _wait(base_url: str, api_key: str, run_id: str, out: Dict[str, Any]) -> None:
    """wait_for_run in a thread; the result (or the exception) goes into ``out``."""
    try:
        with FabricClient(base_url=base_url, api_key=api_key, timeout=20, max_retries=3) as c:
            out["run"] = c.wait_for_run(run_id, timeout=60)
    except BaseException as exc:  # asserted by the test
        out["error"] = exc


def _stream(
    base_url: str,
    api_key: str,
    run_id: str,
    out: Dict[str, Any],
    streamed: List[Any],
    started: threading.Event,
) -> None:
    """Read the run's event stream to its end (bounded by a deadline) into ``streamed``."""
    try:
        with FabricClient(base_url=base_url, api_key=api_key, timeout=20, max_retries=3) as c:
            events = EventStream(
                c._transport,
                c._prepare(ops.STREAM_RUN_EVENTS, {"run_id": run_id}),
                deadline=time.monotonic() + 60,
            )
            with events:
                for event in events:
                    streamed.append(event)
                    if event.get("kind") == "workflow.run.started":
                        started.set()
            out["reconnects"] = events.reconnects
    except BaseException as exc:
        out["stream_error"] = exc


@pytest.mark.scenario("5. emulator killed (SIGKILL) and restarted mid-run")
@pytest.mark.timeout(size(90, 300))
def test_wait_for_run_and_stream_survive_a_kill(tmp_path: Path, figures: Figures) -> None:
    cycles = size(1, 3)
    db = str(tmp_path / "fabric.db")
    port = free_port()
    proc = EmulatorProcess(port=port, db=db, speed=SPEED).start()
    api_key = proc.seed["api_key"]
    problems: List[str] = []
    before: Dict[str, Any] = {}
    runs: List[str] = []
    total_events = 0
    try:
        with _client(proc, api_key) as setup:
            marker = uuid.uuid4().hex[:10]
            before["job"] = setup.create_job(modality="text", input={"prompt": marker})["id"]
            before["team"] = setup.create_team(proc.seed["organization_id"], f"t-{marker}", "Survivors")["id"]
            definition = setup.upsert_workflow(
                f"slow-{marker}", [{"key": "work", "type": "delay", "config": {"seconds": NODE_SECONDS}}]
            )
        for cycle in range(cycles):
            waited: Dict[str, Any] = {}
            streamed: List[Any] = []
            started = threading.Event()
            with _client(proc, api_key) as setup:
                run_id = setup.run_workflow(definition, {"cycle": cycle})
            runs.append(run_id)

            threads = [
                threading.Thread(target=_wait, args=(proc.base_url, api_key, run_id, waited)),
                threading.Thread(
                    target=_stream, args=(proc.base_url, api_key, run_id, waited, streamed, started)
                ),
            ]
            for t in threads:
                t.start()
            assert started.wait(20), "the run never started"
            seen_before_kill = len(streamed)
            proc.kill()
            figures.faults += 1
            proc = EmulatorProcess(port=port, db=db, speed=SPEED).start()
            for t in threads:
                t.join(70)
                assert not t.is_alive(), "wait_for_run or the stream did not finish after the restart"
            figures.calls += 2
            figures.retries = (figures.retries or 0) + int(waited.get("reconnects", 0))
            if "error" in waited or "stream_error" in waited:
                problems.append(f"cycle {cycle}: {waited.get('error')!r} {waited.get('stream_error')!r}")
                continue
            if waited["run"]["status"] != "completed":
                problems.append(f"cycle {cycle}: wait_for_run returned {waited['run']['status']}")
            with _client(proc, api_key) as direct:
                reference = list(direct.stream_run_events(run_id))
            got = [(e.id, e.event, e.data) for e in streamed]
            want = [(e.id, e.event, e.data) for e in reference]
            ids = [e.id for e in streamed]
            figures.duplicates = (figures.duplicates or 0) + len(ids) - len(set(ids))
            figures.lost = (figures.lost or 0) + len(set(want) - set(got))
            total_events += len(got)
            if got != want:
                problems.append(f"cycle {cycle}: streamed {len(got)} events, the log has {len(want)}")
            if not streamed or streamed[-1].get("kind") != "workflow.run.completed":
                problems.append(f"cycle {cycle}: the stream did not end with the terminal event")
            if seen_before_kill >= len(streamed):
                problems.append(f"cycle {cycle}: nothing arrived after the restart")
        with _client(proc, api_key) as after:
            assert after.get_job(before["job"])["input"]["prompt"] == marker
            assert after.get_team(before["team"])["name"] == "Survivors"
            for run_id in runs:
                assert after.get_run(run_id)["status"] == "completed"
            mine = [r for r in after.iter_runs(limit=100) if r.get("workflow_definition_id") == definition]
            if sorted(r["id"] for r in mine) != sorted(runs):
                problems.append(f"{len(runs)} runs submitted, {len(mine)} exist")
    finally:
        proc.kill()
    figures.note(
        f"{cycles} kill/restart cycle(s) of a standalone emulator (SIGKILL, file database, same port) "
        f"while wait_for_run and a run stream were open; {total_events} streamed events checked "
        "against the server's log; the job, team and earlier runs written before each kill were found after it."
    )
    assert not problems, "\n".join(problems)
