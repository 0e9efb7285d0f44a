"""Service accounts, OAuth clients and tokens, and TOTP through the SDK."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from typing import Any, Dict, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from conftest import client_for, data, unique

from fabric_platform import (
    FabricAuthError,
    FabricClient,
    FabricConflictError,
    FabricForbiddenError,
)
from fabric_platform.testing import LocalFabric


@pytest.fixture()
def org_client(fabric: LocalFabric) -> Iterator[Any]:
    with fabric.client() as owner:
        org = owner.create_organization(unique("idn"), "Identity tests")
    with fabric.client(organization_id=org["id"], strict=True) as client:
        yield client


def _status(fabric: LocalFabric, token: str, path: str = "/v1/me") -> int:
    with client_for(fabric, token) as http:
        return http.get(path).status_code


# --------------------------------------------------------------------------- service accounts
def test_service_accounts_and_their_keys(fabric: LocalFabric, org_client: Any) -> None:
    accounts = org_client.service_accounts
    bot = accounts.create("ci-bot", role="member", description="CI pipeline")
    assert bot["active"] is True and bot["role"] == "member"
    assert bot["organization_id"] == org_client.organization_id
    key = accounts.create_api_key(bot["id"], "ci-key", ["job.create"])
    assert key["service_account_id"] == bot["id"] and key["key"].startswith("fab_live_")
    assert [k["id"] for k in accounts.list_api_keys(bot["id"])] == [key["id"]]
    assert accounts.get(bot["id"])["name"] == "ci-bot"
    assert bot["id"] in {a["id"] for a in accounts.list()}

    with FabricClient(
        base_url=fabric.base_url, api_key=key["key"], organization_id=bot["organization_id"], max_retries=0
    ) as as_bot:
        assert as_bot.get_me()["principal_id"] == bot["id"]
        job = as_bot.create_job("text", {"prompt": "from the bot"})
        assert job["organization_id"] == org_client.organization_id
        with pytest.raises(FabricForbiddenError):  # outside the key's scopes
            as_bot.create_gallery("portrait", "not allowed")

    assert accounts.disable(bot["id"])["active"] is False
    assert _status(fabric, key["key"]) == 401
    assert accounts.enable(bot["id"])["active"] is True
    assert _status(fabric, key["key"]) == 200

    rotated = accounts.rotate_api_key(bot["id"], key["id"])
    assert rotated["id"] == key["id"] and rotated["key"] != key["key"]
    assert _status(fabric, key["key"]) == 401 and _status(fabric, rotated["key"]) == 200
    accounts.revoke_api_key(bot["id"], key["id"])
    assert _status(fabric, rotated["key"]) == 401
    assert accounts.list_api_keys(bot["id"]) == []


def test_service_account_roles_cannot_exceed_the_creator(fabric: LocalFabric, make_user: Any) -> None:
    member = make_user()
    with fabric.client() as owner:
        invitation = owner.create_invitation(owner.organization_id, member.email, role="admin")
    data(member.client.post(f"/v1/invitations/{invitation['id']}/accept", json={}))
    response = member.client.post(
        "/v1/service-accounts",
        json={"name": "too-strong", "role": "owner", "organization_id": fabric.organization_id},
    )
    assert response.status_code == 403


# --------------------------------------------------------------------------- OAuth
def test_oauth_client_credentials_token_exchange_refresh_and_revoke(
    fabric: LocalFabric, org_client: Any, make_user: Any
) -> None:
    registered = org_client.create_oauth_client(
        "Reporting app", ["https://app.example.com/cb"], ["job.create"]
    )
    client_id, secret = registered["client_id"], registered["client_secret"]
    assert secret and "client_secret" not in org_client.list_oauth_clients()[0]

    with FabricClient(
        base_url=fabric.base_url, organization_id=org_client.organization_id, max_retries=0
    ) as app:
        with pytest.raises(FabricAuthError):
            app.oauth_token(client_id, secret + "x", grant_type="client_credentials")
        issued = app.oauth_token(client_id, secret, grant_type="client_credentials")
        assert issued["token_type"] == "bearer" and issued["scope"] == "job.create"
        assert issued["refresh_token"] is None  # RFC 6749 §4.4.3
        # The client now calls with its token: it acts as the registering owner, narrowed to job.create.
        assert app.get_me()["principal_id"] == fabric.owner["id"]
        assert app.create_job("text", {"prompt": "via oauth"})["status"] == "queued"
        with pytest.raises(FabricForbiddenError):
            app.create_gallery("portrait", "outside the scope")

    # token exchange: the app acts as a user who handed it their access token.
    user = make_user()
    with FabricClient(base_url=fabric.base_url, max_retries=0) as app:
        exchanged = app.oauth_token(
            client_id,
            secret,
            grant_type="token_exchange",
            subject_token=user.tokens["access_token"],
            subject_token_type="urn:ietf:params:oauth:token-type:access_token",
        )
        assert app.get_me()["principal_id"] == user.user_id
        assert exchanged["refresh_token"] and exchanged["scope"] == "job.create"
        refreshed = app.oauth_token(
            client_id, secret, grant_type="refresh_token", refresh_token=exchanged["refresh_token"]
        )
    assert refreshed["access_token"] != exchanged["access_token"]
    assert _status(fabric, refreshed["access_token"]) == 200
    # A refresh token is single use; presenting it again revokes the whole family.
    with FabricClient(base_url=fabric.base_url, max_retries=0) as app, pytest.raises(FabricAuthError):
        app.oauth_token(
            client_id, secret, grant_type="refresh_token", refresh_token=exchanged["refresh_token"]
        )
    assert _status(fabric, refreshed["access_token"]) == 401

    with FabricClient(base_url=fabric.base_url, max_retries=0) as app:
        fresh = app.oauth_token(client_id, secret, grant_type="client_credentials")
    assert _status(fabric, fresh["access_token"]) == 200
    org_client.oauth_revoke_token(fresh["access_token"])
    assert _status(fabric, fresh["access_token"]) == 401

    with FabricClient(base_url=fabric.base_url, max_retries=0) as app:
        last = app.oauth_token(client_id, secret, grant_type="client_credentials")
    org_client.delete_oauth_client(registered["id"])
    assert _status(fabric, last["access_token"]) == 401  # a deleted client's tokens die with it
    assert registered["id"] not in {c["id"] for c in org_client.list_oauth_clients()}


# --------------------------------------------------------------------------- TOTP
def _code_from_uri(uri: str, unix_time: float) -> str:
    """An independent RFC 6238 implementation, driven only by the otpauth URI."""
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    query: Dict[str, str] = {k: v[0] for k, v in parse_qs(parts.query).items()}
    secret = query["secret"]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digits, period = int(query.get("digits", 6)), int(query.get("period", 30))
    algorithm = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256}[query.get("algorithm", "SHA1")]
    counter = int(unix_time) // period
    digest = hmac.new(key, struct.pack(">Q", counter), algorithm).digest()
    offset = digest[-1] & 0x0F
    value = (int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF) % 10**digits
    return str(value).zfill(digits)


def test_totp_enroll_verify_recover_disable(fabric: LocalFabric, make_user: Any) -> None:
    user = make_user()
    with FabricClient(base_url=fabric.base_url, max_retries=0, strict=True) as client:
        client.login(user.email, user.password)
        enrollment = client.totp_enroll()
        uri = enrollment["otpauth_uri"]
        assert unquote(urlsplit(uri).path).endswith(user.email)
        assert len(enrollment["recovery_codes"]) == 10

        now = fabric.emulator.clock.now().timestamp()
        wrong = client.totp_verify("000000" if _code_from_uri(uri, now) != "000000" else "111111")
        assert wrong == {"enrolled": False, "valid": False, "message": wrong["message"]}
        first = client.totp_verify(_code_from_uri(uri, now))
        assert first["valid"] is True and first["enrolled"] is True
        replay = client.totp_verify(_code_from_uri(uri, now))
        assert replay["valid"] is False  # a code's time step is accepted once
        assert client.totp_verify(_code_from_uri(uri, now + 30))["valid"] is True  # next step, within skew
        with pytest.raises(FabricConflictError):
            client.totp_enroll()  # already enabled

        code = enrollment["recovery_codes"][3]
        assert client.totp_recovery(code)["valid"] is True
        assert client.totp_recovery(code)["valid"] is False  # single use
        assert client.totp_recovery("nope-nope")["valid"] is False

        client.totp_disable()
        with pytest.raises(FabricConflictError):
            client.totp_verify(_code_from_uri(uri, now + 60))
