"""Named workflow runs over HTTP: submit rules, variants, bundles, lineage, validation, output
and signed artifact downloads, run control, the registry, schemas, compose and estimates."""

from __future__ import annotations

import hashlib
import struct
import sys
import uuid
import zlib
from typing import Any, Dict, Iterator, Optional, Tuple
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from conftest import FAST, Account, client_for, data, error, read_sse, unique, wait_until

from fabric_platform.testing import LocalFabric
from fabric_platform.testing._catalogue.builtins import big_artifact

TERMINAL = ("completed", "failed", "cancelled")


def submit(
    client: httpx.Client,
    name: str,
    input: Optional[Dict[str, Any]] = None,
    *,
    org_id: Optional[str] = None,
    validate: bool = False,
    team_id: Optional[str] = None,
    **body: Any,
) -> httpx.Response:
    params: Dict[str, Any] = {"name": name}
    if org_id:
        params["organization_id"] = org_id
    if validate:
        params["validate"] = "true"
    if team_id:
        params["team_id"] = team_id
    return client.post(
        "/v1/workflows/run", params=params, json={"input": input if input is not None else {}, **body}
    )


def wait_run(client: httpx.Client, run_id: str, statuses: Tuple[str, ...] = TERMINAL) -> Dict[str, Any]:
    def check() -> Optional[Dict[str, Any]]:
        run = data(client.get(f"/v1/workflows/runs/{run_id}"))
        return run if run["status"] in statuses else None

    return wait_until(check, what=f"run {run_id} to reach {statuses}")


def run_to_end(client: httpx.Client, name: str, input: Dict[str, Any], **kw: Any) -> Dict[str, Any]:
    run = data(submit(client, name, input, **kw))
    assert run["status"] == "pending" and run["workflow_name"] == name
    done = wait_run(client, run["id"])
    assert done["status"] == "completed", done
    return done


def check_png(blob: bytes) -> Tuple[int, int]:
    """A structurally valid PNG: signature, CRC-checked chunks, IHDR first, IEND last, inflatable IDAT."""
    assert blob[:8] == b"\x89PNG\r\n\x1a\n", blob[:16]
    pos, chunks, idat = 8, [], b""
    while pos < len(blob):
        (length,) = struct.unpack(">I", blob[pos : pos + 4])
        kind, body = blob[pos + 4 : pos + 8], blob[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", blob[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"bad CRC in {kind!r}"
        chunks.append(kind)
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND" and b"IDAT" in chunks
    width, height = struct.unpack(">II", blob[16:24])
    assert width > 0 and height > 0
    assert len(zlib.decompress(idat)) >= height  # one filter byte per row at least
    return width, height


def _query(url: str) -> Dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {**_query(url), **changes}
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}"


# ---------------------------------------------------------------- submit and output
def test_single_run_progresses_and_reports_output(owner: httpx.Client, fabric: LocalFabric) -> None:
    done = run_to_end(
        owner, "research/trends", {"topic": "AI agents"}, metadata={"source": "test"}, priority=3
    )
    assert (
        done["progress"]["percentage"] == 100.0
        and done["progress"]["completed_tasks"] == done["progress"]["total_tasks"] > 0
    )
    assert done["started_at"] and done["completed_at"] >= done["started_at"]
    assert done["variants"] == 1 and done["metadata"] == {"source": "test"} and done["priority"] == 3
    assert done["output"]["topic"] == "AI agents" and isinstance(done["output"]["trends"], list)
    assert done["created_by"] == fabric.owner["id"] and done["organization_id"] == fabric.organization_id
    out = data(owner.get(f"/v1/workflows/runs/{done['id']}/output"))
    assert out["run_id"] == done["id"] and out["status"] == "completed" and out["error"] is None
    assert out["variants"] == 1 and len(out["outputs"]) == 1
    only = out["outputs"][0]
    assert only == {
        "variant_index": 0,
        "workflow_name": "research/trends",
        "kind": "text",
        "output": done["output"],
        "artifacts": [],
    }
    assert out["nodes"] and all(not n["key"].startswith("_") for n in out["nodes"])
    # Events: the public stream hides the shim nodes, include_internal shows them.
    with owner.stream("GET", f"/v1/workflow-runs/{done['id']}/events") as stream:
        public = [f for f in read_sse(stream) if f.get("event")]
    kinds = [f["event"] for f in public]
    assert (
        kinds[:2] == ["workflow.run.created", "workflow.run.started"]
        and kinds[-1] == "workflow.run.completed"
    )
    assert "workflow.run.progress" in kinds and "workflow.node.completed" in kinds
    with owner.stream(
        "GET", f"/v1/workflow-runs/{done['id']}/events", params={"include_internal": "true"}
    ) as stream:
        everything = [f for f in read_sse(stream) if f.get("event")]
    assert len(everything) > len(public)
    assert any('"_prepare_input"' in f["data"] for f in everything)
    assert not any("_prepare_input" in f["data"] for f in public)
    # Usage is metered per run.
    usage = fabric.emulator.store.find("usage_records", where={"run_id": done["id"]})
    assert (
        len(usage) == 1
        and usage[0]["model"] == "research/trends"
        and usage[0]["organization_id"] == fabric.organization_id
    )


