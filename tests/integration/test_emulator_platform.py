"""Administration (bootstrap, users, concurrency limits), apps, sinks and packages through the SDK."""

from __future__ import annotations

from typing import Any, Iterator, Tuple

import pytest
from conftest import client_for, sign_up, unique, wait_until

from fabric_platform import (
    FabricAuthError,
    FabricClient,
    FabricConflictError,
    FabricForbiddenError,
    FabricNotFoundError,
    FabricValidationError,
)
from fabric_platform.testing import LocalFabric
from fabric_platform.webhooks import verify_signature

ADMIN_EMAIL = "root@fabric.local"
ADMIN_PASSWORD = "correct-horse-admin"
SLOW = [{"key": "wait", "type": "delay", "config": {"seconds": 3600}}]


@pytest.fixture()
def admin(fresh_fabric: LocalFabric) -> Iterator[Tuple[LocalFabric, Any]]:
    """A fresh emulator whose first platform administrator was bootstrapped (and signed in)."""
    with FabricClient(base_url=fresh_fabric.base_url, max_retries=0, strict=True) as client:
        created = client.admin.bootstrap(ADMIN_EMAIL, ADMIN_PASSWORD, display_name="Root")
        assert created["is_admin"] is True and created["email"] == ADMIN_EMAIL
        client.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        yield fresh_fabric, client


def test_bootstrap_happens_once_and_admin_routes_need_an_admin(fresh_fabric: LocalFabric) -> None:
    with fresh_fabric.client() as owner:
        with pytest.raises(FabricForbiddenError):
            owner.admin.list_users()  # the seeded owner is not a platform administrator
        first = owner.admin.bootstrap(ADMIN_EMAIL, ADMIN_PASSWORD)
        assert first["is_admin"] is True
        with pytest.raises(FabricConflictError):
            owner.admin.bootstrap("second@fabric.local", ADMIN_PASSWORD)


def test_admin_manages_users(admin: Tuple[LocalFabric, Any]) -> None:
    fabric, client = admin
    user = sign_up(fabric, with_org=False)
    try:
        listed = client.admin.list_users(limit=100)
        assert {u["email"] for u in listed} >= {ADMIN_EMAIL, fabric.owner["email"], user.email}
        seen = client.admin.get_user(user.user_id)
        assert seen["email_verified"] is False and seen["locked"] is False and seen["last_login_at"]
        assert client.admin.verify_user(user.user_id)["email_verified"] is True

        # Ten wrong passwords lock the account; an admin unlocks it.
        with client_for(fabric) as anonymous:
            for _ in range(10):
                anonymous.post("/v1/auth/login", json={"email": user.email, "password": "wrong-password"})
            assert client.admin.get_user(user.user_id)["locked"] is True
            assert (
                anonymous.post(
                    "/v1/auth/login", json={"email": user.email, "password": user.password}
                ).status_code
                == 403
            )
            assert client.admin.unlock_user(user.user_id)["locked"] is False
            relogin = anonymous.post("/v1/auth/login", json={"email": user.email, "password": user.password})
            assert relogin.status_code == 200

        assert user.client.get("/v1/me").status_code == 200
        client.admin.force_logout_user(user.user_id)
        assert user.client.get("/v1/me").status_code == 401

        client.admin.delete_user(user.user_id)
        with pytest.raises(FabricNotFoundError):
            client.admin.get_user(user.user_id)
        with pytest.raises(FabricConflictError):
            client.admin.delete_user(client.get_me()["principal_id"])  # not yourself
    finally:
        user.client.close()


def test_concurrency_limits_hold_runs_in_pending(admin: Tuple[LocalFabric, Any]) -> None:
    fabric, client = admin
    org_id = fabric.organization_id
    limit = client.admin.set_concurrency_limit(org_id, max_concurrent_runs=1, max_concurrent_jobs=5)
    assert limit["max_concurrent_runs"] == 1 and limit["max_concurrent_jobs"] == 5
    assert [x["organization_id"] for x in client.admin.list_concurrency_limits()] == [org_id]

    with fabric.client(strict=True) as owner:
        workflow_id = owner.upsert_workflow(unique("slow"), SLOW)
        first, second, third = (owner.run_workflow(workflow_id) for _ in range(3))
        wait_until(lambda: owner.get_run(first)["status"] == "running", what="the first run to start")
        assert owner.get_run(second)["status"] == "pending" and owner.get_run(third)["status"] == "pending"

        owner.cancel_run(first)  # frees the slot: the next one starts
        wait_until(lambda: owner.get_run(second)["status"] == "running", what="the second run to start")
        assert owner.get_run(third)["status"] == "pending"

        client.admin.set_concurrency_limit(org_id, max_concurrent_runs=5)  # raising it lets the rest go
        wait_until(lambda: owner.get_run(third)["status"] == "running", what="the third run to start")
        for run_id in (second, third):
            owner.cancel_run(run_id)
    with pytest.raises(FabricNotFoundError):
        client.admin.set_concurrency_limit("00000000-0000-0000-0000-0000000000ff", max_concurrent_runs=1)


