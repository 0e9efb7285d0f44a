"""Idempotency-Key on POST: replay within 24 h, 409 on reuse with another body, per principal."""

from __future__ import annotations

import threading
import uuid
from typing import Callable, List

import httpx
from conftest import Account, anonymous, client_for, data, error, unique

from fabric_platform.testing import LocalFabric


def _key() -> str:
    return f"idem-{uuid.uuid4()}"


def test_same_key_same_body_replays_the_first_response(make_user: Callable[..., Account]) -> None:
    account = make_user(with_org=False)
    key = _key()
    body = {"slug": unique("idem"), "name": "Once"}
    first = account.client.post("/v1/organizations", json=body, headers={"Idempotency-Key": key})
    second = account.client.post("/v1/organizations", json=body, headers={"Idempotency-Key": key})
    assert data(first) == data(second)
    assert second.headers.get("idempotent-replayed") == "true" and "idempotent-replayed" not in first.headers
    assert (
        second.json()["meta"]["request_id"] == first.json()["meta"]["request_id"]
    )  # the first response, replayed
    assert len(data(account.client.get("/v1/organizations"))) == 1  # one side effect


def test_same_key_different_body_is_409(make_user: Callable[..., Account]) -> None:
    account = make_user(with_org=False)
    key = _key()
    data(
        account.client.post(
            "/v1/organizations", json={"slug": unique("a"), "name": "A"}, headers={"Idempotency-Key": key}
        )
    )
    err = error(
        account.client.post(
            "/v1/organizations", json={"slug": unique("b"), "name": "B"}, headers={"Idempotency-Key": key}
        ),
        409,
        "idempotency_key_reused",
    )
    assert err["message"]
    # Another endpoint with the same key is another request too.
    error(
        account.client.post(
            "/v1/teams",
            json={"organization_id": str(uuid.uuid4()), "slug": "t", "name": "t"},
            headers={"Idempotency-Key": key},
        ),
        409,
    )
    assert len(data(account.client.get("/v1/organizations"))) == 1


def test_keys_are_scoped_per_principal(make_user: Callable[..., Account]) -> None:
    alice, bob = make_user(with_org=False), make_user(with_org=False)
    key = _key()
    a = data(
        alice.client.post(
            "/v1/organizations", json={"slug": unique("al"), "name": "A"}, headers={"Idempotency-Key": key}
        )
    )
    b = data(
        bob.client.post(
            "/v1/organizations", json={"slug": unique("bo"), "name": "B"}, headers={"Idempotency-Key": key}
        )
    )
    assert a["id"] != b["id"]


def test_the_same_principal_with_a_new_token_still_replays(
    fabric: LocalFabric, make_user: Callable[..., Account]
) -> None:
    account = make_user(with_org=False)
    key = _key()
    body = {"slug": unique("tok"), "name": "T"}
    first = data(account.client.post("/v1/organizations", json=body, headers={"Idempotency-Key": key}))
    refreshed = data(
        anonymous(fabric).post(
            "/v1/auth/token/refresh",
            json={"refresh_token": account.tokens["refresh_token"]},
        )
    )
    with client_for(fabric, refreshed["access_token"]) as c:
        assert (
            data(c.post("/v1/organizations", json=body, headers={"Idempotency-Key": key}))["id"]
            == first["id"]
        )


def test_failed_attempts_do_not_burn_the_key(make_user: Callable[..., Account]) -> None:
    account = make_user(with_org=False)
    key = _key()
    taken = data(account.client.post("/v1/organizations", json={"slug": unique("t"), "name": "x"}))["slug"]
    error(
        account.client.post(
            "/v1/organizations", json={"slug": taken, "name": "x"}, headers={"Idempotency-Key": key}
        ),
        409,
        "conflict",
    )
    data(
        account.client.post(
            "/v1/organizations", json={"slug": unique("ok"), "name": "x"}, headers={"Idempotency-Key": key}
        )
    )


def test_keys_expire_after_24_hours(fresh_fabric: LocalFabric, fresh_owner: httpx.Client) -> None:
    key = _key()
    body = {"modality": "text", "input": {"prompt": "day"}}
    first = data(fresh_owner.post("/v1/jobs", json=body, headers={"Idempotency-Key": key}))
    fresh_fabric.advance_time(23 * 3600)
    assert (
        data(fresh_owner.post("/v1/jobs", json=body, headers={"Idempotency-Key": key}))["id"] == first["id"]
    )
    fresh_fabric.advance_time(2 * 3600)
    assert (
        data(fresh_owner.post("/v1/jobs", json=body, headers={"Idempotency-Key": key}))["id"] != first["id"]
    )


def test_concurrent_retries_create_one_resource(fresh_fabric: LocalFabric, fresh_owner: httpx.Client) -> None:
    # Slow the route down so the attempts overlap on the server.
    fresh_fabric.add_latency("POST", "/v1/organizations", 0.2)
    key = _key()
    body = {"slug": unique("race"), "name": "Race"}
    results: List[httpx.Response] = []

    def attempt() -> None:
        with client_for(fresh_fabric, fresh_fabric.api_key) as c:
            results.append(c.post("/v1/organizations", json=body, headers={"Idempotency-Key": key}))

    threads = [threading.Thread(target=attempt) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [r.status_code for r in results] == [200] * 5
    assert len({r.json()["data"]["id"] for r in results}) == 1
    slugs = [o["slug"] for o in data(fresh_owner.get("/v1/organizations"))]
    assert slugs.count(body["slug"]) == 1


def test_bad_idempotency_key_is_400(owner: httpx.Client) -> None:
    error(
        owner.post(
            "/v1/jobs", json={"modality": "text", "input": {}}, headers={"Idempotency-Key": "k" * 256}
        ),
        400,
    )