def test_variants_give_exactly_that_many_outputs_with_pngs(owner: httpx.Client, fabric: LocalFabric) -> None:
    done = run_to_end(owner, "image/generate", {"topic": "AI trends", "num_thumbnails": 2, "variants": 3})
    assert done["variants"] == 3
    out = data(owner.get(f"/v1/workflows/runs/{done['id']}/output", params={"expires_in": 600}))
    assert out["variants"] == 3 and [o["variant_index"] for o in out["outputs"]] == [0, 1, 2]
    ids = set()
    for variant in out["outputs"]:
        assert variant["workflow_name"] == "image/generate" and variant["kind"] == "image"
        assert variant["output"]["overlay_text"] and variant["output"]["visual_prompt"]
        assert len(variant["artifacts"]) == 2
        for art in variant["artifacts"]:
            assert art["variant_index"] == variant["variant_index"] and art["run_id"] == done["id"]
            assert art["content_type"] == "image/png" and art["filename"].endswith(".png")
            assert art["download_url"].startswith(fabric.base_url + "/")
            assert art["download_url_expires_at"] > done["completed_at"]
            ids.add(art["id"])
            blob = httpx.get(art["download_url"])  # no credentials: the signature is the key
            assert blob.status_code == 200 and blob.headers["content-type"] == "image/png"
            assert int(blob.headers["content-length"]) == len(blob.content)
            assert art["filename"] in blob.headers["content-disposition"]
            check_png(blob.content)
    assert len(ids) == 6
    listed = data(owner.get(f"/v1/workflows/runs/{done['id']}/artifacts"))
    assert {a["id"] for a in listed} == ids and all(a["download_url"] for a in listed)
    assert len(fabric.emulator.store.find("usage_records", where={"run_id": done["id"]})) == 3


def test_bundle_gives_one_entry_per_workflow(owner: httpx.Client) -> None:
    bundle = [
        {"workflow": "video/ai_shorts", "input": {"topic": "AI trends"}},
        {"workflow": "image/generate-post", "input": {"topic": "AI trends", "slides": 6}},
        {"workflow": "content/threads-post", "input": {"topic": "AI trends"}},
    ]
    done = run_to_end(owner, "bundle/ad-hoc", {"bundle": bundle})
    assert done["variants"] == 3
    out = data(owner.get(f"/v1/workflows/runs/{done['id']}/output"))
    assert out["variants"] == 3
    assert [(o["variant_index"], o["workflow_name"], o["kind"]) for o in out["outputs"]] == [
        (0, "video/ai_shorts", "video"),
        (1, "image/generate-post", "carousel"),
        (2, "content/threads-post", "text"),
    ]
    video, carousel, text = out["outputs"]
    assert video["output"]["title"] and len(video["artifacts"]) == 1
    assert len(carousel["output"]["slides"]) == 6 and len(carousel["artifacts"]) == 6
    assert text["output"]["posts"] and text["artifacts"] == []
    check_png(httpx.get(carousel["artifacts"][0]["download_url"]).content)
    clip = httpx.get(video["artifacts"][0]["download_url"])
    assert clip.status_code == 200 and clip.headers["content-type"] == video["artifacts"][0]["content_type"]
    assert len(clip.content) > 0


