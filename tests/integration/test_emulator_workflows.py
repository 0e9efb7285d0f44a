"""Workflow definitions and their runs over HTTP: upsert/version, the node engine, run control."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List, Optional

import httpx
from conftest import Account, data, error, read_sse, unique, wait_until

from fabric_platform.testing import LocalFabric

TERMINAL = ("completed", "failed", "cancelled")


def upsert(
    client: httpx.Client, org_id: str, name: str, nodes: List[Dict[str, Any]], **extra: Any
) -> Dict[str, Any]:
    return data(
        client.post(
            "/v1/workflow-definitions",
            json={"name": name, "organization_id": org_id, "nodes": nodes, **extra},
        )
    )


def run_definition(client: httpx.Client, definition_id: str, context: Optional[Dict[str, Any]] = None) -> str:
    run = data(
        client.post(
            "/v1/workflow-runs", json={"workflow_definition_id": definition_id, "context": context or {}}
        )
    )
    assert run["status"] == "pending" and run["workflow_definition_id"] == definition_id
    started = data(client.post(f"/v1/workflow-runs/{run['id']}/start", json={"priority": 5}), 202)
    assert started["id"] == run["id"] and started["priority"] == 5
    return str(run["id"])


def wait_for(client: httpx.Client, run_id: str, statuses: tuple = TERMINAL) -> Dict[str, Any]:
    def check() -> Optional[Dict[str, Any]]:
        run = data(client.get(f"/v1/workflow-runs/{run_id}"))
        return run if run["status"] in statuses else None

    return wait_until(check, what=f"run {run_id} to reach {statuses}")


def test_upsert_same_name_bumps_version_and_keeps_id(make_user) -> None:
    me: Account = make_user()
    first = upsert(
        me.client,
        me.org_id,
        "pipeline",
        [{"type": "ai_generate", "config": {"prompt": "hi"}}],
        defaults={"timeout": 300},
    )
    assert first["version"] == 1 and first["organization_id"] == me.org_id
    assert first["nodes"][0]["key"] == "ai_generate_1" and first["defaults"] == {"timeout": 300}
    second = upsert(me.client, me.org_id, "pipeline", [{"key": "a", "type": "transform"}])
    assert second["id"] == first["id"] and second["version"] == 2
    assert second["nodes"] == [{"key": "a", "type": "transform", "config": {}}]
    other = upsert(me.client, me.org_id, "other", [])
    assert other["id"] != first["id"]
    listed = data(me.client.get("/v1/workflow-definitions", params={"organization_id": me.org_id}))
    assert [d["name"] for d in listed] == ["pipeline", "other"]
    assert data(me.client.get(f"/v1/workflow-definitions/{first['id']}"))["version"] == 2


def test_definitions_are_private_to_their_org(make_user) -> None:
    me, stranger = make_user(), make_user()
    d = upsert(me.client, me.org_id, "mine", [{"type": "transform"}])
    error(stranger.client.get(f"/v1/workflow-definitions/{d['id']}"), 404, "not_found")
    error(
        stranger.client.post("/v1/workflow-runs", json={"workflow_definition_id": d["id"], "context": {}}),
        404,
    )
    run_id = run_definition(me.client, d["id"])
    error(stranger.client.get(f"/v1/workflow-runs/{run_id}"), 404, "not_found")
    error(stranger.client.post(f"/v1/workflow-runs/{run_id}/cancel", json={}), 404)


def test_invalid_nodes_are_400_with_paths(owner: httpx.Client, fabric: LocalFabric) -> None:
    bad = owner.post(
        "/v1/workflow-definitions",
        json={
            "name": unique("bad"),
            "organization_id": fabric.organization_id,
            "nodes": [{"type": "teleport"}, {"type": "delay", "config": {"seconds": "soon"}}],
        },
    )
    err = error(bad, 400, "validation_error")
    assert [e["path"] for e in err["details"]["errors"]] == ["nodes.0.type", "nodes.1.config.seconds"]
    error(owner.post("/v1/workflow-definitions", json={"name": "", "nodes": []}), 400, "validation_error")


def test_approval_node_waits_until_resume_node(owner: httpx.Client, fabric: LocalFabric) -> None:
    d = upsert(
        owner,
        fabric.organization_id,
        unique("approve"),
        [
            {
                "key": "draft",
                "type": "ai_generate",
                "config": {"prompt": "Write about {topic}", "model": "gpt-4o"},
            },
            {"key": "approval_step", "type": "approval"},
            {"key": "publish", "type": "transform", "config": {"set": {"published": True}}},
        ],
    )
    run_id = run_definition(owner, d["id"], {"topic": "AI agents"})
    waiting = wait_for(owner, run_id, ("waiting",))
    assert waiting["progress"]["current_task"] == "approval_step"
    assert waiting["id"] in [r["id"] for r in data(owner.get("/v1/workflows/runs/waiting"))]
    # Only the waiting node can be resumed.
    err = error(owner.post(f"/v1/workflow-runs/{run_id}/nodes/draft/resume", json={}), 409, "conflict")
    assert "not waiting" in err["message"]
    error(owner.post(f"/v1/workflow-runs/{run_id}/nodes/nope/resume", json={}), 404, "not_found")
    resumed = data(
        owner.post(f"/v1/workflow-runs/{run_id}/nodes/approval_step/resume", json={"approved": True})
    )
    assert resumed["status"] == "running"
    done = wait_for(owner, run_id)
    assert done["status"] == "completed"
    assert done["output"]["approval_step"] == {"approved": True}
    assert done["output"]["publish"]["published"] is True
    assert "AI agents" in done["output"]["draft"]["text"]
    assert done["progress"] == {
        "total_tasks": 3,
        "completed_tasks": 3,
        "current_task": None,
        "percentage": 100.0,
    }
    error(owner.post(f"/v1/workflow-runs/{run_id}/nodes/approval_step/resume", json={}), 409, "conflict")
    log = data(owner.get(f"/v1/workflow-runs/{run_id}/log"))
    assert log["run_id"] == run_id
    assert {"timestamp", "level", "node_key", "message"} <= set(log["entries"][0])
    assert "approval_step" in [e["node_key"] for e in log["entries"]]
    costs = data(owner.get(f"/v1/workflows/runs/{run_id}/costs"))
    assert costs["per_node"]["draft"] > 0 and costs["total_usd"] == costs["per_node"]["draft"]
    # The node events went out on the run's stream, which ended after the terminal event.
    with owner.stream("GET", f"/v1/workflow-runs/{run_id}/events") as stream:
        kinds = [f["event"] for f in read_sse(stream) if f.get("event")]
    assert kinds[0] == "workflow.run.created" and kinds[-1] == "workflow.run.completed"
    assert "workflow.node.waiting" in kinds and "workflow.run.resumed" in kinds


def test_fail_node_fails_the_run(owner: httpx.Client, fabric: LocalFabric) -> None:
    d = upsert(
        owner,
        fabric.organization_id,
        unique("fail"),
        [
            {"key": "ok", "type": "transform"},
            {"key": "boom", "type": "fail", "config": {"message": "quota exceeded"}},
            {"key": "never", "type": "transform"},
        ],
    )
    run = wait_for(owner, run_definition(owner, d["id"]))
    assert run["status"] == "failed" and run["error"] == "node boom: quota exceeded"
    assert run["progress"]["completed_tasks"] == 1
    output = data(owner.get(f"/v1/workflows/runs/{run['id']}/output"))
    assert output["status"] == "failed" and output["variants"] == 1
    assert {n["key"]: n["status"] for n in output["nodes"]} == {
        "ok": "completed",
        "boom": "failed",
        "never": "pending",
    }


def test_subworkflow_spawns_a_listed_child(owner: httpx.Client, fabric: LocalFabric) -> None:
    child_name = unique("child")
    upsert(
        owner,
        fabric.organization_id,
        child_name,
        [{"key": "c", "type": "transform", "config": {"set": {"child": 1}}}],
    )
    parent = upsert(
        owner,
        fabric.organization_id,
        unique("parent"),
        [
            {
                "key": "sub",
                "type": "subworkflow",
                "config": {"workflow": child_name, "context": {"topic": "kids"}},
            },
            {
                "key": "named",
                "type": "subworkflow",
                "config": {"workflow": "research/trends", "context": {"topic": "AI"}},
            },
        ],
    )
    run_id = run_definition(owner, parent["id"])
    done = wait_for(owner, run_id)
    assert done["status"] == "completed", done
    children = data(owner.get(f"/v1/workflow-runs/{run_id}/children"))
    assert len(children) == 2
    assert all(c["parent_run_id"] == run_id and c["status"] == "completed" for c in children)
    by_name = {c["workflow_name"]: c for c in children}
    assert by_name[child_name]["input"] == {"topic": "kids"}
    assert done["output"]["sub"]["output"]["c"] == {"topic": "kids", "child": 1}
    assert by_name["research/trends"]["output"] == done["output"]["named"]["output"]
    assert data(owner.get(f"/v1/workflow-runs/{children[0]['id']}/children")) == []


def test_cancel_with_reason_and_bulk_cancel(owner: httpx.Client, fabric: LocalFabric, make_user) -> None:
    d = upsert(owner, fabric.organization_id, unique("gate"), [{"key": "gate", "type": "approval"}])
    a, b, c = (run_definition(owner, d["id"]) for _ in range(3))
    wait_for(owner, a, ("waiting",))
    cancelled = data(owner.post(f"/v1/workflow-runs/{a}/cancel", json={"reason": "not needed"}))
    assert (
        cancelled["status"] == "cancelled"
        and cancelled["completed_at"]
        and cancelled["cancel_reason"] == "not needed"
    )
    error(owner.post(f"/v1/workflow-runs/{a}/cancel", json={}), 409, "conflict")
    error(owner.post(f"/v1/workflow-runs/{a}/nodes/gate/resume", json={}), 409, "conflict")

    stranger = make_user()
    theirs = upsert(stranger.client, stranger.org_id, "theirs", [{"key": "gate", "type": "approval"}])
    their_run = run_definition(stranger.client, theirs["id"])
    missing = str(uuid.uuid4())
    result = data(
        owner.post("/v1/workflow-runs/bulk-cancel", json={"run_ids": [b, c, a, missing, their_run, b]})
    )
    assert result["cancelled"] == [b, c]
    reasons = {item["id"]: item["reason"] for item in result["not_cancelled"]}
    assert reasons == {
        a: "already cancelled",
        missing: "not_found",
        their_run: "not_found",
    }
    assert data(owner.get(f"/v1/workflow-runs/{c}"))["status"] == "cancelled"
    assert data(stranger.client.get(f"/v1/workflow-runs/{their_run}"))["status"] != "cancelled"
    error(owner.post("/v1/workflow-runs/bulk-cancel", json={"run_ids": "nope"}), 400, "validation_error")
    junk = error(
        owner.post("/v1/workflow-runs/bulk-cancel", json={"run_ids": [b, "junk"]}), 400, "validation_error"
    )
    assert junk["details"]["errors"] == [{"path": "run_ids.1", "message": "not a UUID"}]


def test_start_twice_is_409_and_unknown_run_404(owner: httpx.Client, fabric: LocalFabric) -> None:
    d = upsert(owner, fabric.organization_id, unique("once"), [{"type": "transform"}])
    run_id = run_definition(owner, d["id"])
    error(owner.post(f"/v1/workflow-runs/{run_id}/start", json={}), 409, "conflict")
    error(owner.get(f"/v1/workflow-runs/{uuid.uuid4()}"), 404, "not_found")
    error(owner.get("/v1/workflow-runs/not-a-uuid"), 404, "not_found")


def test_node_catalogue(owner: httpx.Client) -> None:
    nodes = data(owner.get("/v1/nodes"))
    types = {n["type"] for n in nodes}
    assert {"ai_generate", "transform", "delay", "approval", "wait_for_input", "fail", "subworkflow"} <= types
    one = data(owner.get("/v1/nodes/delay"))
    assert one["type"] == "delay" and one["config_schema"]["properties"]["seconds"]["type"] == "number"
    error(owner.get("/v1/nodes/teleport"), 404, "not_found")


def test_seed_workflow_snippet_through_the_sdk(fabric: LocalFabric) -> None:
    """The seed's definition flow, run by the SDK in strict mode (responses checked against the spec)."""
    with fabric.client(strict=True) as client:
        wf_id = client.upsert_workflow(
            name=unique("my-pipeline"),
            nodes=[
                {"type": "ai_generate", "config": {"prompt": "Summarize {topic}"}},
                {"key": "approval_step", "type": "approval"},
            ],
            defaults={"timeout": 300},
        )
        assert client.get_workflow(wf_id)["version"] == 1 and wf_id in [
            w["id"] for w in client.list_workflows()
        ]
        run_id = client.run_workflow(wf_id, context={"topic": "AI agents"}, priority=5)
        wait_until(lambda: client.get_run(run_id)["status"] == "waiting", what="the approval node")
        client.resume_node(run_id, "approval_step", data={"approved": True})
        result = client.wait_for_run(run_id, poll_interval=0.02, timeout=10.0)
        assert result["status"] == "completed"
        assert client.run_log(run_id)["entries"] and client.list_children(run_id) == []
        assert client.get_cost_breakdown(run_id)["total_usd"] > 0
        assert client.get_node("approval")["type"] == "approval" and client.list_nodes()
        other = client.run_workflow(wf_id, context={"topic": "x"})
        assert client.bulk_cancel_runs([other])["cancelled"] == [other]
