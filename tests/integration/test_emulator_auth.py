"""Sign-up, sign-in, tokens, emailed links and principal resolution."""

from __future__ import annotations

import uuid
from typing import Callable

from conftest import Account, anonymous, client_for, data, error, sign_up, unique

from fabric_platform.testing import LocalFabric


def _mail(server: LocalFabric, kind: str, to: str) -> dict:
    messages = [m for m in server.outbox if m["kind"] == kind and m["to"] == to]
    assert messages, f"no {kind} email to {to}"
    return messages[-1]


def test_signup_returns_tokens_and_sends_verification(fabric: LocalFabric) -> None:
    email = f"{unique('sign')}@Example.com"
    with client_for(fabric) as anon:
        tokens = data(anon.post("/v1/auth/signup", json={"email": email, "password": "longenough1"}))
        assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
        assert tokens["user"] == {
            "id": tokens["user"]["id"],
            "email": email.lower(),
            "display_name": None,
            "email_verified": False,
        }
        mail = _mail(fabric, "verification", email.lower())
        assert mail["token"] in mail["link"] and mail["link"].startswith(fabric.base_url)
        assert data(anon.post("/v1/auth/verify", json={"token": mail["token"]})) is None
        # The token is single use.
        error(anon.post("/v1/auth/verify", json={"token": mail["token"]}), 400)
        error(anon.post("/v1/auth/signup", json={"email": email, "password": "longenough1"}), 409, "conflict")
    with client_for(fabric, tokens["access_token"]) as user:
        me = data(user.get("/v1/me"))
        assert me["principal_id"] == tokens["user"]["id"] and me["email"] == email.lower()
    login = data(anonymous(fabric).post("/v1/auth/login", json={"email": email, "password": "longenough1"}))
    assert login["user"]["email_verified"] is True


def test_signup_validation(fabric: LocalFabric) -> None:
    with client_for(fabric) as anon:
        error(
            anon.post("/v1/auth/signup", json={"email": "not-an-email", "password": "longenough1"}),
            400,
            "validation_error",
        )
        err = error(
            anon.post("/v1/auth/signup", json={"email": f"{unique()}@x.io", "password": "short"}),
            400,
            "validation_error",
        )
        assert err["details"]["errors"][0]["path"] == "password"
        err = error(
            anon.post("/v1/auth/signup", json={"email": 42, "password": "longenough1"}),
            400,
            "validation_error",
        )
        assert err["details"]["errors"][0]["path"] == "email"


def test_login_failures_are_401(fabric: LocalFabric, make_user: Callable[..., Account]) -> None:
    account = make_user(with_org=False)
    with client_for(fabric) as anon:
        error(
            anon.post("/v1/auth/login", json={"email": account.email, "password": "wrong-password"}),
            401,
            "unauthorized",
        )
        error(
            anon.post("/v1/auth/login", json={"email": "nobody@nowhere.io", "password": "whatever1"}),
            401,
            "unauthorized",
        )


def test_refresh_rotates_and_reuse_revokes_the_family(
    fabric: LocalFabric, make_user: Callable[..., Account]
) -> None:
    account = make_user(with_org=False)
    first = account.tokens
    with client_for(fabric) as anon:
        second = data(anon.post("/v1/auth/token/refresh", json={"refresh_token": first["refresh_token"]}))
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        third = data(anon.post("/v1/auth/token/refresh", json={"refresh_token": second["refresh_token"]}))
        # The old access tokens keep working until they expire...
        with client_for(fabric, second["access_token"]) as c:
            assert data(c.get("/v1/me/organizations")) == []
        # ...until a rotated refresh token comes back: then the whole family is revoked.
        error(
            anon.post("/v1/auth/token/refresh", json={"refresh_token": first["refresh_token"]}),
            401,
            "unauthorized",
        )
        for token in (second["access_token"], third["access_token"]):
            with client_for(fabric, token) as c:
                error(c.get("/v1/me/organizations"), 401, "unauthorized")
        error(anon.post("/v1/auth/token/refresh", json={"refresh_token": third["refresh_token"]}), 401)
        # Another login is a new family and works.
        fresh = data(anon.post("/v1/auth/login", json={"email": account.email, "password": account.password}))
    with client_for(fabric, fresh["access_token"]) as c:
        assert data(c.get("/v1/me"))["authenticated"] is True