def test_regenerate_persists_lineage_and_direction_changes_texts(owner: httpx.Client) -> None:
    base = {"topic": "AI trends", "hook": "Stop scrolling"}
    first = run_to_end(owner, "image/generate", base)
    regen = {
        "direction": "punchier",
        "keep": ["platform"],
        "parent_run_id": first["id"],
        "parent_variant_index": 0,
    }
    second = run_to_end(owner, "image/generate", {**base, "regenerate": regen})
    assert second["parent_run_id"] == first["id"] and second["parent_variant_index"] == 0
    assert second["output"]["overlay_text"] != first["output"]["overlay_text"]
    assert second["output"]["visual_prompt"] != first["output"]["visual_prompt"]
    again = run_to_end(owner, "image/generate", base)
    assert again["output"] == first["output"]  # deterministic: same input, same output
    bad = submit(owner, "image/generate", {**base, "regenerate": {"parent_run_id": "nope"}})
    assert error(bad, 400, "validation_error")["details"]["errors"][0]["path"] == "regenerate.parent_run_id"


def test_validate_true_reports_schema_errors(owner: httpx.Client) -> None:
    err = error(
        submit(owner, "research/trends", {"topic": 42}, validate=True), 400, "input_validation_failed"
    )
    paths = [e["path"] for e in err["details"]["errors"]]
    assert "topic" in paths and all(e["message"] for e in err["details"]["errors"])
    missing = error(submit(owner, "research/trends", {}, validate=True), 400, "input_validation_failed")
    assert "topic" in [e["path"] for e in missing["details"]["errors"]]
    # Bundle entries are validated too, with their position in the path.
    bundle = [
        {"workflow": "research/trends", "input": {"topic": "ok"}},
        {"workflow": "research/trends", "input": {}},
    ]
    nested = error(
        submit(owner, "bundle/ad-hoc", {"bundle": bundle}, validate=True), 400, "input_validation_failed"
    )
    assert [e["path"] for e in nested["details"]["errors"]] == ["bundle.1.input.topic"]
    # Untyped workflows accept anything; without validate=true a bad input fails the run instead.
    assert (
        data(submit(owner, "some/untyped-workflow", {"anything": [1, 2]}, validate=True))["status"]
        == "pending"
    )
    run = data(submit(owner, "research/trends", {"topic": 42}))
    failed = wait_run(owner, run["id"])
    assert failed["status"] == "failed" and "topic" in failed["error"]


@pytest.mark.parametrize(
    ("name", "input", "status", "path"),
    [
        ("research/trends", {"topic": "x", "variants": 0}, 400, "variants"),
        ("research/trends", {"topic": "x", "variants": 11}, 400, "variants"),
        ("research/trends", {"topic": "x", "variants": "3"}, 400, "variants"),
        ("research/trends", {"topic": "x", "variants": True}, 400, "variants"),
        (
            "bundle/ad-hoc",
            {"variants": 2, "bundle": [{"workflow": "research/trends", "input": {}}]},
            400,
            "variants",
        ),
        (
            "bundle/ad-hoc",
            {"bundle": [{"workflow": "research/trends", "input": {}}, {"workflow": "no/such", "input": {}}]},
            400,
            "bundle.1.workflow",
        ),
        ("bundle/ad-hoc", {"bundle": []}, 400, "bundle"),
        ("bundle/ad-hoc", {}, 400, "bundle"),
        ("research/trends", {"bundle": [{"workflow": "research/trends", "input": {}}]}, 400, "bundle"),
        ("no/such-workflow", {}, 404, None),
    ],
)
def test_server_rules(
    owner: httpx.Client, name: str, input: Dict[str, Any], status: int, path: Optional[str]
) -> None:
    err = error(submit(owner, name, input), status)
    if path is not None:
        assert err["code"] == "validation_error" and err["details"]["errors"][0]["path"] == path


