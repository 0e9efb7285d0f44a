"""Fault controls (in-process and over /_emulator) and the per-principal rate limit."""

from __future__ import annotations

import time
import uuid

import httpx
from conftest import client_for, data, error, unique

from fabric_platform.testing import LocalFabric


def test_fail_next_fails_exactly_count_matching_requests(
    fresh_fabric: LocalFabric, fresh_owner: httpx.Client
) -> None:
    org = fresh_fabric.organization_id
    fresh_fabric.fail_next("GET", "/v1/organizations/*", 503, count=2, retry_after=3)
    data(fresh_owner.get("/v1/organizations"))  # does not match the pattern
    data(fresh_owner.post("/v1/jobs", json={"modality": "text", "input": {}}))  # nor the method
    for _ in range(2):
        response = fresh_owner.get(f"/v1/organizations/{org}")
        err = error(response, 503, "unavailable")
        assert response.headers["retry-after"] == "3" and err["details"]["injected"] is True
    data(fresh_owner.get(f"/v1/organizations/{org}"))


def test_fail_next_matches_route_templates_and_any_method(
    fresh_fabric: LocalFabric, fresh_owner: httpx.Client
) -> None:
    fresh_fabric.fail_next("*", "/v1/jobs/{job_id}", 500)
    job = data(fresh_owner.post("/v1/jobs", json={"modality": "text", "input": {}}))
    error(fresh_owner.get(f"/v1/jobs/{job['id']}"), 500, "internal_error")
    data(fresh_owner.get(f"/v1/jobs/{job['id']}"))
    fresh_fabric.fail_next("GET", "/v1/jobs", 429, retry_after=1)
    response = fresh_owner.get("/v1/jobs")
    error(response, 429, "rate_limited")
    assert response.headers["retry-after"] == "1"


def test_plain_failure_has_no_side_effect(fresh_fabric: LocalFabric, fresh_owner: httpx.Client) -> None:
    slug = unique("nofx")
    fresh_fabric.fail_next("POST", "/v1/organizations", 503)
    error(fresh_owner.post("/v1/organizations", json={"slug": slug, "name": "x"}), 503)
    assert slug not in [o["slug"] for o in data(fresh_owner.get("/v1/organizations"))]


def test_commit_then_fail_with_idempotent_retry_creates_exactly_one(
    fresh_fabric: LocalFabric, fresh_owner: httpx.Client
) -> None:
    slug = unique("commit")
    key = f"retry-{uuid.uuid4()}"
    fresh_fabric.fail_next("POST", "/v1/organizations", 503, commit=True, retry_after=1)
    first = fresh_owner.post(
        "/v1/organizations", json={"slug": slug, "name": "x"}, headers={"Idempotency-Key": key}
    )
    assert error(first, 503, "unavailable")["details"]["committed"] is True
    # The side effect happened...
    assert [o["slug"] for o in data(fresh_owner.get("/v1/organizations"))].count(slug) == 1
    # ...and the client's retry with the same key gets the original answer, not a second org.
    retried = data(
        fresh_owner.post(
            "/v1/organizations", json={"slug": slug, "name": "x"}, headers={"Idempotency-Key": key}
        )
    )
    assert retried["slug"] == slug
    assert [o["slug"] for o in data(fresh_owner.get("/v1/organizations"))].count(slug) == 1


def test_commit_then_fail_on_jobs(fresh_fabric: LocalFabric, fresh_owner: httpx.Client) -> None:
    key = f"job-{uuid.uuid4()}"
    body = {"modality": "text", "input": {"prompt": "once"}, "idempotency_key": key}
    fresh_fabric.fail_next("POST", "/v1/jobs", 503, commit=True)
    error(fresh_owner.post("/v1/jobs", json=body, headers={"Idempotency-Key": key}), 503)
    job = data(fresh_owner.post("/v1/jobs", json=body, headers={"Idempotency-Key": key}))
    assert [j["id"] for j in data(fresh_owner.get("/v1/jobs"))["items"]] == [job["id"]]


