"""Security through the SDK against the emulator: dead credentials are 401, a reused refresh
token revokes its family, secrets stay out of logs, reprs, errors, streams and webhook
payloads, and webhook verification rejects anything but the signed bytes."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Callable, Dict, List

import pytest
from conftest import unique, wait_until
from webhook_receiver import Receiver

from fabric_platform import FabricClient
from fabric_platform._auth import refresh_idempotency_key
from fabric_platform.errors import FabricAuthError, FabricError, FabricSignatureError
from fabric_platform.testing import LocalFabric
from fabric_platform.webhooks import compute_signature, construct_event

PASSWORD = "security-Passw0rd-long"
REFRESH = "POST /v1/auth/token/refresh"


def _user(local: LocalFabric) -> FabricClient:
    client = FabricClient(base_url=local.base_url)
    client.signup(f"{unique('sec')}@example.com", PASSWORD)
    return client


def _assert_401(call: Callable[[], Any], secret: str) -> FabricAuthError:
    with pytest.raises(FabricAuthError) as info:
        call()
    assert info.value.status_code == 401
    assert secret not in str(info.value) and secret not in repr(info.value)
    return info.value


def test_disabled_deleted_and_rotated_out_api_keys_get_401(fabric: LocalFabric) -> None:
    with fabric.client() as owner:
        org = owner.create_organization(unique("keys"), "Keys")["id"]
        made = {name: owner.create_api_key(name, org) for name in ("disabled", "deleted", "rotated")}
        clients = {
            name: FabricClient(base_url=fabric.base_url, api_key=key["key"]) for name, key in made.items()
        }
        try:
            for client in clients.values():
                assert client.get_me()["authenticated"]  # each works before
            owner.disable_api_key(made["disabled"]["id"])
            owner.delete_api_key(made["deleted"]["id"])
            rotated = owner.rotate_api_key(made["rotated"]["id"])
            for name, client in clients.items():
                _assert_401(client.get_me, made[name]["key"])
                _assert_401(lambda c=client: c.list_jobs(), made[name]["key"])
            with FabricClient(base_url=fabric.base_url, api_key=rotated["key"]) as fresh:
                assert fresh.get_me()["authenticated"]  # the replacement works
            # A key of a disabled service account is dead too.
            account = owner.service_accounts.create(unique("sa"), organization_id=org)
            sa_key = owner.service_accounts.create_api_key(account["id"], "ci")
            with FabricClient(base_url=fabric.base_url, api_key=sa_key["key"]) as robot:
                assert robot.get_me()["authenticated"]
                owner.service_accounts.disable(account["id"])
                _assert_401(robot.get_me, sa_key["key"])
        finally:
            for client in clients.values():
                client.close()


def test_a_reused_rotated_refresh_token_gets_401_and_revokes_the_family(fresh_fabric: LocalFabric) -> None:
    victim = _user(fresh_fabric)
    stolen = victim._tokens.refresh_token
    assert stolen
    fresh_fabric.advance_time(3600)  # the access token expires: the SDK refreshes by itself
    assert victim.get_me()["authenticated"] and victim._tokens.refresh_calls == 1
    rotated = victim._tokens.refresh_token
    assert rotated and rotated != stolen
    # Later (past the short replay window a lost answer may be fetched again in), someone
    # presents the spent token — with the Idempotency-Key the SDK derives from it, which
    # anyone holding the token can compute.
    fresh_fabric.advance_time(120)
    attacker = FabricClient(base_url=fresh_fabric.base_url)
    try:
        _assert_401(
            lambda: attacker.refresh_token(stolen, idempotency_key=refresh_idempotency_key(stolen)), stolen
        )
        _assert_401(lambda: attacker.refresh_token(stolen), stolen)
        # The whole family is revoked: the victim's current tokens are dead too.
        _assert_401(lambda: attacker.refresh_token(rotated), rotated)
        _assert_401(victim.get_me, rotated)
    finally:
        attacker.close()
        victim.close()


def test_a_lost_refresh_answer_is_replayed_within_the_minute(fresh_fabric: LocalFabric) -> None:
    # The other side of the window: the refresh was carried out, its answer lost (503 after
    # the commit). The SDK's retry carries the same derived key and gets the same pair.
    client = _user(fresh_fabric)
    try:
        fresh_fabric.advance_time(3600)
        fresh_fabric.reset_stats()
        fresh_fabric.fail_next("POST", "/v1/auth/token/refresh", 503, commit=True, retry_after=0.01)
        assert client.get_me()["authenticated"]
        assert fresh_fabric.stats()[REFRESH] == 2  # the committed attempt and its replay
        assert client._tokens.refresh_calls == 1
        assert client.get_me()["authenticated"]  # the replayed pair is the live one
    finally:
        client.close()


def test_secrets_stay_out_of_logs_reprs_errors_streams_and_webhooks(
    fresh_fabric: LocalFabric, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fabric_platform")
    local = fresh_fabric
    secrets: Dict[str, str] = {
        "password": PASSWORD,
        "secret value": f"sv-{uuid.uuid4().hex}",
        "webhook secret": f"whsec-{uuid.uuid4().hex}",
    }
    texts: List[str] = []
    user = _user(local)
    org = user.create_organization(unique("sec"), "Secrets")["id"]
    user = user.with_options(organization_id=org)
    secrets["access token"] = user._tokens.access_token or ""
    secrets["refresh token"] = user._tokens.refresh_token or ""
    with Receiver() as hook:
        user.set_secret("PROVIDER_KEY", secrets["secret value"], org_id=org)
        created = user.create_webhook(org, hook.url, ["job.completed"], secret=secrets["webhook secret"])
        key = user.create_api_key("ci", org)
        secrets["api key"] = key["key"]
        app = user.apps.create("app", organization_id=org)
        secrets["client secret"] = app["client_secret"]
        job = user.create_job(modality="text", input={"prompt": "hello"}, organization_id=org)
        (delivery,) = hook.wait_for(1)
        events = list(user.stream_job_events(job["id"]))
        local.advance_time(3600)  # one refresh, logged at DEBUG
        user.get_me()
        secrets["refreshed access token"] = user._tokens.access_token or ""
        for bad in (
            lambda: FabricClient(base_url=local.base_url, api_key=key["key"] + "x").get_me(),
            lambda: user.login("nobody@example.com", PASSWORD),
            lambda: user.set_secret("", secrets["secret value"], org_id=org),
        ):
            try:
                bad()
            except FabricError as exc:
                texts += [str(exc), repr(exc)]
        texts += [repr(user), repr(user._transport), repr(user._tokens), repr(user._config)]
        texts += [repr(created.keys()), repr(user.get_webhook(created["id"]))]
        texts += [e.data for e in events]
        texts.append(delivery.body.decode())
        texts += [json.dumps(d) for d in user.list_webhook_deliveries(created["id"])]
        texts.append(json.dumps(user.organizations.export(org)))
    user.close()
    texts += [record.getMessage() for record in caplog.records]
    assert len(caplog.records) > 20, "DEBUG logging must actually log the session"
    assert any("refresh" in r.getMessage() for r in caplog.records)
    leaks = [f"{name} in {text[:80]!r}" for name, s in secrets.items() if s for text in texts if s in text]
    assert not leaks, "\n".join(leaks)
    # The delivery itself verifies with the webhook's secret.
    assert construct_event(delivery.body, delivery.headers["x-fabric-signature"], secrets["webhook secret"])


def test_webhook_verification_rejects_anything_but_the_signed_bytes(fabric: LocalFabric) -> None:
    secret = f"whsec-{uuid.uuid4().hex}"
    with fabric.client() as owner:
        org = owner.create_organization(unique("hooks"), "Hooks")["id"]
        with Receiver() as hook:
            owner.create_webhook(org, hook.url, ["job.completed"], secret=secret)
            owner.create_job(modality="text", input={"prompt": "sign me"}, organization_id=org)
            (delivery,) = wait_until(lambda: hook.received(), what="a delivery")
    body, header = delivery.body, delivery.headers["x-fabric-signature"]
    assert construct_event(body, header, secret)["kind"] == "job.completed"
    event = json.loads(body)
    tampered = [
        body.replace(b"job.completed", b"job.completeD"),
        body + b" ",
        body[:-1],
        json.dumps(event).encode(),  # the same JSON, re-serialised: other bytes
        json.dumps({**event, "organization_id": str(uuid.uuid4())}).encode(),
    ]
    rejected = [(b, header, secret) for b in tampered]
    rejected += [
        (body, header, secret + "x"),  # wrong secret
        (body, header, ""),  # no secret configured
        (body, None, secret),  # missing header
        (body, "", secret),
        (body, header.replace("sha256=", "sha1="), secret),  # malformed headers
        (body, header[:-1], secret),
        (body, header + "0", secret),
        (body, "sha256=" + "z" * 64, secret),
        (body, header.split("=", 1)[1], secret),
        (body, compute_signature(body, secret + "x"), secret),
    ]
    for raw, sig, key in rejected:
        with pytest.raises(FabricSignatureError) as info:
            construct_event(raw, sig, key)
        assert secret not in str(info.value)