def test_bad_submissions(owner: httpx.Client) -> None:
    error(owner.post("/v1/workflows/run", json={"input": {}}), 400, "validation_error")  # no name
    error(owner.post("/v1/workflows/run", params={"name": "research/trends"}, json={"input": [1]}), 400)
    error(owner.post("/v1/workflows/run", params={"name": "research/trends"}, content=b"{nope"), 400)
    error(submit(owner, "research/trends", {"topic": "x"}, team_id=str(uuid.uuid4())), 404, "not_found")
    error(owner.get(f"/v1/workflows/runs/{uuid.uuid4()}"), 404, "not_found")


# ---------------------------------------------------------------- signed downloads
def test_tampered_and_expired_download_urls_are_403(
    fresh_owner: httpx.Client, fresh_fabric: LocalFabric
) -> None:
    done = run_to_end(fresh_owner, "image/generate", {"topic": "AI"})
    out = data(fresh_owner.get(f"/v1/workflows/runs/{done['id']}/output", params={"expires_in": 60}))
    art = out["outputs"][0]["artifacts"][0]
    url = art["download_url"]
    assert httpx.get(url).status_code == 200
    signature = _query(url)["signature"]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    for bad in (
        _with_query(url, signature=flipped),
        _with_query(url, expires=str(int(_query(url)["expires"]) + 86400)),
        url.replace(art["id"], str(uuid.uuid4())),
        url.split("?")[0],
    ):
        error(httpx.get(bad), 403, "forbidden")
    error(fresh_owner.get(f"/v1/workflows/runs/{done['id']}/output", params={"expires_in": 0}), 400)
    error(fresh_owner.get(f"/v1/workflows/runs/{done['id']}/output", params={"expires_in": 86401}), 400)
    longer = data(fresh_owner.get(f"/v1/workflows/runs/{done['id']}/output", params={"expires_in": 86400}))
    long_url = longer["outputs"][0]["artifacts"][0]["download_url"]
    fresh_fabric.advance_time(61)
    err = error(httpx.get(url), 403, "forbidden")
    assert "expired" in err["message"]
    assert httpx.get(long_url).status_code == 200  # its own expiry is a day away


