"""Jobs: asynchronous execution, events, usage, idempotency, listing, isolation."""

from __future__ import annotations

from typing import Any, Callable, Dict

import httpx
from conftest import Account, client_for, data, error, read_sse, wait_until

from fabric_platform.testing import LocalFabric


def _finished(client: httpx.Client, job_id: str) -> Dict[str, Any]:
    def poll() -> Any:
        job = data(client.get(f"/v1/jobs/{job_id}"))
        return job if job["status"] in ("completed", "failed") else None

    return wait_until(poll, what=f"job {job_id} to finish")


def test_job_runs_to_completion_with_usage(owner: httpx.Client, fabric: LocalFabric) -> None:
    job = data(owner.post("/v1/jobs", json={"modality": "text", "input": {"prompt": "Summarize this"}}))
    assert job["status"] == "queued" and job["organization_id"] == fabric.organization_id
    assert job["output"] is None and job["started_at"] is None and job["idempotency_key"] is None
    done = _finished(owner, job["id"])
    assert done["status"] == "completed" and done["error"] is None
    assert "Summarize this" in done["output"]["text"]
    assert done["created_at"] <= done["started_at"] <= done["completed_at"]
    usage = data(owner.get(f"/v1/jobs/{job['id']}/usage"))
    assert usage["job_id"] == job["id"] and usage["provider"] == "openai" and usage["model"] == "gpt-4o-mini"
    assert usage["input_units"] > 0 and usage["cost_usd"] > 0
    # Deterministic: the same input gives the same output.
    again = _finished(
        owner,
        data(owner.post("/v1/jobs", json={"modality": "text", "input": {"prompt": "Summarize this"}}))["id"],
    )
    assert again["output"] == done["output"]


