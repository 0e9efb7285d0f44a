"""A file database survives a restart: tenants, keys, secrets, jobs, runs, events — and work
that was in flight when the emulator stopped finishes after it starts again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import httpx
from conftest import anonymous, client_for, data, read_sse, sign_up, wait_until

from fabric_platform.testing import LocalFabric

# Slow enough that work is still in flight when we stop; fast enough to keep the test short.
SLOW = {"speed": 4.0, "sse_keepalive": 0.2, "password_hash_iterations": 1000}


def _all_events(client: httpx.Client, count: int) -> List[Dict[str, Any]]:
    with client.stream("GET", "/v1/events/stream") as response:
        return [json.loads(f["data"]) for f in read_sse(response, max_events=count) if f["data"]]


def test_state_survives_a_restart_and_in_flight_work_finishes(tmp_path: Path) -> None:
    db = str(tmp_path / "fabric.db")
    first = LocalFabric(db_path=db, **SLOW).start()
    try:
        account = sign_up(first)
        org = account.org_id
        c = account.client
        try:
            key = data(c.post("/v1/api-keys", json={"name": "ci", "organization_id": org}))
            data(c.post(f"/v1/organizations/{org}/secrets", json={"name": "TOKEN", "value": "s3cret"}))
            team = data(c.post("/v1/teams", json={"organization_id": org, "slug": "eng", "name": "Eng"}))
            done_job = data(
                c.post("/v1/jobs", json={"modality": "text", "input": {"p": 1}, "organization_id": org})
            )
            wait_until(
                lambda: data(c.get(f"/v1/jobs/{done_job['id']}"))["status"] == "completed",
                timeout=20,
                what="job",
            )
            definition = data(
                c.post(
                    "/v1/workflow-definitions",
                    json={
                        "name": "restart-me",
                        "organization_id": org,
                        "nodes": [{"key": "pause", "type": "delay", "config": {"seconds": 4}}],
                    },
                )
            )
            run = data(
                c.post("/v1/workflow-runs", json={"workflow_definition_id": definition["id"], "context": {}})
            )
            data(c.post(f"/v1/workflow-runs/{run['id']}/start", json={}), 202)
            wait_until(
                lambda: data(c.get(f"/v1/workflow-runs/{run['id']}"))["status"] == "running",
                what="run to start",
            )
            in_flight_job = data(
                c.post("/v1/jobs", json={"modality": "text", "input": {"p": 2}, "organization_id": org})
            )
            events_before = _all_events(c, 3)  # the first job's three events at least
        finally:
            c.close()
            seed_key = first.api_key
            seed_org = first.organization_id
    finally:
        first.stop()

    second = LocalFabric(db_path=db, **SLOW).start()
    try:
        assert second.api_key == seed_key and second.organization_id == seed_org
        login = data(
            anonymous(second).post(
                "/v1/auth/login", json={"email": account.email, "password": account.password}
            )
        )
        with client_for(second, login["access_token"]) as c, client_for(second, key["key"]) as by_key:
            assert data(c.get(f"/v1/organizations/{org}"))["id"] == org
            assert data(by_key.get("/v1/me"))["principal_id"] == account.user_id
            assert [s["name"] for s in data(c.get(f"/v1/organizations/{org}/secrets"))] == ["TOKEN"]
            assert data(c.get(f"/v1/teams/{team['id']}"))["slug"] == "eng"
            assert data(c.get(f"/v1/jobs/{done_job['id']}"))["status"] == "completed"
            # In-flight work resumes and finishes.
            wait_until(
                lambda: data(c.get(f"/v1/jobs/{in_flight_job['id']}"))["status"] == "completed",
                timeout=20,
                what="the in-flight job",
            )
            finished = wait_until(
                lambda: (
                    (r := data(c.get(f"/v1/workflow-runs/{run['id']}")))["status"] in ("completed", "failed")
                    and r
                ),
                timeout=30,
                what="the in-flight run",
            )
            assert finished["status"] == "completed"
            # Events kept their ids, and new ones continue after them.
            after = _all_events(c, len(events_before) + 3)
            assert [e["id"] for e in after[: len(events_before)]] == [e["id"] for e in events_before]
            max_before = max(int(e["id"]) for e in events_before)
            assert any(int(e["id"]) > max_before for e in after)
            # The seeded owner's key still works after the restart.
            with client_for(second, second.api_key) as owner:
                assert data(owner.get("/v1/me"))["principal_id"] == second.owner["id"]
    finally:
        second.stop()


def test_clock_offset_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "clock.db")
    with LocalFabric(db_path=db, **SLOW) as server:
        server.advance_time(3600)
        before = data(anonymous(server).get("/_emulator/clock"))["offset_seconds"]
    with LocalFabric(db_path=db, **SLOW) as server:
        assert data(anonymous(server).get("/_emulator/clock"))["offset_seconds"] == before == 3600


def test_file_database_uses_wal(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "wal.db"
    with LocalFabric(db_path=str(db), **SLOW):
        pass
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
