"""The request shapes of the public fabric-platform 0.8/0.17 clients, over HTTP: what they mean,
and the 400 (naming the field, nothing stored) for each bad value."""

from __future__ import annotations

import uuid
from typing import Any, Dict

import httpx
from conftest import client_for, data, error

from fabric_platform.testing import LocalFabric


def _paths(err: Dict[str, Any]) -> list:
    return [e["path"] for e in err["details"]["errors"]]


def _signup(fabric: LocalFabric) -> Dict[str, Any]:
    with client_for(fabric) as anon:
        email = f"shape-{uuid.uuid4().hex[:8]}@example.com"
        return data(anon.post("/v1/auth/signup", json={"email": email, "password": "SecurePass1!"})) | {
            "email": email
        }


def test_org_asset_json_is_a_record_filtered_by_type_and_never_a_file(owner: httpx.Client) -> None:
    org_id = owner.get("/v1/organizations").json()["data"][0]["id"]
    body = {
        "asset_type": "voice",
        "name": "Nova",
        "provider": "elevenlabs",
        "provider_id": "v1",
        "metadata": {},
    }
    record = data(owner.post(f"/v1/organizations/{org_id}/assets", json=body))
    assert (record["kind"], record["asset_type"], record["filename"], record["size_bytes"]) == (
        "record",
        "voice",
        None,
        None,
    )
    listed = data(owner.get(f"/v1/organizations/{org_id}/assets", params={"asset_type": "voice"}))
    assert [a["id"] for a in listed if a["id"] == record["id"]] == [record["id"]]
    assert all(a["asset_type"] == "voice" for a in listed)
    error(owner.get(f"/v1/assets/{record['id']}"), 404, "not_found")


def test_bad_org_asset_records_name_the_field_and_store_nothing(owner: httpx.Client) -> None:
    org_id = owner.get("/v1/organizations").json()["data"][0]["id"]
    before = len(data(owner.get(f"/v1/organizations/{org_id}/assets", params={"limit": 100})))
    for body, field in (
        ({"name": "x"}, "asset_type"),
        ({"asset_type": "persona", "name": ""}, "name"),
        ({"asset_type": "persona", "name": "x", "metadata": [1]}, "metadata"),
        ({"asset_type": "persona", "name": "x", "team_id": str(uuid.uuid4())}, "team_id"),
        ({"asset_type": "persona", "name": "x", "provider": 7}, "provider"),
    ):
        err = error(owner.post(f"/v1/organizations/{org_id}/assets", json=body), 400, "validation_error")
        assert field in _paths(err)
    assert len(data(owner.get(f"/v1/organizations/{org_id}/assets", params={"limit": 100}))) == before


def test_sinks_take_the_public_fields_and_reject_bad_ones(owner: httpx.Client) -> None:
    org_id = owner.get("/v1/organizations").json()["data"][0]["id"]
    path = f"hooks/{uuid.uuid4().hex[:6]}"
    sink = data(
        owner.post(
            f"/v1/organizations/{org_id}/sinks",
            json={
                "sink_type": "http",
                "workflow_name": "research/trends",
                "path": path,
                "default_payload": {"topic": "AI"},
            },
        )
    )
    assert (sink["sink_type"], sink["path"], sink["name"], sink["active"]) == ("http", path, path, True)
    fired = data(owner.post(f"/v1/sinks/trigger/{org_id}/{path}"))
    assert fired["accepted"] is True and fired["run_id"] == fired["id"] and fired["message"]
    assert data(owner.get(f"/v1/workflows/runs/{fired['run_id']}"))["input"]["topic"] == "AI"
    cron = data(
        owner.post(
            f"/v1/organizations/{org_id}/sinks",
            json={
                "sink_type": "cron",
                "workflow_name": "research/trends",
                "cron_expression": "0 9 * * *",
                "timezone": "UTC",
            },
        )
    )
    assert (cron["cron_expression"], cron["path"]) == ("0 9 * * *", None)
    for body, field in (
        ({"sink_type": "ftp", "workflow_name": "research/trends", "path": "p"}, "sink_type"),
        (
            {"sink_type": "cron", "workflow_name": "research/trends", "cron_expression": "nope"},
            "cron_expression",
        ),
        ({"sink_type": "http", "workflow_name": "research/trends", "path": "../up"}, "path"),
        ({"sink_type": "http", "workflow_name": "no/such", "path": "p2"}, "workflow_name"),
        ({"sink_type": "http", "workflow_name": "research/trends", "path": "p3", "active": "yes"}, "active"),
    ):
        err = error(owner.post(f"/v1/organizations/{org_id}/sinks", json=body), 400)
        assert field in _paths(err) or field in err["message"]