def test_job_events_stream_and_close_after_the_terminal_event(owner: httpx.Client) -> None:
    job = data(
        owner.post("/v1/jobs", json={"modality": "image", "input": {"prompt": "a cat"}, "params": {"n": 2}})
    )
    with owner.stream(
        "GET", f"/v1/jobs/{job['id']}/events", headers={"Accept": "text/event-stream"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        frames = read_sse(response)
    events = [f for f in frames if f["data"]]
    kinds = [f["event"] for f in events]
    assert kinds == ["job.created", "job.started", "job.completed"]
    ids = [int(f["id"]) for f in events]
    assert ids == sorted(ids) and len(set(ids)) == 3
    import json

    payloads = [json.loads(f["data"]) for f in events]
    assert all(p["job_id"] == job["id"] and p["kind"] == f["event"] for p, f in zip(payloads, events))
    assert frames[0].get("retry") == "1000"
    assert len(_finished(owner, job["id"])["output"]["images"]) == 2


def test_job_failure_path(owner: httpx.Client) -> None:
    job = data(
        owner.post(
            "/v1/jobs",
            json={"modality": "text", "input": {"prompt": "x"}, "params": {"simulate_failure": True}},
        )
    )
    done = _finished(owner, job["id"])
    assert done["status"] == "failed" and "simulated" in done["error"] and done["output"] is None
    with owner.stream("GET", f"/v1/jobs/{job['id']}/events") as response:
        kinds = [f["event"] for f in read_sse(response) if f["data"]]
    assert kinds[-1] == "job.failed"


def test_job_validation(owner: httpx.Client) -> None:
    error(owner.post("/v1/jobs", json={"modality": "smell", "input": {}}), 400, "validation_error")
    error(
        owner.post("/v1/jobs", json={"modality": "text", "input": "not an object"}), 400, "validation_error"
    )
    error(owner.post("/v1/jobs", json={"modality": "text"}), 400, "validation_error")
    error(owner.post("/v1/jobs", json={"modality": "text", "input": {}, "params": {"model": "sdxl"}}), 400)


def test_body_idempotency_key_returns_the_first_job(owner: httpx.Client) -> None:
    import uuid

    key = f"job-{uuid.uuid4()}"
    body = {"modality": "text", "input": {"prompt": "once"}, "idempotency_key": key}
    first = data(owner.post("/v1/jobs", json=body))
    second = data(owner.post("/v1/jobs", json=body))
    assert second["id"] == first["id"] and first["idempotency_key"] == key
    error(owner.post("/v1/jobs", json=dict(body, input={"prompt": "twice"})), 409, "idempotency_key_reused")
    # Header and body together (what the SDK sends) still create one job.
    both = dict(body, idempotency_key=f"{key}-b")
    a = data(owner.post("/v1/jobs", json=both, headers={"Idempotency-Key": f"{key}-b"}))
    b = data(owner.post("/v1/jobs", json=both, headers={"Idempotency-Key": f"{key}-b"}))
    assert a["id"] == b["id"]


def test_list_jobs_pages_with_a_cursor(make_user: Callable[..., Account]) -> None:
    account = make_user()
    created = [
        data(
            account.client.post(
                "/v1/jobs", json={"modality": "text", "input": {"n": i}, "organization_id": account.org_id}
            )
        )["id"]
        for i in range(5)
    ]
    seen = []
    cursor = None
    pages = 0
    while True:
        params: Dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = account.client.get("/v1/jobs", params=params)
        page = data(response)
        assert response.json()["meta"]["next_cursor"] == page["next_cursor"]
        seen.extend(j["id"] for j in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == list(reversed(created))  # newest first, each once
    error(account.client.get("/v1/jobs", params={"cursor": "garbage!"}), 400)
    error(account.client.get("/v1/jobs", params={"limit": 0}), 400)
    error(account.client.get("/v1/jobs", params={"limit": 101}), 400)


def test_jobs_of_other_organizations_are_invisible(
    fabric: LocalFabric, make_user: Callable[..., Account], owner: httpx.Client
) -> None:
    account = make_user()
    job = data(owner.post("/v1/jobs", json={"modality": "text", "input": {}}))
    for path in (f"/v1/jobs/{job['id']}", f"/v1/jobs/{job['id']}/usage", f"/v1/jobs/{job['id']}/events"):
        error(account.client.get(path), 404, "not_found")
    assert job["id"] not in [j["id"] for j in data(account.client.get("/v1/jobs"))["items"]]
    error(
        account.client.post(
            "/v1/jobs", json={"modality": "text", "input": {}, "organization_id": fabric.organization_id}
        ),
        404,
    )


def test_providers(owner: httpx.Client) -> None:
    providers = data(owner.get("/v1/providers"))
    openai = next(p for p in providers if p["id"] == "openai")
    assert "text" in openai["modalities"] and "gpt-4o" in openai["models"]
    first = data(
        owner.post(
            "/v1/providers/execute",
            json={"modality": "text", "input": {"prompt": "Hello"}, "model": "gpt-4o"},
        )
    )
    second = data(
        owner.post(
            "/v1/providers/execute",
            json={"modality": "text", "input": {"prompt": "Hello"}, "model": "gpt-4o"},
        )
    )
    assert first == second and first["provider_id"] == "openai" and first["usage"]["cost_usd"] > 0
    estimate = data(
        owner.post(
            "/v1/providers/estimate",
            json={"modality": "text", "input": {"prompt": "Hello"}, "model": "gpt-4o"},
        )
    )
    assert (
        estimate["estimated_cost_usd"] > 0 and estimate["model"] == "gpt-4o" and estimate["input_units"] > 0
    )
    embedding = data(
        owner.post("/v1/providers/execute", json={"modality": "embedding", "input": {"text": "x"}})
    )
    assert len(embedding["output"]["embedding"]) == 8
    error(
        owner.post("/v1/providers/execute", json={"modality": "text", "input": {}, "model": "no-such-model"}),
        400,
    )


def test_an_api_key_of_another_user_cannot_reach_jobs(
    fabric: LocalFabric, make_user: Callable[..., Account]
) -> None:
    alice = make_user()
    job = data(
        alice.client.post("/v1/jobs", json={"modality": "text", "input": {}, "organization_id": alice.org_id})
    )
    with client_for(fabric, fabric.api_key) as c:
        error(c.get(f"/v1/jobs/{job['id']}"), 404)