def test_access_token_expires_on_the_emulator_clock(fresh_fabric: LocalFabric) -> None:
    account = sign_up(fresh_fabric, with_org=False)
    with account.client as c:
        data(c.get("/v1/me/organizations"))
        fresh_fabric.advance_time(901)
        error(c.get("/v1/me/organizations"), 401, "token_expired")
    refreshed = data(
        anonymous(fresh_fabric).post(
            "/v1/auth/token/refresh",
            json={"refresh_token": account.tokens["refresh_token"]},
        )
    )
    with client_for(fresh_fabric, refreshed["access_token"]) as c:
        data(c.get("/v1/me/organizations"))
    assert fresh_fabric.stats()["POST /v1/auth/token/refresh"] == 1


def test_access_token_ttl_is_configurable() -> None:
    with LocalFabric(speed=100, access_token_ttl=60, password_hash_iterations=1000) as server:
        account = sign_up(server, with_org=False)
        assert account.tokens["expires_in"] == 60
        server.advance_time(61)
        error(account.client.get("/v1/me/organizations"), 401, "token_expired")
        account.client.close()


def test_logout_and_logout_all(fabric: LocalFabric, make_user: Callable[..., Account]) -> None:
    account = make_user(with_org=False)
    other = data(
        anonymous(fabric).post("/v1/auth/login", json={"email": account.email, "password": account.password})
    )
    assert data(account.client.post("/v1/auth/logout", json={})) is None
    error(account.client.get("/v1/me/organizations"), 401)
    # The other session is untouched by a plain logout...
    with client_for(fabric, other["access_token"]) as c:
        data(c.get("/v1/me/organizations"))
        third = data(
            anonymous(fabric).post(
                "/v1/auth/login",
                json={"email": account.email, "password": account.password},
            )
        )
        # ...and logout-all ends every session, refresh tokens included.
        assert data(c.post("/v1/auth/logout-all", json={})) is None
        error(c.get("/v1/me/organizations"), 401)
    with client_for(fabric, third["access_token"]) as c:
        error(c.get("/v1/me/organizations"), 401)
    error(
        anonymous(fabric).post("/v1/auth/token/refresh", json={"refresh_token": third["refresh_token"]}),
        401,
    )


def test_forgot_and_reset_password(fabric: LocalFabric, make_user: Callable[..., Account]) -> None:
    account = make_user(with_org=False)
    with client_for(fabric) as anon:
        assert data(anon.post("/v1/auth/forgot-password", json={"email": account.email}), 202) is None
        # Unknown addresses get the same answer (and no email).
        before = len(fabric.outbox)
        data(anon.post("/v1/auth/forgot-password", json={"email": "ghost@example.com"}), 202)
        assert len(fabric.outbox) == before
        token = _mail(fabric, "password_recovery", account.email)["token"]
        data(
            anon.post(
                "/v1/auth/reset-password", json={"access_token": token, "new_password": "a-new-password"}
            )
        )
        error(
            anon.post(
                "/v1/auth/reset-password", json={"access_token": token, "new_password": "another-one1"}
            ),
            400,
        )
        error(anon.post("/v1/auth/login", json={"email": account.email, "password": account.password}), 401)
        data(anon.post("/v1/auth/login", json={"email": account.email, "password": "a-new-password"}))
    # Resetting the password ended the existing sessions.
    error(account.client.get("/v1/me/organizations"), 401)


def test_recovery_token_expires(fresh_fabric: LocalFabric) -> None:
    account = sign_up(fresh_fabric, with_org=False)
    with client_for(fresh_fabric) as anon:
        data(anon.post("/v1/auth/forgot-password", json={"email": account.email}), 202)
        token = _mail(fresh_fabric, "password_recovery", account.email)["token"]
        fresh_fabric.advance_time(3601)
        error(
            anon.post(
                "/v1/auth/reset-password", json={"access_token": token, "new_password": "a-new-password"}
            ),
            400,
        )
    account.client.close()