@pytest.mark.slow
def test_large_download_streams_with_flat_memory(owner: httpx.Client, fabric: LocalFabric) -> None:
    import resource  # POSIX only; imported here so the module still imports elsewhere

    done = run_to_end(owner, "research/trends", {"topic": "big"})
    art = data(
        owner.post(
            f"/v1/workflows/runs/{done['id']}/artifacts",
            json={"task_id": "render", "filename": "big render.mp4", "content_type": "video/mp4"},
        )
    )
    assert art["download_url"] is None  # recorded without bytes the emulator could serve
    engine = fabric.emulator.engine
    big = big_artifact(200 * 1024 * 1024, filename="big render.mp4")
    fabric._call(lambda: engine._remember_spec(art["id"], big))
    url = data(owner.get(f"/v1/workflows/runs/{done['id']}/artifacts"))[0]["download_url"]
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    total, digest = 0, hashlib.sha256()
    with httpx.stream("GET", url, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-length"] == str(big.size_bytes)
        assert "filename*=UTF-8''big%20render.mp4" in response.headers["content-disposition"]
        for chunk in response.iter_bytes():
            total += len(chunk)
            digest.update(chunk)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    assert total == big.size_bytes and digest.hexdigest() == big.sha256
    assert after - before < 64 * 1024 * 1024, f"peak memory grew by {(after - before) >> 20} MiB"


# ---------------------------------------------------------------- run control
@pytest.fixture()
def slow_fabric() -> Iterator[LocalFabric]:
    # Speed 1: a named run takes 0.5-2 s, long enough to pause or cancel it mid-way.
    with LocalFabric(**{**FAST, "speed": 1.0}) as server:
        yield server


def test_pause_resume_cancel_recover(slow_fabric: LocalFabric) -> None:
    with client_for(slow_fabric, slow_fabric.api_key) as client:
        run = data(submit(client, "video/ai_shorts", {"topic": "AI"}))
        paused = data(client.post(f"/v1/workflows/runs/{run['id']}/pause", json={"reason": "review"}))
        assert paused["status"] == "paused" and paused["pause_reason"] == "review"
        error(client.post(f"/v1/workflows/runs/{run['id']}/pause", json={}), 409, "conflict")
        resumed = data(client.post(f"/v1/workflows/runs/{run['id']}/resume", json={}))
        assert resumed["status"] in ("pending", "running")
        assert wait_run(client, run["id"])["status"] == "completed"
        error(client.post(f"/v1/workflows/runs/{run['id']}/resume", json={}), 409, "conflict")
        error(client.post(f"/v1/workflows/runs/{run['id']}/recover", json={}), 409, "conflict")
        error(
            client.post(f"/v1/workflows/runs/{run['id']}/approve", json={"approved": True}), 409, "conflict"
        )
        error(
            client.post(f"/v1/workflows/runs/{run['id']}/signal", json={"signal_name": "go"}), 409, "conflict"
        )

        other = data(submit(client, "video/ai_shorts", {"topic": "AI"}))
        error(client.post(f"/v1/workflows/runs/{other['id']}/cancel", json={}), 400, "validation_error")
        cancelled = data(
            client.post(f"/v1/workflows/runs/{other['id']}/cancel", json={"reason": "duplicate"})
        )
        assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "duplicate"
        error(
            client.post(f"/v1/workflows/runs/{other['id']}/cancel", json={"reason": "again"}), 409, "conflict"
        )
        out = data(client.get(f"/v1/workflows/runs/{other['id']}/output"))
        assert out["status"] == "cancelled" and out["variants"] == 1 and out["outputs"][0]["output"] is None

        failing = data(submit(client, "research/trends", {"topic": 7}))  # fails at run time (no validate)
        assert wait_run(client, failing["id"])["status"] == "failed"
        recovered = data(client.post(f"/v1/workflows/runs/{failing['id']}/recover", json={}))
        assert recovered["status"] == "running" and recovered["error"] is None
        assert wait_run(client, failing["id"])["status"] == "failed"  # same input, same failure


def test_approve_and_signal_continue_waiting_runs(owner: httpx.Client, fabric: LocalFabric) -> None:
    d = data(
        owner.post(
            "/v1/workflow-definitions",
            json={
                "name": unique("hitl"),
                "organization_id": fabric.organization_id,
                "nodes": [
                    {"key": "review", "type": "approval"},
                    {"key": "input", "type": "wait_for_input", "config": {"signal": "brief"}},
                ],
            },
        )
    )
    run = data(owner.post("/v1/workflow-runs", json={"workflow_definition_id": d["id"], "context": {}}))
    data(owner.post(f"/v1/workflow-runs/{run['id']}/start", json={}), 202)
    wait_run(owner, run["id"], ("waiting",))
    approved = data(
        owner.post(
            f"/v1/workflows/runs/{run['id']}/approve",
            json={"approved": True, "reason": "fine", "data": {"by": "qa"}},
        )
    )
    assert approved["status"] == "running"
    wait_until(
        lambda: data(owner.get(f"/v1/workflows/runs/{run['id']}"))["progress"]["current_task"] == "input",
        what="the run to reach the input node",
    )
    wait_run(owner, run["id"], ("waiting",))
    data(
        owner.post(
            f"/v1/workflows/runs/{run['id']}/signal", json={"signal_name": "brief", "payload": {"text": "go"}}
        )
    )
    done = wait_run(owner, run["id"])
    assert done["status"] == "completed"
    assert done["output"]["review"] == {"by": "qa", "approved": True, "reason": "fine"}
    assert done["output"]["input"] == {"text": "go"}
    error(owner.post(f"/v1/workflows/runs/{run['id']}/signal", json={}), 400, "validation_error")


def test_list_runs_paginates_and_filters(make_user, fabric: LocalFabric) -> None:
    me: Account = make_user()
    team = data(
        me.client.post("/v1/teams", json={"organization_id": me.org_id, "slug": unique("t"), "name": "T"})
    )
    ids = [
        data(submit(me.client, "research/trends", {"topic": f"t{i}"}, org_id=me.org_id))["id"]
        for i in range(3)
    ]
    team_run = data(
        submit(me.client, "research/trends", {"topic": "team"}, org_id=me.org_id, team_id=team["id"])
    )
    assert team_run["team_id"] == team["id"]
    for run_id in [*ids, team_run["id"]]:
        wait_run(me.client, run_id)
    page = me.client.get("/v1/workflows/runs", params={"organization_id": me.org_id, "limit": 2, "offset": 0})
    assert page.json()["meta"]["total"] == 4
    assert [r["id"] for r in data(page)] == [team_run["id"], ids[2]]  # newest first
    rest = data(
        me.client.get("/v1/workflows/runs", params={"organization_id": me.org_id, "limit": 2, "offset": 2})
    )
    assert [r["id"] for r in rest] == [ids[1], ids[0]]
    mine = data(
        me.client.get("/v1/workflows/runs", params={"organization_id": me.org_id, "created_by": me.user_id})
    )
    assert len(mine) == 4
    nobody = data(
        me.client.get(
            "/v1/workflows/runs", params={"organization_id": me.org_id, "created_by": str(uuid.uuid4())}
        )
    )
    assert nobody == []
    teamed = data(
        me.client.get("/v1/workflows/runs", params={"organization_id": me.org_id, "team_id": team["id"]})
    )
    assert [r["id"] for r in teamed] == [team_run["id"]]
    assert data(me.client.get("/v1/workflows/runs/waiting", params={"organization_id": me.org_id})) == []
    error(me.client.get("/v1/workflows/runs", params={"organization_id": me.org_id, "limit": 0}), 400)
    # Another organization's runs are invisible.
    error(me.client.get("/v1/workflows/runs", params={"organization_id": fabric.organization_id}), 404)


def test_record_artifact_and_costs(owner: httpx.Client) -> None:
    done = run_to_end(owner, "image/generate", {"topic": "costs", "variants": 2})
    costs = data(owner.get(f"/v1/workflows/runs/{done['id']}/costs"))
    assert costs["run_id"] == done["id"] and costs["total_usd"] > 0
    assert abs(sum(costs["per_node"].values()) - costs["total_usd"]) < 1e-6
    recorded = data(
        owner.post(
            f"/v1/workflows/runs/{done['id']}/artifacts",
            json={
                "task_id": "publish",
                "filename": "notes.txt",
                "content_type": "text/plain",
                "produced_by": "publish",
                "consumed_from": "thumbnail",
                "metadata": {"k": "v"},
                "artifact_type": "text",
            },
        )
    )
    assert (
        recorded["run_id"] == done["id"]
        and recorded["filename"] == "notes.txt"
        and recorded["metadata"] == {"k": "v"}
    )
    assert recorded["consumed_from"] == "thumbnail" and recorded["variant_index"] == 0
    assert recorded["id"] in [a["id"] for a in data(owner.get(f"/v1/workflows/runs/{done['id']}/artifacts"))]
    err = error(
        owner.post(f"/v1/workflows/runs/{done['id']}/artifacts", json={"filename": "x"}),
        400,
        "validation_error",
    )
    assert err["details"]["errors"][0]["path"] == "task_id"


# ---------------------------------------------------------------- schemas and registry
@pytest.mark.parametrize("spelling", ["research/trends", "research%2Ftrends"])
def test_schemas_of_a_typed_workflow(owner: httpx.Client, spelling: str) -> None:
    schemas = data(owner.get(f"/v1/workflow-schemas/{spelling}"))
    assert schemas["workflow_name"] == "research/trends"
    assert "topic" in schemas["input_schema"]["properties"] and "topic" in schemas["input_schema"]["required"]
    assert schemas["output_schema"] is not None and isinstance(schemas["task_schemas"], list)
    assert isinstance(schemas["warnings"], list)


def test_schemas_of_an_untyped_workflow_are_null(owner: httpx.Client) -> None:
    schemas = data(owner.get("/v1/workflow-schemas/some/untyped-workflow"))
    assert schemas["input_schema"] is None and schemas["output_schema"] is None
    error(owner.get("/v1/workflow-schemas/no/such"), 404, "not_found")


def test_registry_crud_with_slash_names(make_user) -> None:
    me: Account = make_user()
    q = {"organization_id": me.org_id}
    listed = {e["name"]: e for e in data(me.client.get("/v1/workflow-registry", params=q))}
    assert listed["research/trends"]["typed"] is True and listed["some/untyped-workflow"]["typed"] is False
    assert listed["video/ai_shorts"]["kind"] == "video"
    schema = {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}}
    created = data(
        me.client.post(
            "/v1/workflow-registry",
            params=q,
            json={
                "name": "team/custom-flow",
                "description": "Ours",
                "tags": ["a"],
                "kind": "text",
                "input_schema": schema,
            },
        )
    )
    assert created["version"] == 1 and created["typed"] is True and created["kind"] == "text"
    for spelling in ("team/custom-flow", "team%2Fcustom-flow"):
        got = data(me.client.get(f"/v1/workflow-registry/{spelling}", params=q))
        assert got["id"] == created["id"] and got["description"] == "Ours"
    updated = data(
        me.client.post(
            "/v1/workflow-registry", params=q, json={"name": "team/custom-flow", "description": "v2"}
        )
    )
    assert updated["id"] == created["id"] and updated["version"] == 2 and updated["tags"] == ["a"]
    assert data(me.client.get("/v1/workflow-schemas/team/custom-flow", params=q))["input_schema"] == schema
    # Its schema is enforced with validate=true; runs echo their input.
    bad = error(submit(me.client, "team/custom-flow", {"title": 5}, org_id=me.org_id, validate=True), 400)
    assert bad["details"]["errors"][0]["path"] == "title"
    ran = run_to_end(me.client, "team/custom-flow", {"title": "hello"}, org_id=me.org_id, validate=True)
    assert ran["output"] == {"title": "hello"}
    assert data(me.client.delete("/v1/workflow-registry/team%2Fcustom-flow", params=q)) is None
    error(me.client.get("/v1/workflow-registry/team/custom-flow", params=q), 404, "not_found")
    error(me.client.delete("/v1/workflow-registry/team/custom-flow", params=q), 404, "not_found")
    # Built-ins: overridable descriptions, never deletable.
    override = data(
        me.client.post(
            "/v1/workflow-registry", params=q, json={"name": "research/trends", "description": "Ours now"}
        )
    )
    assert override["version"] == 2 and override["typed"] is True and override["description"] == "Ours now"
    data(me.client.delete("/v1/workflow-registry/research/trends", params=q))
    restored = data(me.client.get("/v1/workflow-registry/research/trends", params=q))
    assert restored["version"] == 1 and restored["description"] != "Ours now"
    error(me.client.delete("/v1/workflow-registry/research/trends", params=q), 409, "conflict")
    error(
        me.client.post("/v1/workflow-registry", params=q, json={"name": "bad//name"}), 400, "validation_error"
    )
    error(me.client.post("/v1/workflow-registry", params=q, json={"name": "x/y", "kind": "podcast"}), 400)


