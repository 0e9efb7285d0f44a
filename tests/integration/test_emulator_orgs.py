"""Organizations, teams, invitations, roles, isolation, me/* and authorization checks."""

from __future__ import annotations

import uuid
from typing import Callable, Dict

import httpx
from conftest import Account, client_for, data, error, unique

from fabric_platform.testing import LocalFabric


def _invite_and_join(fabric: LocalFabric, admin: Account, member: Account, role: str) -> Dict:
    invitation = data(
        admin.client.post(
            "/v1/invitations", json={"organization_id": admin.org_id, "email": member.email, "role": role}
        )
    )
    mail = [m for m in fabric.outbox if m["kind"] == "invitation" and m["to"] == member.email][-1]
    assert mail["invitation_id"] == invitation["id"] and mail["token"] in mail["link"]
    return data(
        member.client.post(f"/v1/invitations/{invitation['id']}/accept", json={"token": mail["token"]})
    )


def test_create_organization_makes_the_caller_owner(make_user: Callable[..., Account]) -> None:
    account = make_user(with_org=False)
    slug = unique("acme")
    org = data(account.client.post("/v1/organizations", json={"slug": slug, "name": "Acme Corp"}))
    assert org["slug"] == slug and org["archived"] is False and org["created_at"] == org["updated_at"]
    assert [o["id"] for o in data(account.client.get("/v1/organizations"))] == [org["id"]]
    members = data(account.client.get(f"/v1/organizations/{org['id']}/members"))
    assert [(m["principal_id"], m["role"], m["email"]) for m in members] == [
        (account.user_id, "owner", account.email)
    ]
    assert data(account.client.get("/v1/me/organizations")) == [
        {"id": org["id"], "slug": slug, "name": "Acme Corp", "role": "owner"}
    ]
    error(account.client.post("/v1/organizations", json={"slug": slug, "name": "Again"}), 409, "conflict")
    error(
        account.client.post("/v1/organizations", json={"slug": "Not A Slug", "name": "x"}),
        400,
        "validation_error",
    )
    updated = data(account.client.patch(f"/v1/organizations/{org['id']}", json={"name": "Acme Inc"}))
    assert updated["name"] == "Acme Inc" and updated["slug"] == slug


def test_another_organization_is_invisible(make_user: Callable[..., Account], owner: httpx.Client) -> None:
    alice, bob = make_user(), make_user()
    org_b = bob.org_id
    for path in (
        f"/v1/organizations/{org_b}",
        f"/v1/organizations/{org_b}/members",
        f"/v1/organizations/{org_b}/teams",
        f"/v1/organizations/{org_b}/invitations",
        f"/v1/organizations/{org_b}/secrets",
        f"/v1/organizations/{org_b}/settings",
        f"/v1/organizations/{org_b}/budget",
    ):
        not_found = error(alice.client.get(path), 404, "not_found")
        unknown = error(alice.client.get(path.replace(org_b, str(uuid.uuid4()))), 404, "not_found")
        assert not_found["message"] == unknown["message"], path
    error(alice.client.patch(f"/v1/organizations/{org_b}", json={"name": "pwned"}), 404)
    error(alice.client.post("/v1/teams", json={"organization_id": org_b, "slug": "t", "name": "t"}), 404)
    error(alice.client.post("/v1/invitations", json={"organization_id": org_b, "email": "x@y.io"}), 404)
    error(alice.client.post(f"/v1/organizations/{org_b}/secrets", json={"name": "K", "value": "v"}), 404)
    team = data(bob.client.post("/v1/teams", json={"organization_id": org_b, "slug": "eng", "name": "Eng"}))
    error(alice.client.get(f"/v1/teams/{team['id']}"), 404)
    # Even the seeded owner sees nothing of Bob's organization.
    error(owner.get(f"/v1/organizations/{org_b}"), 404)


def test_teams(make_user: Callable[..., Account]) -> None:
    account = make_user()
    team = data(
        account.client.post(
            "/v1/teams",
            json={"organization_id": account.org_id, "slug": "engineering", "name": "Engineering"},
        )
    )
    assert team["organization_id"] == account.org_id and team["archived"] is False
    assert data(account.client.get(f"/v1/teams/{team['id']}")) == team
    assert data(account.client.get(f"/v1/organizations/{account.org_id}/teams")) == [team]
    my_teams = data(account.client.get("/v1/me/teams"))
    assert my_teams == [
        {
            "id": team["id"],
            "organization_id": account.org_id,
            "slug": "engineering",
            "name": "Engineering",
            "role": "owner",
        }
    ]
    error(
        account.client.post(
            "/v1/teams", json={"organization_id": account.org_id, "slug": "engineering", "name": "Dup"}
        ),
        409,
    )