def test_change_password(fabric: LocalFabric, make_user: Callable[..., Account]) -> None:
    account = make_user(with_org=False)
    error(
        account.client.post(
            "/v1/auth/change-password",
            json={"current_password": "nope-nope", "new_password": "changed-pass1"},
        ),
        400,
        "validation_error",
    )
    data(
        account.client.post(
            "/v1/auth/change-password",
            json={"current_password": account.password, "new_password": "changed-pass1"},
        )
    )
    with client_for(fabric) as anon:
        data(anon.post("/v1/auth/login", json={"email": account.email, "password": "changed-pass1"}))
        error(
            anon.post("/v1/auth/change-password", json={"current_password": "x", "new_password": "y" * 9}),
            401,
        )


def test_resend_verification(fabric: LocalFabric, make_user: Callable[..., Account]) -> None:
    account = make_user(with_org=False)
    with client_for(fabric) as anon:
        data(anon.post("/v1/auth/resend-verification", json={"email": account.email}))
        mails = [m for m in fabric.outbox if m["kind"] == "verification" and m["to"] == account.email]
        assert len(mails) == 2
        data(anon.post("/v1/auth/verify", json={"token": mails[-1]["token"]}))


def test_magic_link_signs_in_through_the_emailed_link(fabric: LocalFabric) -> None:
    email = f"{unique('magic')}@example.com"
    with client_for(fabric) as anon:
        assert data(anon.post("/v1/auth/magic-link", json={"email": email}), 202) is None
        mail = _mail(fabric, "magic_link", email)
        tokens = data(anon.get(mail["link"]))
        assert tokens["user"]["email"] == email and tokens["user"]["email_verified"] is True
        error(anon.get(mail["link"]), 400)  # single use


def test_social_login_links_one_identity(fabric: LocalFabric) -> None:
    email = f"{unique('social')}@example.com"
    body = {"provider": "google", "provider_user_id": unique("g"), "email": email, "display_name": "Soc Ial"}
    with client_for(fabric) as anon:
        first = data(anon.post("/v1/auth/social-login", json=body))
        second = data(anon.post("/v1/auth/social-login", json=body))
    assert first["user"]["id"] == second["user"]["id"]
    assert first["user"]["display_name"] == "Soc Ial" and first["user"]["email_verified"] is True
    with client_for(fabric, second["access_token"]) as c:
        connections = data(c.get("/v1/me/social-connections"))
        assert [(x["provider"], x["email"]) for x in connections] == [("google", email)]
        data(c.delete("/v1/me/social-connections/google"))
        assert data(c.get("/v1/me/social-connections")) == []
        error(c.delete("/v1/me/social-connections/google"), 404)


def test_principal_header_is_honoured(fabric: LocalFabric) -> None:
    with client_for(fabric, **{"X-Principal-Id": fabric.owner["id"]}) as c:
        me = data(c.get("/v1/me"))
        assert me["principal_id"] == fabric.owner["id"] and me["email"] == fabric.owner["email"]
        data(c.get(f"/v1/organizations/{fabric.organization_id}"))
    stranger = str(uuid.uuid4())
    with client_for(fabric, **{"X-Principal-Id": stranger}) as c:
        assert data(c.get("/v1/me"))["principal_id"] == stranger
        error(c.get(f"/v1/organizations/{fabric.organization_id}"), 404)
    with client_for(fabric, **{"X-Principal-Id": "not-a-uuid"}) as c:
        error(c.get("/v1/me"), 401)


def test_principal_header_can_be_turned_off() -> None:
    with LocalFabric(speed=100, principal_header=False) as server:
        with client_for(server, **{"X-Principal-Id": server.owner["id"]}) as c:
            error(c.get(f"/v1/organizations/{server.organization_id}"), 401, "unauthorized")
        with client_for(server, server.api_key) as c:
            data(c.get(f"/v1/organizations/{server.organization_id}"))


def test_credentials_are_required_and_checked(fabric: LocalFabric) -> None:
    with client_for(fabric) as anon:
        error(anon.get("/v1/organizations"), 401, "unauthorized")
        assert data(anon.get("/v1/me")) == {
            "principal_id": None,
            "authenticated": False,
            "email": None,
            "display_name": None,
        }
    for header in ("Bearer nonsense", "Bearer fab_live_doesnotexist", "Basic abc", "Bearer"):
        with client_for(fabric, Authorization=header) as c:
            error(c.get("/v1/organizations"), 401, "unauthorized")