def test_add_latency(fresh_fabric: LocalFabric, fresh_owner: httpx.Client) -> None:
    fresh_fabric.add_latency("GET", "/v1/health", 0.3)
    started = time.monotonic()
    data(fresh_owner.get("/v1/health"))
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    data(fresh_owner.get("/v1/system/info"))
    assert time.monotonic() - started < 0.3
    fresh_fabric.reset_faults()
    started = time.monotonic()
    data(fresh_owner.get("/v1/health"))
    assert time.monotonic() - started < 0.3


def test_rate_limit_per_principal(fresh_fabric: LocalFabric, fresh_owner: httpx.Client) -> None:
    from conftest import sign_up

    other = sign_up(fresh_fabric, with_org=False)
    fresh_fabric.rate_limit(per_second=0.5, burst=3)
    statuses = [fresh_owner.get("/v1/health").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = fresh_owner.get("/v1/health")
    error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1
    # Another principal has its own bucket.
    assert other.client.get("/v1/me").status_code == 200
    # Control endpoints are never limited, and reset_faults lifts the limit.
    assert fresh_owner.get("/_emulator/faults").status_code == 200
    fresh_fabric.reset_faults()
    data(fresh_owner.get("/v1/health"))
    other.client.close()


def test_rate_limit_refills(fresh_fabric: LocalFabric, fresh_owner: httpx.Client) -> None:
    fresh_fabric.rate_limit(per_second=20, burst=1)
    data(fresh_owner.get("/v1/health"))
    error(fresh_owner.get("/v1/health"), 429)
    deadline = time.monotonic() + 5
    while fresh_owner.get("/v1/health").status_code == 429:
        assert time.monotonic() < deadline, "the bucket never refilled"
        time.sleep(0.01)


def test_controls_over_http(fresh_fabric: LocalFabric) -> None:
    with client_for(fresh_fabric) as control, client_for(fresh_fabric, fresh_fabric.api_key) as api:
        state = data(
            control.post(
                "/_emulator/faults",
                json={
                    "type": "fail_next",
                    "method": "GET",
                    "path_pattern": "/v1/health",
                    "status": 502,
                    "count": 1,
                },
            )
        )
        assert state["rules"][0]["status"] == 502
        error(api.get("/v1/health"), 502)
        data(api.get("/v1/health"))
        data(
            control.post(
                "/_emulator/faults",
                json={
                    "faults": [
                        {"type": "latency", "path_pattern": "/v1/me", "seconds": 0.01},
                        {"type": "disable_streaming"},
                    ]
                },
            )
        )
        error(api.get("/v1/events/stream"), 503)
        assert data(control.get("/_emulator/faults"))["streaming_disabled"] is True
        data(control.delete("/_emulator/faults"))
        assert data(control.get("/_emulator/faults"))["rules"] == []
        data(control.post("/_emulator/faults", json={"type": "rate_limit", "per_second": 1, "burst": 1}))
        data(api.get("/v1/health"))
        error(api.get("/v1/health"), 429)
        data(control.delete("/_emulator/faults"))
        error(control.post("/_emulator/faults", json={"type": "explode"}), 400)
        error(control.post("/_emulator/faults", json={"type": "fail_next", "status": 200}), 400)
        error(control.post("/_emulator/faults", json={"type": "fail_next", "bogus": 1}), 400)
        before = data(control.get("/_emulator/clock"))["offset_seconds"]
        after = data(control.post("/_emulator/clock/advance", json={"seconds": 60}))["offset_seconds"]
        assert after == before + 60
        data(api.post("/v1/auth/forgot-password", json={"email": fresh_fabric.owner["email"]}), 202)
        mails = data(control.get("/_emulator/outbox", params={"kind": "password_recovery"}))
        assert [m["to"] for m in mails] == [fresh_fabric.owner["email"]]
        assert data(control.get("/_emulator/stats"))["GET /v1/health"] >= 1
        data(control.delete("/_emulator/stats"))
        assert data(control.get("/_emulator/stats")) == {}