def test_invitation_accepted_with_the_emailed_token(
    fabric: LocalFabric, make_user: Callable[..., Account]
) -> None:
    admin, invitee = make_user(), make_user(with_org=False)
    membership = _invite_and_join(fabric, admin, invitee, "member")
    assert membership["principal_id"] == invitee.user_id and membership["role"] == "member"
    assert membership["organization_id"] == admin.org_id and membership["active"] is True
    data(invitee.client.get(f"/v1/organizations/{admin.org_id}"))
    invitations = data(admin.client.get(f"/v1/organizations/{admin.org_id}/invitations"))
    assert [i["status"] for i in invitations] == ["accepted"]
    assert all("token" not in str(i) for i in invitations)


def test_invitation_link_get_accepts(fabric: LocalFabric, make_user: Callable[..., Account]) -> None:
    admin, invitee = make_user(), make_user(with_org=False)
    data(
        admin.client.post(
            "/v1/invitations",
            json={"organization_id": admin.org_id, "email": invitee.email, "role": "viewer"},
        )
    )
    link = [m for m in fabric.outbox if m["kind"] == "invitation" and m["to"] == invitee.email][-1]["link"]
    assert link.startswith(f"{fabric.base_url}/v1/invitations/")
    joined = data(invitee.client.get(link))
    assert joined["role"] == "viewer"
    error(invitee.client.get(link), 409, "conflict")


def test_invitation_token_checks_revoke_and_expiry(
    fresh_fabric: LocalFabric, fresh_owner: httpx.Client
) -> None:
    from conftest import sign_up

    org = fresh_fabric.organization_id
    invitee = sign_up(fresh_fabric, with_org=False)
    with invitee.client:
        inv = data(fresh_owner.post("/v1/invitations", json={"organization_id": org, "email": invitee.email}))
        assert inv["role"] == "member" and inv["status"] == "pending"
        error(invitee.client.post(f"/v1/invitations/{inv['id']}/accept", json={"token": "wrong"}), 403)
        revoked = data(fresh_owner.post(f"/v1/invitations/{inv['id']}/revoke"))
        assert revoked["status"] == "revoked"
        token = fresh_fabric.outbox[-1]["token"]
        error(invitee.client.post(f"/v1/invitations/{inv['id']}/accept", json={"token": token}), 409)
        second = data(
            fresh_owner.post("/v1/invitations", json={"organization_id": org, "email": invitee.email})
        )
        fresh_fabric.advance_time(8 * 24 * 3600)  # past the 7-day invitation lifetime
        listed = {i["id"]: i["status"] for i in data(fresh_owner.get(f"/v1/organizations/{org}/invitations"))}
        assert listed == {inv["id"]: "revoked", second["id"]: "expired"}
        login = data(
            fresh_owner.post("/v1/auth/login", json={"email": invitee.email, "password": invitee.password})
        )
        with client_for(fresh_fabric, login["access_token"]) as again:
            error(
                again.post(
                    f"/v1/invitations/{second['id']}/accept", json={"token": fresh_fabric.outbox[-1]["token"]}
                ),
                409,
            )


def test_roles_are_ordered(fabric: LocalFabric, make_user: Callable[..., Account]) -> None:
    owner_acc, viewer, member, admin = (
        make_user(),
        make_user(with_org=False),
        make_user(with_org=False),
        make_user(with_org=False),
    )
    _invite_and_join(fabric, owner_acc, viewer, "viewer")
    _invite_and_join(fabric, owner_acc, member, "member")
    _invite_and_join(fabric, owner_acc, admin, "admin")
    org = owner_acc.org_id
    # viewer: reads only
    data(viewer.client.get(f"/v1/organizations/{org}/members"))
    error(
        viewer.client.post("/v1/jobs", json={"modality": "text", "input": {}, "organization_id": org}),
        403,
        "forbidden",
    )
    # member: work, not administration
    data(member.client.post("/v1/jobs", json={"modality": "text", "input": {}, "organization_id": org}))
    error(
        member.client.post("/v1/teams", json={"organization_id": org, "slug": "t1", "name": "T"}),
        403,
        "forbidden",
    )
    error(member.client.post(f"/v1/organizations/{org}/secrets", json={"name": "K", "value": "v"}), 403)
    # admin: administration, but neither archive nor invite owners
    data(admin.client.post("/v1/teams", json={"organization_id": org, "slug": "t2", "name": "T"}))
    error(admin.client.post(f"/v1/organizations/{org}/archive"), 403)
    error(
        admin.client.post(
            "/v1/invitations", json={"organization_id": org, "email": "boss@x.io", "role": "owner"}
        ),
        403,
    )
    roles = {
        m["principal_id"]: m["role"] for m in data(owner_acc.client.get(f"/v1/organizations/{org}/members"))
    }
    assert roles == {
        owner_acc.user_id: "owner",
        viewer.user_id: "viewer",
        member.user_id: "member",
        admin.user_id: "admin",
    }


