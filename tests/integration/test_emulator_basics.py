"""The envelope, request ids, system endpoints, statistics and the seeded tenant."""

from __future__ import annotations

import asyncio

import httpx
from conftest import anonymous, client_for, data, error

from fabric_platform.testing import LocalFabric

SEED_ORG = "00000000-0000-0000-0000-000000000010"


def test_success_envelope_and_generated_request_id(fabric: LocalFabric) -> None:
    response = anonymous(fabric).get("/v1/health")
    body = response.json()
    assert set(body) == {"data", "meta", "error"}
    assert body["data"]["status"] == "ok" and body["data"]["version"]
    request_id = response.headers["x-request-id"]
    assert request_id.startswith("req_")
    assert body["meta"] == {"request_id": request_id, "status": 200}


def test_request_id_is_echoed(fabric: LocalFabric) -> None:
    response = anonymous(fabric).get("/v1/health", headers={"X-Request-Id": "trace-123"})
    assert response.headers["x-request-id"] == "trace-123"
    assert response.json()["meta"]["request_id"] == "trace-123"
    # An error carries it too.
    missing = anonymous(fabric).get("/v1/no-such-thing", headers={"X-Request-Id": "trace-404"})
    assert error(missing, 404, "not_found")
    assert missing.json()["meta"]["request_id"] == "trace-404"


def test_unknown_route_and_wrong_method_are_enveloped(fabric: LocalFabric) -> None:
    assert error(anonymous(fabric).get("/v1/nothing-here"), 404, "not_found")["message"]
    assert error(anonymous(fabric).delete("/v1/health"), 405)["message"]


def test_system_status_and_info(owner: httpx.Client) -> None:
    status = data(owner.get("/v1/system/status"))
    assert status["status"] in ("ok", "degraded") and "database" in status["components"]
    info = data(owner.get("/v1/system/info"))
    assert info["version"] and "jobs" in info["features"]


def test_seeded_tenant(fabric: LocalFabric, owner: httpx.Client) -> None:
    assert fabric.organization_id == SEED_ORG
    assert fabric.api_key.startswith(("fab_test_", "fab_live_"))
    me = data(owner.get("/v1/me"))
    assert me["authenticated"] is True and me["principal_id"] == fabric.owner["id"]
    org = data(owner.get(f"/v1/organizations/{SEED_ORG}"))
    assert org["id"] == SEED_ORG
    mine = data(owner.get("/v1/me/organizations"))
    assert {"id": SEED_ORG, "role": "owner"}.items() <= next(o for o in mine if o["id"] == SEED_ORG).items()
    # The seeded owner can also sign in with the published password.
    with client_for(fabric) as anon_client:
        tokens = data(
            anon_client.post(
                "/v1/auth/login", json={"email": fabric.owner["email"], "password": fabric.owner["password"]}
            )
        )
    assert tokens["user"]["id"] == fabric.owner["id"]


def test_stats_count_operations_by_route_template(
    fresh_fabric: LocalFabric, fresh_owner: httpx.Client
) -> None:
    fresh_fabric.reset_stats()
    for _ in range(3):
        data(fresh_owner.get(f"/v1/organizations/{SEED_ORG}"))
    fresh_owner.get("/_emulator/stats")  # controls are not counted
    stats = fresh_fabric.stats()
    assert stats == {"GET /v1/organizations/{org_id}": 3}
    assert data(fresh_owner.get("/_emulator/stats")) == stats


def test_seed_control_endpoint(fabric: LocalFabric) -> None:
    seed = data(anonymous(fabric).get("/_emulator/seed"))
    assert seed["api_key"] == fabric.api_key and seed["organization_id"] == SEED_ORG


def test_local_fabric_lifecycle_and_restartability() -> None:
    server = LocalFabric(speed=100)
    assert not server.running
    server.start()
    try:
        assert server.running and server.base_url.startswith("http://127.0.0.1:")
        assert anonymous(server).get("/v1/health").status_code == 200
    finally:
        server.stop()
    assert not server.running
    # The port is released: nothing answers there any more.
    try:
        httpx.get(f"{server.config.base_url}/v1/health", timeout=1)
        answered = True
    except httpx.TransportError:
        answered = False
    assert not answered


def test_async_context_manager() -> None:
    async def scenario() -> LocalFabric:
        async with LocalFabric(speed=100) as server, httpx.AsyncClient(base_url=server.base_url) as client:
            response = await client.get("/v1/health")
            assert response.status_code == 200
        return server

    assert not asyncio.run(scenario()).running


def test_client_and_async_client_are_signed_in_as_the_seeded_owner(fabric: LocalFabric) -> None:
    with fabric.client() as client:
        assert client.health_check()["status"] == "ok"
        me = client.get_me()
        assert me["principal_id"] == fabric.owner["id"] and me["authenticated"] is True
        assert client.get_organization(SEED_ORG)["id"] == SEED_ORG

    async def use_async() -> str:
        async with fabric.async_client() as client:
            return (await client.get_me())["principal_id"]  # type: ignore[no-any-return]

    assert asyncio.run(use_async()) == fabric.owner["id"]