def test_compose_and_run_a_composed_workflow(make_user) -> None:
    me: Account = make_user()
    q = {"organization_id": me.org_id}
    entry = data(
        me.client.post(
            "/v1/workflows/compose",
            params=q,
            json={
                "name": "mine/research-then-post",
                "steps": [
                    "research/trends",
                    {"workflow": "content/threads-post", "input": {"platform": "threads"}},
                ],
            },
        )
    )
    assert entry["name"] == "mine/research-then-post" and entry["kind"] == "text" and entry["typed"] is False
    assert data(me.client.get("/v1/workflow-registry/mine/research-then-post", params=q))["id"] == entry["id"]
    done = run_to_end(me.client, "mine/research-then-post", {"topic": "AI"}, org_id=me.org_id)
    steps = done["output"]["steps"]
    assert [s["workflow"] for s in steps] == ["research/trends", "content/threads-post"]
    assert steps[0]["output"]["topic"] == "AI" and steps[1]["output"]["posts"]
    err = error(
        me.client.post("/v1/workflows/compose", params=q, json={"name": "mine/x", "steps": ["no/such"]}), 400
    )
    assert err["details"]["errors"][0]["path"] == "steps.0.workflow"
    error(me.client.post("/v1/workflows/compose", params=q, json={"name": "mine/x", "steps": []}), 400)