def test_authz_check_and_batch(fabric: LocalFabric, make_user: Callable[..., Account]) -> None:
    owner_acc, viewer = make_user(), make_user(with_org=False)
    _invite_and_join(fabric, owner_acc, viewer, "viewer")
    org_res = f"organization:{owner_acc.org_id}"
    allowed = data(viewer.client.post("/v1/authz/check", json={"action": "org.read", "resource": org_res}))
    assert allowed["allowed"] is True and allowed["reason"]
    denied = data(
        viewer.client.post("/v1/authz/check", json={"action": "workflow.edit", "resource": org_res})
    )
    assert denied["allowed"] is False and "member" in denied["reason"]
    stranger = make_user()
    assert (
        data(stranger.client.post("/v1/authz/check", json={"action": "org.read", "resource": org_res}))[
            "allowed"
        ]
        is False
    )
    batch = data(
        owner_acc.client.post(
            "/v1/authz/check-batch",
            json={
                "checks": [
                    {"resource": "workflow:all", "action": "workflow.run"},
                    {"resource": org_res, "action": "org.delete"},
                ]
            },
        )
    )
    assert [(b["resource"], b["action"], b["allowed"]) for b in batch] == [
        ("workflow:all", "workflow.run", True),
        (org_res, "org.delete", True),
    ]
    perms = data(viewer.client.get("/v1/me/permissions"))
    effects = {(p["action"], p["resource"]): p["effect"] for p in perms}
    assert effects[("org.read", org_res)] == "allow" and effects[("workflow.edit", org_res)] == "deny"


def test_archived_organization_refuses_writes(make_user: Callable[..., Account]) -> None:
    account = make_user()
    archived = data(account.client.post(f"/v1/organizations/{account.org_id}/archive"))
    assert archived["archived"] is True
    error(
        account.client.post(
            "/v1/teams", json={"organization_id": account.org_id, "slug": "late", "name": "x"}
        ),
        409,
        "conflict",
    )
    error(
        account.client.post(
            "/v1/jobs", json={"modality": "text", "input": {}, "organization_id": account.org_id}
        ),
        409,
    )
    data(account.client.get(f"/v1/organizations/{account.org_id}"))  # reads still work


def test_settings_budget_deletion_and_export(make_user: Callable[..., Account]) -> None:
    account = make_user()
    org = account.org_id
    settings = data(account.client.get(f"/v1/organizations/{org}/settings"))
    assert settings == {
        "organization_id": org,
        "default_member_role": "member",
        "require_totp": False,
        "allowed_email_domains": [],
        "data_retention_days": None,
    }
    updated = data(
        account.client.patch(
            f"/v1/organizations/{org}/settings", json={"require_totp": True, "data_retention_days": 30}
        )
    )
    assert updated["require_totp"] is True and updated["data_retention_days"] == 30
    error(account.client.patch(f"/v1/organizations/{org}/settings", json={"require_totp": "yes"}), 400)
    budget = data(account.client.put(f"/v1/organizations/{org}/budget", json={"monthly_limit_usd": 12.5}))
    assert budget == {"organization_id": org, "monthly_limit_usd": 12.5, "current_spend_usd": 0}
    error(account.client.put(f"/v1/organizations/{org}/budget", json={"monthly_limit_usd": -1}), 400)
    deletion = data(account.client.post(f"/v1/organizations/{org}/request-deletion"))
    assert deletion["organization_id"] == org and deletion["scheduled_for"] > deletion["requested_at"]
    exported = data(account.client.get(f"/v1/organizations/{org}/export"))
    assert exported["organization"]["id"] == org and exported["settings"]["require_totp"] is True
    assert [m["principal_id"] for m in exported["members"]] == [account.user_id]