def test_service_account_keys_from_public_bodies_expire(fresh_fabric: LocalFabric) -> None:
    with client_for(fresh_fabric, fresh_fabric.api_key) as owner:
        sa = data(owner.post("/v1/service-accounts", json={"name": "bot"}))
        plain = data(owner.post(f"/v1/service-accounts/{sa['id']}/api-keys", json={}))
        assert plain["name"] == "bot key" and plain["expires_at"] is None
        key = data(
            owner.post(
                f"/v1/service-accounts/{sa['id']}/api-keys",
                json={"description": "ci", "scopes": ["workflow.run"], "expires_in_days": 1},
            )
        )
        assert (key["name"], key["description"], key["disabled"]) == ("ci", "ci", False) and key["expires_at"]
        err = error(owner.post(f"/v1/service-accounts/{sa['id']}/api-keys", json={"expires_in_days": 0}), 400)
        assert "expires_in_days" in _paths(err)
        with client_for(fresh_fabric, key["key"]) as bot:
            data(bot.get("/v1/me"))
            fresh_fabric.advance_time(2 * 86400)
            error(bot.get("/v1/me"), 401, "token_expired")


def test_token_exchange_by_user_id_and_refresh_without_credentials(fresh_fabric: LocalFabric) -> None:
    user = _signup(fresh_fabric)
    with client_for(fresh_fabric, fresh_fabric.api_key) as owner, client_for(fresh_fabric) as anon:
        oc = data(
            owner.post(
                "/v1/oauth/clients",
                json={"name": "app", "redirect_uris": ["https://a.example/cb"], "scopes": []},
            )
        )
        exchange = {
            "grant_type": "token_exchange",
            "client_id": oc["client_id"],
            "client_secret": oc["client_secret"],
        }
        exchange.update(subject_token=user["user"]["id"], subject_token_type="urn:fabric:user_id")
        error(anon.post("/v1/oauth/token", json=exchange), 401)  # not a member of the client's org yet
        org_id = fresh_fabric.organization_id
        invite = data(
            owner.post(
                "/v1/invitations", json={"organization_id": org_id, "email": user["email"], "role": "member"}
            )
        )
        with client_for(fresh_fabric, user["access_token"]) as member:
            data(member.post(f"/v1/invitations/{invite['id']}/accept"))
        tokens = data(anon.post("/v1/oauth/token", json=exchange))
        refreshed = data(
            anon.post(
                "/v1/oauth/token",
                json={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            )
        )
        assert refreshed["access_token"] != tokens["access_token"]
        # The used refresh token comes back: rejected (and its family revoked).
        error(
            anon.post(
                "/v1/oauth/token",
                json={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            ),
            401,
        )
        err = error(anon.post("/v1/oauth/token", json={"grant_type": "refresh_token"}), 400)
        assert "refresh_token" in err["message"]


def test_bootstrap_without_a_body_promotes_the_caller(fresh_fabric: LocalFabric) -> None:
    with client_for(fresh_fabric) as anon:
        err = error(anon.post("/v1/admin/bootstrap"), 400)
        assert "email" in err["message"]
    user = _signup(fresh_fabric)
    with client_for(fresh_fabric, user["access_token"]) as me:
        assert data(me.post("/v1/admin/bootstrap", json={}))["is_admin"] is True
        error(me.post("/v1/admin/bootstrap"), 409, "conflict")
        limit = data(
            me.put("/v1/admin/concurrency-limits", json={"scope": "global", "max_concurrent_runs": 3})
        )
        assert (limit["scope"], limit["organization_id"]) == ("global", None)
        err = error(
            me.put("/v1/admin/concurrency-limits", json={"scope": "nope", "max_concurrent_runs": 3}), 400
        )
        assert "scope" in err["message"]


def test_user_session_without_organization_uses_the_only_one_or_names_the_parameter(
    fresh_fabric: LocalFabric,
) -> None:
    user = _signup(fresh_fabric)
    with client_for(fresh_fabric, user["access_token"]) as me:
        err = error(me.get("/v1/workflows/runs"), 400, "validation_error")
        assert _paths(err) == ["organization_id"]
    with client_for(fresh_fabric, fresh_fabric.api_key) as owner:
        invite = {"organization_id": fresh_fabric.organization_id, "email": user["email"], "role": "member"}
        invite_id = data(owner.post("/v1/invitations", json=invite))["id"]
    with client_for(fresh_fabric, user["access_token"]) as me:
        data(me.post(f"/v1/invitations/{invite_id}/accept"))
        assert isinstance(data(me.get("/v1/workflows/runs")), list)


def test_grants_and_batch_checks_without_resource(owner: httpx.Client, fabric: LocalFabric) -> None:
    grant = data(
        owner.post("/v1/permissions", json={"principal_id": fabric.owner["id"], "action": "runs.read"})
    )
    assert grant["resource"] == "*"
    checks = data(owner.post("/v1/authz/check-batch", json={"checks": [{"action": "workflow.run"}]}))
    assert checks[0]["resource"] is None and checks[0]["allowed"] is True
    role = data(
        owner.get(
            "/v1/permissions/resolve/workspace",
            params={"principal_id": fabric.owner["id"], "organization_id": fabric.organization_id},
        )
    )
    assert role["role"] == "owner" and role["workspace_id"] is None
    err = error(owner.get("/v1/permissions/resolve/workspace"), 400)
    assert _paths(err) == ["workspace_id"]