def test_estimate(owner: httpx.Client) -> None:
    one = data(
        owner.post(
            "/v1/workflows/estimate", params={"name": "image/generate"}, json={"input": {"topic": "AI"}}
        )
    )
    assert (
        one["total_estimated_usd"] > 0
        and one["best_case_usd"] <= one["total_estimated_usd"] <= one["worst_case_usd"]
    )
    assert one["per_node"] and one["source"]
    three = data(
        owner.post(
            "/v1/workflows/estimate",
            params={"name": "image/generate"},
            json={"input": {"topic": "AI", "variants": 3}},
        )
    )
    assert abs(three["total_estimated_usd"] - 3 * one["total_estimated_usd"]) < 1e-5
    premium = data(
        owner.post(
            "/v1/workflows/estimate",
            params={"name": "image/generate"},
            json={"input": {"topic": "AI"}, "cost_profile": "premium"},
        )
    )
    assert premium["total_estimated_usd"] > one["total_estimated_usd"]
    # No input: the workflow's example input is used.
    assert (
        data(owner.post("/v1/workflows/estimate", params={"name": "research/trends"}, json={}))[
            "total_estimated_usd"
        ]
        >= 0
    )
    error(owner.post("/v1/workflows/estimate", params={"name": "no/such"}, json={}), 404, "not_found")


