"""The run engine in-process (no HTTP): state machine, waiting nodes, signals, restarts, limits.

Each test builds an Emulator on a fresh store, starts it on its own event loop and drives the
engine directly, so the semantics documented in ``_engine.py`` are checked without sockets.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional

import pytest

from fabric_platform.testing._engine.engine import DEFINITIONS, RUNS, USAGE
from fabric_platform.testing._engine.nodes import normalize_nodes
from fabric_platform.testing._infra.http import ApiError
from fabric_platform.testing._state import Config, Emulator

DEADLINE = 10.0


def run_async(
    fn: Callable[[Emulator], Awaitable[None]], *, db_path: Optional[str] = None, speed: float = 200.0
) -> None:
    async def main() -> None:
        emulator = Emulator(Config(db_path=db_path, speed=speed, password_hash_iterations=1000))
        try:
            await emulator.startup()
            await fn(emulator)
        finally:
            await emulator.shutdown()
            emulator.store.close()

    asyncio.run(main())


async def wait_status(emulator: Emulator, run_id: str, statuses: Iterable[str]) -> Dict[str, Any]:
    wanted = set(statuses)
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while True:
        run = emulator.engine.get(run_id)
        if run["status"] in wanted:
            return run
        if loop.time() > end:
            raise AssertionError(f"run stayed {run['status']}, wanted {wanted}")
        await asyncio.sleep(0.005)


def define(emulator: Emulator, name: str, nodes: List[Dict[str, Any]]) -> Dict[str, Any]:
    normalized, errors = normalize_nodes(nodes)
    assert errors == []
    now = emulator.clock.now_iso()
    doc = {
        "id": str(uuid.uuid4()),
        "organization_id": emulator.seed.organization_id,
        "name": name,
        "version": 1,
        "nodes": normalized,
        "defaults": None,
        "created_at": now,
        "updated_at": now,
    }
    emulator.store.insert(DEFINITIONS, doc)
    return doc


def start(emulator: Emulator, definition: Dict[str, Any], context: Optional[Dict[str, Any]] = None) -> str:
    run = emulator.engine.create_definition_run(
        definition, context=context or {}, created_by=emulator.seed.owner_id
    )
    emulator.engine.start_run(run["id"])
    return run["id"]


def kinds(emulator: Emulator, run_id: str, include_internal: bool = False) -> List[str]:
    return [
        e["kind"] for e in emulator.store.events_after(0, run_id=run_id, include_internal=include_internal)
    ]


def test_approval_waits_then_resume_node_completes():
    async def scenario(emu: Emulator) -> None:
        engine = emu.engine
        d = define(
            emu,
            "gate",
            [
                {"key": "draft", "type": "ai_generate", "config": {"prompt": "on {topic}"}},
                {"key": "ok", "type": "approval"},
                {"key": "after", "type": "transform"},
            ],
        )
        rid = start(emu, d, {"topic": "AI"})
        run = await wait_status(emu, rid, ["waiting"])
        assert run["progress"]["current_task"] == "ok" and run["progress"]["completed_tasks"] == 1
        with pytest.raises(ApiError) as nope:
            engine.resume_node(rid, "missing", {})
        assert nope.value.status == 404
        with pytest.raises(ApiError) as done:
            engine.resume_node(rid, "draft", {})
        assert done.value.status == 409 and done.value.code == "conflict"
        engine.resume_node(rid, "ok", {"approved": True, "note": "lgtm"})
        run = await wait_status(emu, rid, ["completed"])
        assert run["output"]["ok"] == {"approved": True, "note": "lgtm"}
        assert run["output"]["after"]["note"] == "lgtm"  # transform reads the previous node's output
        assert "AI" in run["output"]["draft"]["text"]
        with pytest.raises(ApiError) as late:
            engine.resume_node(rid, "ok", {})
        assert late.value.status == 409
        seen = kinds(emu, rid)
        for kind in (
            "workflow.run.created",
            "workflow.run.started",
            "workflow.node.waiting",
            "workflow.run.waiting",
            "workflow.run.resumed",
            "workflow.run.progress",
            "workflow.run.completed",
        ):
            assert kind in seen
        assert seen[-1] == "workflow.run.completed"
        usage = emu.store.find(USAGE, where={"run_id": rid})
        assert len(usage) == 1 and usage[0]["provider"] == "openai" and usage[0]["cost_usd"] > 0

    run_async(scenario)


def test_approve_rejected_fails_the_run():
    async def scenario(emu: Emulator) -> None:
        d = define(emu, "gate", [{"key": "ok", "type": "approval"}, {"type": "transform"}])
        rid = start(emu, d)
        await wait_status(emu, rid, ["waiting"])
        emu.engine.approve(rid, approved=False, reason="off-brand")
        run = await wait_status(emu, rid, ["failed"])
        assert "rejected: off-brand" in run["error"]
        with pytest.raises(ApiError) as exc:
            emu.engine.approve(rid)
        assert exc.value.status == 409

    run_async(scenario)


def test_signal_resumes_and_early_signals_are_kept():
    async def scenario(emu: Emulator) -> None:
        engine = emu.engine
        d = define(emu, "inbox", [{"key": "wait", "type": "wait_for_input", "config": {"signal": "go"}}])
        rid = start(emu, d)
        await wait_status(emu, rid, ["waiting"])
        engine.signal(rid, "other", {"x": 1})  # not what the node listens for
        assert engine.get(rid)["status"] == "waiting"
        engine.signal(rid, "go", {"x": 2})
        run = await wait_status(emu, rid, ["completed"])
        assert run["output"]["wait"] == {"x": 2}

        early = emu.engine.create_definition_run(d, context={})
        engine.signal(early["id"], "go", {"x": 3})  # arrives before the node runs
        engine.start_run(early["id"])
        run = await wait_status(emu, early["id"], ["completed"])
        assert run["output"]["wait"] == {"x": 3}
        assert "workflow.run.waiting" not in kinds(emu, early["id"])

    run_async(scenario)


def test_pause_and_resume():
    async def scenario(emu: Emulator) -> None:
        engine = emu.engine
        d = define(
            emu,
            "slow",
            [
                {"key": "nap", "type": "delay", "config": {"seconds": 600}},
                {"key": "end", "type": "transform"},
            ],
        )
        rid = start(emu, d)
        await wait_status(emu, rid, ["running"])
        with pytest.raises(ApiError):
            engine.resume(rid)  # not paused
        engine.pause(rid, "lunch")
        assert engine.get(rid)["status"] == "paused" and rid not in engine._tasks
        assert "workflow.run.paused" in kinds(emu, rid)
        with pytest.raises(ApiError) as twice:
            engine.pause(rid)
        assert twice.value.status == 409
        # Shorten the delay so the resumed run can finish: the node restarts on resume.
        run = engine.get(rid)
        run["_nodes"][0]["config"]["seconds"] = 0.01
        emu.store.put(RUNS, run)
        engine.resume(rid)
        run = await wait_status(emu, rid, ["completed"])
        assert run["started_at"] is not None

    run_async(scenario)


def test_pause_while_waiting_keeps_the_answer():
    async def scenario(emu: Emulator) -> None:
        engine = emu.engine
        d = define(emu, "gate", [{"key": "ok", "type": "approval"}])
        rid = start(emu, d)
        await wait_status(emu, rid, ["waiting"])
        engine.pause(rid)
        engine.resume_node(rid, "ok", {"approved": True})
        assert engine.get(rid)["status"] == "paused"
        engine.resume(rid)
        await wait_status(emu, rid, ["completed"])

    run_async(scenario)


def test_fail_node_and_recover():
    async def scenario(emu: Emulator) -> None:
        engine = emu.engine
        d = define(
            emu,
            "boom",
            [
                {"key": "ok", "type": "transform"},
                {"key": "bad", "type": "fail", "config": {"message": "kaput"}},
            ],
        )
        rid = start(emu, d)
        run = await wait_status(emu, rid, ["failed"])
        assert run["error"] == "node bad: kaput"
        assert [n["status"] for n in run["_nodes"]] == ["completed", "failed"]
        with pytest.raises(ApiError):
            engine.resume(rid)
        engine.recover(rid)
        run = await wait_status(emu, rid, ["failed"])  # deterministic: the fail node fails again
        assert any("recovered" in e["message"] for e in run["_log"])
        assert sum(1 for e in run["_log"] if e["node_key"] == "ok" and e["message"] == "node completed") == 1

    run_async(scenario)


def test_subworkflow_child_and_cancel_cascade():
    async def scenario(emu: Emulator) -> None:
        engine = emu.engine
        define(emu, "child", [{"key": "ok", "type": "approval"}])
        parent_def = define(
            emu, "parent", [{"key": "sub", "type": "subworkflow", "config": {"workflow": "child"}}]
        )
        rid = start(emu, parent_def, {"topic": "x"})
        loop = asyncio.get_running_loop()
        end = loop.time() + DEADLINE
        while not engine.children(rid):
            assert loop.time() < end, "child run never appeared"
            await asyncio.sleep(0.005)
        child = engine.children(rid)[0]
        assert child["parent_run_id"] == rid and child["input"] == {"topic": "x"}
        await wait_status(emu, child["id"], ["waiting"])
        assert engine.get(rid)["status"] == "running"  # the parent waits for its child
        engine.cancel(rid, "changed my mind")
        parent = engine.get(rid)
        assert parent["status"] == "cancelled" and parent["cancel_reason"] == "changed my mind"
        assert engine.get(child["id"])["status"] == "cancelled"
        with pytest.raises(ApiError) as again:
            engine.cancel(rid)
        assert again.value.status == 409

    run_async(scenario)


def test_subworkflow_waits_for_a_completed_child():
    async def scenario(emu: Emulator) -> None:
        define(emu, "child", [{"key": "t", "type": "transform", "config": {"set": {"from_child": True}}}])
        parent_def = define(
            emu, "parent", [{"key": "sub", "type": "subworkflow", "config": {"workflow": "child"}}]
        )
        rid = start(emu, parent_def)
        run = await wait_status(emu, rid, ["completed"])
        assert run["output"]["sub"]["output"]["t"] == {"from_child": True}

    run_async(scenario)


def test_self_recursion_is_bounded():
    async def scenario(emu: Emulator) -> None:
        d = define(emu, "loop", [{"key": "again", "type": "subworkflow", "config": {"workflow": "loop"}}])
        rid = start(emu, d)
        run = await wait_status(emu, rid, ["failed"])
        assert "nested deeper" in run["error"]

    run_async(scenario)


def test_bulk_cancel_reports_each_run():
    async def scenario(emu: Emulator) -> None:
        engine = emu.engine
        d = define(emu, "gate", [{"key": "ok", "type": "approval"}])
        a, b = start(emu, d), start(emu, d)
        done = start(emu, define(emu, "quick", [{"type": "transform"}]))
        await wait_status(emu, done, ["completed"])
        missing = str(uuid.uuid4())
        out = engine.bulk_cancel([a, b, done, missing], lambda run: True)
        assert out["cancelled"] == [a, b]
        assert {"id": done, "reason": "already completed"} in out["not_cancelled"]
        assert {"id": missing, "reason": "not_found"} in out["not_cancelled"]

    run_async(scenario)


def test_can_start_hook_keeps_runs_pending():
    async def scenario(emu: Emulator) -> None:
        engine = emu.engine
        engine.can_start = lambda org_id: False
        d = define(emu, "quick", [{"type": "transform"}])
        rid = start(emu, d)
        assert engine.get(rid)["status"] == "pending" and rid not in engine._tasks
        engine.can_start = lambda org_id: True
        engine._pump()
        await wait_status(emu, rid, ["completed"])

    run_async(scenario)


def test_start_twice_is_a_conflict():
    async def scenario(emu: Emulator) -> None:
        d = define(emu, "quick", [{"type": "transform"}])
        rid = start(emu, d)
        with pytest.raises(ApiError) as exc:
            emu.engine.start_run(rid)
        assert exc.value.status == 409

    run_async(scenario)


def test_in_flight_runs_finish_after_a_restart(tmp_path):
    db = str(tmp_path / "fabric.db")
    ids: Dict[str, str] = {}

    async def first(emu: Emulator) -> None:
        d = define(
            emu,
            "slow",
            [
                {"key": "a", "type": "transform"},
                {"key": "nap", "type": "delay", "config": {"seconds": 0.5}},
                {"key": "b", "type": "transform"},
            ],
        )
        ids["run"] = start(emu, d)
        loop = asyncio.get_running_loop()
        end = loop.time() + DEADLINE
        while emu.engine.get(ids["run"])["progress"]["completed_tasks"] < 1:
            assert loop.time() < end
            await asyncio.sleep(0.002)
        queued = emu.engine.create_definition_run(d, context={})
        emu.engine.can_start = lambda org_id: False
        emu.engine.start_run(queued["id"])  # start requested, not yet running
        ids["queued"] = queued["id"]
        # shutdown() (in run_async) stops the engine mid-delay.

    async def second(emu: Emulator) -> None:
        run = await wait_status(emu, ids["run"], ["completed"])
        assert any("restart" in e["message"] for e in run["_log"])
        assert sum(1 for e in run["_log"] if e["node_key"] == "a" and e["message"] == "node completed") == 1
        await wait_status(emu, ids["queued"], ["completed"])

    run_async(first, db_path=db, speed=1.0)
    run_async(second, db_path=db, speed=200.0)


def test_recover_retries_a_failed_child_as_a_new_run():
    async def scenario(emu: Emulator) -> None:
        engine = emu.engine
        define(emu, "flaky", [{"key": "boom", "type": "fail", "config": {"message": "nope"}}])
        parent_def = define(
            emu, "parent", [{"key": "sub", "type": "subworkflow", "config": {"workflow": "flaky"}}]
        )
        rid = start(emu, parent_def)
        run = await wait_status(emu, rid, ["failed"])
        assert "child run" in run["error"] and "nope" in run["error"]
        assert len(engine.children(rid)) == 1
        engine.recover(rid)
        await wait_status(emu, rid, ["failed"])
        children = engine.children(rid)
        assert len(children) == 2 and all(c["status"] == "failed" for c in children)

    run_async(scenario)