def test_apps_issue_tokens_and_report_usage(fabric: LocalFabric) -> None:
    with fabric.client() as owner:
        org = owner.create_organization(unique("apps"), "Apps")
    with fabric.client(organization_id=org["id"], strict=True) as client:
        app = client.apps.create(
            "Dashboard", redirect_uris=["https://dash.example.com/cb"], scopes=["job.create"]
        )
        first_secret = app["client_secret"]
        assert app["active"] is True and app["client_id"]
        assert "client_secret" not in client.apps.get(app["id"])
        updated = client.apps.update(app["id"], description="Ops dashboard")
        assert updated["description"] == "Ops dashboard" and [a["id"] for a in client.apps.list()] == [
            app["id"]
        ]
        second_secret = client.apps.rotate_secret(app["id"])["client_secret"]
        assert second_secret != first_secret

        with FabricClient(base_url=fabric.base_url, organization_id=org["id"], max_retries=0) as as_app:
            with pytest.raises(FabricAuthError):
                as_app.oauth_token(app["client_id"], first_secret, grant_type="client_credentials")
            token = as_app.oauth_token(app["client_id"], second_secret, grant_type="client_credentials")
            job = as_app.create_job("text", {"prompt": "from the app"})
            as_app.get_job(job["id"])
        wait_until(lambda: client.get_job(job["id"])["status"] == "completed", what="the app's job")
        cost = client.get_job_usage(job["id"])["cost_usd"]
        usage = client.apps.usage(app["id"])
        assert usage["requests"] == 2 and usage["jobs"] == 1 and usage["runs"] == 0
        assert usage["cost_usd"] == pytest.approx(cost)

        client.apps.update(app["id"], active=False)  # deactivating revokes its tokens
        with client_for(fabric, token["access_token"]) as http:
            assert http.get("/v1/me").status_code == 401


def test_sinks_turn_http_posts_into_runs(fabric: LocalFabric) -> None:
    with fabric.client() as owner:
        org = owner.create_organization(unique("sinks"), "Sinks")
    org_id = org["id"]
    with fabric.client(organization_id=org_id, strict=True) as client:
        sink = client.sinks.create(org_id, "Trends intake", "trends", "research/trends")
        assert sink["active"] is True and sink["path"] == "trends"
        with pytest.raises(FabricConflictError):
            client.sinks.create(org_id, "Again", "trends", "research/trends")
        with pytest.raises(FabricValidationError):
            client.sinks.create(org_id, "Nope", "nope", "no/such-workflow")
        run = client.sinks.trigger_http(org_id, "trends", {"topic": "sinks"})
        assert run["workflow_name"] == "research/trends" and run["input"] == {"topic": "sinks"}
        assert run["metadata"]["sink_id"] == sink["id"]
        finished = client.wait_for_run(run["id"], poll_interval=0.02, timeout=30)
        assert finished["status"] == "completed" and finished["output"]["topic"] == "sinks"
        assert client.sinks.get(sink["id"])["name"] == "Trends intake"
        assert [s["id"] for s in client.sinks.list(org_id)] == [sink["id"]]
        client.sinks.delete(sink["id"])
        with pytest.raises(FabricNotFoundError):
            client.sinks.trigger_http(org_id, "trends", {"topic": "gone"})


def test_packages_list_the_builtin_workflows(fabric: LocalFabric) -> None:
    with fabric.client(strict=True) as client:
        packages = {p["name"]: p for p in client.packages.list()}
    assert "video/face-swap" in packages["fabric/video"]["workflows"]
    assert "research/trends" in packages["fabric/research"]["workflows"]


def test_schedules_webhooks_and_assets_survive_a_restart(tmp_path: Any) -> None:
    from webhook_receiver import Receiver

    db = str(tmp_path / "fabric.db")
    options = {"speed": 200.0, "sse_keepalive": 0.2, "password_hash_iterations": 1000}
    with Receiver() as hook:
        with LocalFabric(db_path=db, **options) as first, first.client(strict=True) as client:
            workflow_id = client.upsert_workflow(
                unique("persist"), [{"key": "t", "type": "transform", "config": {}}]
            )
            schedule = client.create_schedule(workflow_id, "0 * * * *")
            webhook = client.create_webhook(client.organization_id, hook.url, ["schedule.triggered"])
            asset = client.upload_asset(b"kept on disk", filename="kept.txt")
        with LocalFabric(db_path=db, **options) as second, second.client(strict=True) as client:
            assert client.get_schedule(schedule["id"])["next_run_at"] == schedule["next_run_at"]
            assert client.download_asset(asset["id"]) == b"kept on disk"
            second.advance_time(3600)
            (fired,) = wait_until(
                lambda: [h for h in client.schedule_history(schedule["id"]) if h["trigger"] == "cron"],
                what="the schedule to fire after the restart",
            )
            (request,) = hook.wait_for(1)
            assert request.headers["x-fabric-event"] == "schedule.triggered"
            assert verify_signature(request.body, request.headers["x-fabric-signature"], webhook["secret"])
            assert fired["run_id"] in request.body.decode()
