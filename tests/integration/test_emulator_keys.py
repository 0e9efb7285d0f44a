"""API keys (shown once, hashed, scoped, revocable at once) and write-only secrets."""

from __future__ import annotations

import json
from typing import Callable

from conftest import Account, client_for, data, error

from fabric_platform.testing import LocalFabric


def test_key_is_shown_once_and_works(fabric: LocalFabric, make_user: Callable[..., Account]) -> None:
    account = make_user()
    created = data(
        account.client.post("/v1/api-keys", json={"name": "ci", "organization_id": account.org_id})
    )
    key = created["key"]
    assert key.startswith("fab_live_") and created["prefix"] == key[: len(created["prefix"])]
    assert created["organization_id"] == account.org_id and created["scopes"] == []
    listed = data(account.client.get("/v1/api-keys"))
    fetched = data(account.client.get(f"/v1/api-keys/{created['id']}"))
    for doc in [*listed, fetched]:
        assert "key" not in doc and key not in json.dumps(doc)
        assert not any(k.startswith("_") for k in doc)
    assert fetched["active"] is True and fetched["service_account_id"] is None
    assert fetched["last_used_at"] is None
    with client_for(fabric, key) as c:
        assert data(c.get("/v1/me"))["principal_id"] == account.user_id
    assert data(account.client.get(f"/v1/api-keys/{created['id']}"))["last_used_at"] is not None
    test_key = data(
        account.client.post(
            "/v1/api-keys", json={"name": "t", "organization_id": account.org_id, "environment": "test"}
        )
    )
    assert test_key["key"].startswith("fab_test_")


def test_scopes_are_enforced(fabric: LocalFabric, make_user: Callable[..., Account]) -> None:
    account = make_user()
    org = account.org_id
    scoped = data(
        account.client.post(
            "/v1/api-keys", json={"name": "jobs-only", "organization_id": org, "scopes": ["job.create"]}
        )
    )
    with client_for(fabric, scoped["key"]) as c:
        job = data(
            c.post("/v1/jobs", json={"modality": "text", "input": {"prompt": "hi"}, "organization_id": org})
        )
        data(c.get(f"/v1/jobs/{job['id']}"))  # any scope of an area grants reading it
        error(
            c.post("/v1/teams", json={"organization_id": org, "slug": "nope", "name": "x"}), 403, "forbidden"
        )
        error(c.post(f"/v1/organizations/{org}/secrets", json={"name": "K", "value": "v"}), 403)
        error(c.post("/v1/organizations", json={"slug": "from-scoped-key", "name": "x"}), 403)
        # A scoped key cannot mint a broader key.
        error(c.post("/v1/api-keys", json={"name": "wider", "organization_id": org}), 403)
        check = data(
            c.post("/v1/authz/check", json={"action": "workflow.edit", "resource": f"organization:{org}"})
        )
        assert check["allowed"] is False and "scope" in check["reason"]


def test_rotate_disable_delete_take_effect_at_once(
    fabric: LocalFabric, make_user: Callable[..., Account]
) -> None:
    account = make_user()
    created = data(account.client.post("/v1/api-keys", json={"name": "k", "organization_id": account.org_id}))
    old = created["key"]
    rotated = data(account.client.post(f"/v1/api-keys/{created['id']}/rotate"))
    assert rotated["id"] == created["id"] and rotated["key"] != old
    with client_for(fabric, old) as c:
        error(c.get("/v1/me/organizations"), 401, "unauthorized")
    with client_for(fabric, rotated["key"]) as c:
        data(c.get("/v1/me/organizations"))
        assert data(account.client.post(f"/v1/api-keys/{created['id']}/disable")) is None
        error(c.get("/v1/me/organizations"), 401, "unauthorized")
    assert data(account.client.get(f"/v1/api-keys/{created['id']}"))["active"] is False
    other = data(account.client.post("/v1/api-keys", json={"name": "k2", "organization_id": account.org_id}))
    with client_for(fabric, other["key"]) as c:
        data(c.get("/v1/me/organizations"))
        assert data(account.client.delete(f"/v1/api-keys/{other['id']}")) is None
        error(c.get("/v1/me/organizations"), 401)
    error(account.client.get(f"/v1/api-keys/{other['id']}"), 404)


def test_keys_of_other_organizations_are_invisible(make_user: Callable[..., Account]) -> None:
    alice, bob = make_user(), make_user()
    key = data(bob.client.post("/v1/api-keys", json={"name": "bob", "organization_id": bob.org_id}))
    assert all(k["id"] != key["id"] for k in data(alice.client.get("/v1/api-keys")))
    for method, path in (
        ("GET", f"/v1/api-keys/{key['id']}"),
        ("POST", f"/v1/api-keys/{key['id']}/rotate"),
        ("POST", f"/v1/api-keys/{key['id']}/disable"),
        ("DELETE", f"/v1/api-keys/{key['id']}"),
    ):
        error(alice.client.request(method, path), 404, "not_found")
    error(alice.client.post("/v1/api-keys", json={"name": "x", "organization_id": bob.org_id}), 404)


def test_secrets_are_write_only(fabric: LocalFabric, make_user: Callable[..., Account]) -> None:
    account = make_user()
    org = account.org_id
    value = "sk-very-secret-value-123"
    assert (
        data(
            account.client.post(
                f"/v1/organizations/{org}/secrets", json={"name": "OPENAI_API_KEY", "value": value}
            )
        )
        is None
    )
    first = data(account.client.get(f"/v1/organizations/{org}/secrets"))
    assert [s["name"] for s in first] == ["OPENAI_API_KEY"]
    assert set(first[0]) == {"name", "created_at", "updated_at"}
    # Overwriting keeps one entry and moves updated_at.
    data(
        account.client.post(
            f"/v1/organizations/{org}/secrets", json={"name": "OPENAI_API_KEY", "value": value + "2"}
        )
    )
    second = data(account.client.get(f"/v1/organizations/{org}/secrets"))
    assert len(second) == 1 and second[0]["created_at"] == first[0]["created_at"]
    # The value appears in no response at all.
    bodies = [
        account.client.get(f"/v1/organizations/{org}/secrets").text,
        account.client.get(f"/v1/organizations/{org}/export").text,
        account.client.get(f"/v1/organizations/{org}").text,
    ]
    assert not any(value in body for body in bodies)
    error(
        account.client.post(f"/v1/organizations/{org}/secrets", json={"name": "bad name!", "value": "v"}), 400
    )
    assert data(account.client.delete(f"/v1/organizations/{org}/secrets/OPENAI_API_KEY")) is None
    assert data(account.client.get(f"/v1/organizations/{org}/secrets")) == []
    error(account.client.delete(f"/v1/organizations/{org}/secrets/OPENAI_API_KEY"), 404)