def test_seed_named_run_snippets_through_the_sdk(fabric: LocalFabric) -> None:
    """The seed's variants, bundle, schema and validation snippets, via the SDK in strict mode."""
    from fabric_platform.errors import FabricValidationError

    with fabric.client(strict=True) as client:
        result = client.workflows.runs.submit_and_get_output(
            "video/ai_shorts", input={"topic": "AI trends"}, variants=3, timeout=10
        )
        assert len(result.outputs) == 3 and result.variants == 3
        assert all(v.kind == "video" and v.artifacts for v in result.outputs)
        bundle = client.workflows.runs.submit_bundle(
            bundle=[
                {"workflow": "video/ai_shorts", "input": {"topic": "AI trends"}},
                {"workflow": "image/generate-post", "input": {"topic": "AI trends", "slides": 6}},
                {"workflow": "content/threads-post", "input": {"topic": "AI trends"}},
            ],
            timeout=10,
        )
        assert [v.kind for v in bundle.outputs] == ["video", "carousel", "text"]
        schemas = client.get_workflow_schemas("research/trends")
        assert schemas["input_schema"] and isinstance(schemas["task_schemas"], list)
        assert client.get_workflow_schemas("some/untyped-workflow")["input_schema"] is None
        with pytest.raises(FabricValidationError) as caught:
            client.submit_run("research/trends", input={"topic": 42}, validate=True)
        errors = caught.value.response.json()["error"]["details"]["errors"]
        assert [e["path"] for e in errors] == ["topic"]
        assert client.get_workflow_registry_entry("research/trends")["typed"] is True
        estimate = client.estimate_workflow_cost("research/trends", input={"topic": "AI"})
        assert estimate["total_estimated_usd"] >= 0