def test_budget_refuses_jobs_once_spent(make_user: Callable[..., Account]) -> None:
    account = make_user()
    org = account.org_id
    data(account.client.put(f"/v1/organizations/{org}/budget", json={"monthly_limit_usd": 0}))
    err = error(
        account.client.post(
            "/v1/jobs", json={"modality": "text", "input": {"prompt": "x"}, "organization_id": org}
        ),
        403,
        "budget_exceeded",
    )
    assert err["details"]["monthly_limit_usd"] == 0
    data(account.client.put(f"/v1/organizations/{org}/budget", json={"monthly_limit_usd": None}))
    data(
        account.client.post(
            "/v1/jobs", json={"modality": "text", "input": {"prompt": "x"}, "organization_id": org}
        )
    )


def test_api_key_principal_sees_only_its_creators_orgs(
    fabric: LocalFabric, make_user: Callable[..., Account]
) -> None:
    account = make_user()
    key = data(account.client.post("/v1/api-keys", json={"name": "k", "organization_id": account.org_id}))[
        "key"
    ]
    with client_for(fabric, key) as c:
        assert [o["id"] for o in data(c.get("/v1/organizations"))] == [account.org_id]
        error(c.get(f"/v1/organizations/{fabric.organization_id}"), 404)


def test_permission_grants_and_role_resolution(
    fabric: LocalFabric, make_user: Callable[..., Account]
) -> None:
    owner_acc, viewer = make_user(), make_user(with_org=False)
    _invite_and_join(fabric, owner_acc, viewer, "viewer")
    org = owner_acc.org_id
    check = {"action": "workflow.run", "resource": "workflow:all", "organization_id": org}
    assert data(viewer.client.post("/v1/authz/check", json=check))["allowed"] is False
    granted = data(
        owner_acc.client.post(
            "/v1/permissions",
            json={
                "principal_id": viewer.user_id,
                "action": "workflow.run",
                "resource": "workflow:all",
                "organization_id": org,
            },
        )
    )
    assert granted["effect"] == "allow" and granted["organization_id"] == org
    assert data(viewer.client.post("/v1/authz/check", json=check))["allowed"] is True
    listed = data(owner_acc.client.get(f"/v1/organizations/{org}/permissions"))
    assert [g["id"] for g in listed] == [granted["id"]]
    assert [
        g["id"] for g in data(owner_acc.client.get("/v1/permissions", params={"organization_id": org}))
    ] == [granted["id"]]
    deny = {
        "principal_id": owner_acc.user_id,
        "action": "org.read",
        "resource": f"organization:{org}",
        "effect": "deny",
        "organization_id": org,
    }
    data(owner_acc.client.post("/v1/permissions", json=deny))
    assert (
        data(
            owner_acc.client.post(
                "/v1/authz/check", json={"action": "org.read", "resource": f"organization:{org}"}
            )
        )["allowed"]
        is False
    )
    error(viewer.client.post("/v1/permissions", json=dict(deny, principal_id=viewer.user_id)), 403)
    data(owner_acc.client.delete(f"/v1/permissions/{granted['id']}"))
    assert data(viewer.client.post("/v1/authz/check", json=check))["allowed"] is False
    error(owner_acc.client.delete(f"/v1/permissions/{granted['id']}"), 404)
    role = data(
        owner_acc.client.get(
            "/v1/permissions/resolve/org", params={"organization_id": org, "principal_id": viewer.user_id}
        )
    )
    assert role == {
        "principal_id": viewer.user_id,
        "organization_id": org,
        "workspace_id": None,
        "role": "viewer",
    }
    team = data(
        owner_acc.client.post("/v1/teams", json={"organization_id": org, "slug": "core", "name": "Core"})
    )
    mine = data(
        owner_acc.client.get("/v1/permissions/resolve/workspace", params={"workspace_id": team["id"]})
    )
    assert mine["role"] == "owner" and mine["workspace_id"] == team["id"]
    outsider = make_user()
    error(outsider.client.get("/v1/permissions/resolve/workspace", params={"workspace_id": team["id"]}), 404)
    error(outsider.client.get(f"/v1/organizations/{org}/permissions"), 404)
