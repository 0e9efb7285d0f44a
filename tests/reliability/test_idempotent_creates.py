"""Scenario 1: commit-then-503 on every POST that creates something → exactly one resource.

The emulator carries the request out (side effect and idempotency record included) and
then answers 503, as a server that crashed after committing would; the SDK retries with
the same ``Idempotency-Key`` and must get the first result back, not a second resource.

Every POST of spec/openapi.yaml is classified below, either as creating (with a driver that
makes the call and then counts what exists) or as not creating (with the reason); a POST
added to the spec without a classification fails ``test_every_post_is_classified``.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
from fabric_platform_api import operations as ops
from fabric_platform_api._operation import Operation

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform.testing import LocalFabric
from fabric_platform.testing._domain import totp

from ._support import FAST, FULL, Figures, size

ALL_OPERATIONS: Dict[str, Operation] = {
    v.operation_id: v for v in vars(ops).values() if isinstance(v, Operation)
}
PASSWORD = "reliable-Passw0rd-1"


@dataclass
class Ctx:
    local: LocalFabric
    owner: FabricClient  # the seeded owner's API key (all scopes), for setup and counting
    org: str


@dataclass
class Create:
    """One creating operation: make the resource under fault, then count it."""

    call: Callable[[Any, Dict[str, Any]], Any]  # (client, state) -> ApiResponse | id (maybe awaitable)
    count: Callable[[Ctx, Dict[str, Any], Any], int]  # how many resources carry this call's marker
    setup: Callable[[Ctx, Dict[str, Any]], None] = lambda ctx, st: None
    raw: bool = True  # call returns an ApiResponse (single-request method)
    client: str = "owner"  # "owner" (seeded API key) or "session" (a signed-up user in state["user"])


def _m(prefix: str = "r") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def _count(items: Any, pred: Callable[[Dict[str, Any]], bool]) -> int:
    return sum(1 for item in items if pred(item))


def _definition(ctx: Ctx, st: Dict[str, Any], nodes: Optional[List[Dict[str, Any]]] = None) -> None:
    st["definition"] = ctx.owner.upsert_workflow(
        _m("def-"), nodes or [{"key": "a", "type": "transform", "config": {"set": {"x": 1}}}]
    )


def _signed_up(ctx: Ctx, st: Dict[str, Any]) -> None:
    email = f"{_m('u')}@example.com"
    client = FabricClient(base_url=ctx.local.base_url)
    client.signup(email, PASSWORD)
    st.update(user=client, email=email, user_id=client.get_me()["principal_id"])


def _gallery(ctx: Ctx, st: Dict[str, Any]) -> None:
    st["gallery"] = ctx.owner.create_gallery("persona", _m("g-"))["id"]


def _service_account(ctx: Ctx, st: Dict[str, Any]) -> None:
    st["sa"] = ctx.owner.service_accounts.create(_m("sa-"))["id"]


def _run(ctx: Ctx, st: Dict[str, Any]) -> None:
    st["run"] = ctx.owner.submit_run("research/trends", input={"topic": "t"})["id"]


def _schedule(ctx: Ctx, st: Dict[str, Any]) -> None:
    _definition(ctx, st)
    st["schedule"] = ctx.owner.create_schedule(st["definition"], "0 3 * * *")["id"]


def _invitation(ctx: Ctx, st: Dict[str, Any]) -> None:
    _signed_up(ctx, st)
    ctx.owner.create_invitation(ctx.org, st["email"], "member")
    st["token"] = next(m["token"] for m in reversed(ctx.local.outbox) if m["to"] == st["email"])
    st["invitation"] = next(i["id"] for i in ctx.owner.list_invitations(ctx.org) if i["email"] == st["email"])


def _totp_valid(ctx: Ctx, st: Dict[str, Any], raw: Any) -> int:
    # Enrolled twice, the server would hold a second secret and the one we got back would
    # produce codes it rejects: one valid code proves there is exactly one enrollment.
    secret = raw.data["secret"]
    now = ctx.local.emulator.clock.now().timestamp()
    code = totp.totp(totp.decode_secret(secret), now)
    return 1 if st["user"].totp_verify(code)["valid"] else 0


def _active_keys_named(ctx: Ctx, name: str) -> int:
    return _count(ctx.owner.list_api_keys(), lambda k: k["name"] == name and k.get("active", True))


CREATING: Dict[str, Create] = {
    "createJob": Create(
        call=lambda c, st: c.with_raw_response.create_job(modality="text", input={"prompt": st["m"]}),
        count=lambda ctx, st, raw: _count(
            ctx.owner.iter_jobs(limit=100), lambda j: j["input"].get("prompt") == st["m"]
        ),
    ),
    "submitRun": Create(
        call=lambda c, st: c.with_raw_response.submit_run("research/trends", input={"topic": st["m"]}),
        count=lambda ctx, st, raw: _count(
            ctx.owner.iter_runs(limit=100), lambda r: (r.get("input") or {}).get("topic") == st["m"]
        ),
    ),
    # run_workflow = createWorkflowRunLegacy + startWorkflowRunLegacy, both faulted (see below).
    "createWorkflowRunLegacy": Create(
        setup=_definition,
        call=lambda c, st: c.run_workflow(st["definition"], {"k": st["m"]}, metadata={"m": st["m"]}),
        count=lambda ctx, st, run_id: (
            _count(
                ctx.owner.iter_runs(limit=100),
                lambda r: (r.get("metadata") or {}).get("m") == st["m"] and r["id"] == run_id,
            )
            * _count(ctx.owner.iter_runs(limit=100), lambda r: (r.get("metadata") or {}).get("m") == st["m"])
        ),
        raw=False,
    ),
    "createOrganization": Create(
        call=lambda c, st: c.with_raw_response.create_organization(st["m"], "Reliable"),
        count=lambda ctx, st, raw: _count(ctx.owner.list_organizations(), lambda o: o["slug"] == st["m"]),
    ),
    "createApiKey": Create(
        call=lambda c, st: c.with_raw_response.create_api_key(st["m"], c.organization_id),
        count=lambda ctx, st, raw: _active_keys_named(ctx, st["m"]),
    ),
    "rotateApiKey": Create(
        # Rotating twice would revoke the key we are handed: exactly one active key must be
        # left under the name, and it must be the one returned.
        setup=lambda ctx, st: st.update(key=ctx.owner.create_api_key(st["m"], ctx.org)["id"]),
        call=lambda c, st: c.with_raw_response.rotate_api_key(st["key"]),
        count=lambda ctx, st, raw: _active_keys_named(ctx, st["m"]) * _key_works(ctx, raw.data["key"]),
    ),
    "createWebhook": Create(
        call=lambda c, st: c.with_raw_response.create_webhook(
            c.organization_id, f"http://127.0.0.1:9/{st['m']}", ["job.completed"]
        ),
        count=lambda ctx, st, raw: _count(ctx.owner.list_webhooks(ctx.org), lambda w: st["m"] in w["url"]),
    ),
    "createWebhookGlobal": Create(
        call=lambda c, st: c.with_raw_response.webhooks.create_global(
            url=f"http://127.0.0.1:9/{st['m']}", events=["job.completed"], org_id=c.organization_id
        ),
        count=lambda ctx, st, raw: _count(ctx.owner.list_webhooks(ctx.org), lambda w: st["m"] in w["url"]),
    ),
    "createTeam": Create(
        call=lambda c, st: c.with_raw_response.create_team(c.organization_id, st["m"], "Team"),
        count=lambda ctx, st, raw: _count(ctx.owner.list_org_teams(ctx.org), lambda t: t["slug"] == st["m"]),
    ),
    "createInvitation": Create(
        call=lambda c, st: c.with_raw_response.create_invitation(
            c.organization_id, f"{st['m']}@example.com", "viewer"
        ),
        count=lambda ctx, st, raw: (
            _count(ctx.owner.list_invitations(ctx.org), lambda i: i["email"] == f"{st['m']}@example.com")
            * _count(ctx.local.outbox, lambda msg: msg["to"] == f"{st['m']}@example.com")
        ),
    ),
    "acceptInvitation": Create(
        setup=_invitation,
        client="session",
        call=lambda c, st: c.with_raw_response.accept_invitation(st["invitation"], token=st["token"]),
        count=lambda ctx, st, raw: _count(
            ctx.owner.list_org_members(ctx.org),
            lambda m: m.get("user_id", m.get("principal_id")) == st["user_id"],
        ),
    ),
    "createSchedule": Create(
        setup=_definition,
        call=lambda c, st: c.with_raw_response.create_schedule(st["definition"], "*/5 * * * *"),
        count=lambda ctx, st, raw: len(ctx.owner.list_schedules(st["definition"])),
    ),
    "triggerSchedule": Create(
        setup=_schedule,
        call=lambda c, st: c.with_raw_response.trigger_schedule(st["schedule"]),
        count=lambda ctx, st, raw: len(ctx.owner.schedules.history(st["schedule"])),
    ),
    "upsertWorkflow": Create(
        call=lambda c, st: c.with_raw_response.workflows.definitions.upsert(
            st["m"], [{"key": "a", "type": "transform", "config": {}}], organization_id=c.organization_id
        ),
        count=lambda ctx, st, raw: _count(ctx.owner.list_workflows(), lambda d: d["name"] == st["m"]),
    ),
    "createGallery": Create(
        call=lambda c, st: c.with_raw_response.create_gallery("persona", st["m"]),
        count=lambda ctx, st, raw: _count(ctx.owner.iter_galleries(), lambda g: g["name"] == st["m"]),
    ),
    "addGalleryItem": Create(
        setup=_gallery,
        call=lambda c, st: c.with_raw_response.add_gallery_item(
            st["gallery"], url=f"https://example.com/{st['m']}.png"
        ),
        count=lambda ctx, st, raw: _count(
            ctx.owner.iter_gallery_items(st["gallery"]), lambda i: st["m"] in (i.get("url") or "")
        ),
    ),
    "createApp": Create(
        call=lambda c, st: c.with_raw_response.apps.create(st["m"]),
        count=lambda ctx, st, raw: _count(ctx.owner.apps.list(), lambda a: a["name"] == st["m"]),
    ),
    "createOAuthClient": Create(
        call=lambda c, st: c.with_raw_response.create_oauth_client(
            st["m"], ["http://127.0.0.1:9/callback"], ["workflow.run"]
        ),
        count=lambda ctx, st, raw: _count(ctx.owner.list_oauth_clients(), lambda a: a["name"] == st["m"]),
    ),
    "createServiceAccount": Create(
        call=lambda c, st: c.with_raw_response.service_accounts.create(st["m"]),
        count=lambda ctx, st, raw: _count(ctx.owner.service_accounts.list(), lambda a: a["name"] == st["m"]),
    ),
    "createServiceAccountApiKey": Create(
        setup=_service_account,
        call=lambda c, st: c.with_raw_response.service_accounts.create_api_key(st["sa"], st["m"]),
        count=lambda ctx, st, raw: _count(
            ctx.owner.service_accounts.list_api_keys(st["sa"]), lambda k: k["name"] == st["m"]
        ),
    ),
    "uploadAsset": Create(
        call=lambda c, st: c.with_raw_response.upload_asset(b"reliable bytes", filename=f"{st['m']}.txt"),
        count=lambda ctx, st, raw: _count(
            ctx.owner.iter_assets(limit=100), lambda a: a.get("filename") == f"{st['m']}.txt"
        ),
    ),
    "createOrgAsset": Create(
        call=lambda c, st: c.with_raw_response.organizations.create_asset(
            c.organization_id, b"org bytes", filename=f"{st['m']}.txt"
        ),
        count=lambda ctx, st, raw: _count(
            ctx.owner.organizations.list_assets(ctx.org, limit=100),
            lambda a: a.get("filename") == f"{st['m']}.txt",
        ),
    ),
    "createSecret": Create(
        call=lambda c, st: c.with_raw_response.set_secret(st["m"].upper(), "value-" + st["m"]),
        count=lambda ctx, st, raw: ctx.owner.list_secrets().count(st["m"].upper()),
    ),
    "createSink": Create(
        call=lambda c, st: c.with_raw_response.sinks.create(
            c.organization_id, st["m"], st["m"], "research/trends"
        ),
        count=lambda ctx, st, raw: _count(ctx.owner.sinks.list(ctx.org), lambda s: s["name"] == st["m"]),
    ),
    "grantPermission": Create(
        setup=_signed_up,
        call=lambda c, st: c.with_raw_response.grant_permission(
            st["user_id"], "workflow.run", f"run:{st['m']}"
        ),
        count=lambda ctx, st, raw: _count(
            ctx.owner.list_permissions(), lambda g: g["resource"] == f"run:{st['m']}"
        ),
    ),
    "upsertWorkflowRegistryEntry": Create(
        call=lambda c, st: c.with_raw_response.upsert_workflow_registry_entry(
            f"custom/{st['m']}", description="reliable"
        ),
        count=lambda ctx, st, raw: _count(
            ctx.owner.list_workflow_registry(), lambda e: e["name"] == f"custom/{st['m']}"
        ),
    ),
    "composeWorkflow": Create(
        call=lambda c, st: c.with_raw_response.compose_workflow(
            f"composed/{st['m']}", [{"workflow": "research/trends"}]
        ),
        count=lambda ctx, st, raw: _count(
            ctx.owner.list_workflow_registry(), lambda e: e["name"] == f"composed/{st['m']}"
        ),
    ),
    "recordRunArtifact": Create(
        setup=_run,
        call=lambda c, st: c.with_raw_response.record_run_artifact(st["run"], "task-1", f"{st['m']}.txt"),
        count=lambda ctx, st, raw: _count(
            ctx.owner.list_run_artifacts(st["run"]), lambda a: a.get("filename") == f"{st['m']}.txt"
        ),
    ),
    "signup": Create(
        # A second signup with the same email is 409 email_taken: the replayed first answer
        # (and one login that finds one user) is the proof.
        setup=lambda ctx, st: st.update(email=f"{st['m']}@example.com"),
        call=lambda c, st: c.with_raw_response.signup(st["email"], PASSWORD),
        count=lambda ctx, st, raw: int(
            FabricClient(base_url=ctx.local.base_url).login(st["email"], PASSWORD)["user"]["id"]
            == raw.data["user"]["id"]
        ),
        client="anonymous",
    ),
    "totpEnroll": Create(
        setup=_signed_up,
        client="session",
        call=lambda c, st: c.with_raw_response.totp_enroll(),
        count=_totp_valid,
    ),
    "magicLink": Create(
        setup=_signed_up,
        client="anonymous",
        call=lambda c, st: c.with_raw_response.magic_link(st["email"]),
        count=lambda ctx, st, raw: _count(
            ctx.local.outbox, lambda msg: msg["to"] == st["email"] and msg["kind"] == "magic_link"
        ),
    ),
    "forgotPassword": Create(
        setup=_signed_up,
        client="anonymous",
        call=lambda c, st: c.with_raw_response.forgot_password(st["email"]),
        count=lambda ctx, st, raw: _count(
            ctx.local.outbox, lambda msg: msg["to"] == st["email"] and msg["kind"] == "password_recovery"
        ),
    ),
    "resendVerification": Create(
        setup=_signed_up,
        client="anonymous",
        call=lambda c, st: c.with_raw_response.resend_verification(st["email"]),
        count=lambda ctx, st, raw: (
            _count(ctx.local.outbox, lambda msg: msg["to"] == st["email"] and msg["kind"] == "verification")
            - 1
        ),  # signup itself sent one
    ),
}
# run_workflow's second request: started once (a second start would be 409 conflict).
FAULTED_TOGETHER = {"createWorkflowRunLegacy": ["startWorkflowRunLegacy"]}


def _key_works(ctx: Ctx, key: str) -> int:
    with FabricClient(base_url=ctx.local.base_url, api_key=key) as keyed:
        return int(bool(keyed.get_me()["authenticated"]))


NOT_CREATING: Dict[str, str] = {
    "startWorkflowRunLegacy": "exercised inside run_workflow (createWorkflowRunLegacy) with its own fault",
    "triggerSink": "creates a run like submitRun, through a public sink path; same pipeline, not repeated",
    "adminBootstrap": "one-shot per deployment (only while no admin exists); needs an empty emulator",
    "rotateAppSecret": "a rotation through the same replay path as rotateApiKey (whose result is checked)",
    "rotateServiceAccountApiKey": "a rotation through the same replay path as rotateApiKey",
    "rotateWebhookSecret": "a rotation through the same replay path as rotateApiKey",
    "requestOrgDeletion": "an upsert of the organization's single deletion request: naturally idempotent",
    "createAssetSignedUrl": "computes a signed URL; stores nothing",
    "executeProvider": "a stateless simulation; stores nothing",
    "estimateCost": "an estimate; stores nothing",
    "estimateWorkflowCost": "an estimate; stores nothing",
    "checkPermission": "a read (authorization check)",
    "checkPermissions": "a read (authorization checks)",
    "login": "opens a session: a replay returns the first tokens; a second session is harmless",
    "socialLogin": "opens a session like login (OAuth code exchange, single use)",
    "oauthToken": "issues a token like login (client credentials / code exchange)",
    "refreshToken": "rotation; exactly-once under concurrency is scenario 4",
    "logout": "ends a session (state change, repeatable)",
    "logoutAll": "ends sessions (state change, repeatable)",
    "oauthRevokeToken": "revocation (repeatable)",
    "changePassword": "state change; a repeat with the old password fails by design",
    "resetPassword": "consumes a single-use token (state change)",
    "verifyEmail": "consumes a single-use token (state change)",
    "totpVerify": "state change (marks a code used)",
    "totpRecovery": "consumes a recovery code (state change)",
    "disableApiKey": "state change (repeatable)",
    "revokeInvitation": "state change",
    "archiveOrganization": "state change (repeatable)",
    "disableServiceAccount": "state change (repeatable)",
    "enableServiceAccount": "state change (repeatable)",
    "adminForceLogoutUser": "state change (admin)",
    "adminUnlockUser": "state change (admin)",
    "adminVerifyUser": "state change (admin)",
    "bulkCancelRuns": "state change (cancels runs)",
    "cancelRun": "state change",
    "cancelRunWithReason": "state change",
    "pauseRun": "state change",
    "resumeRun": "state change",
    "recoverRun": "state change (re-runs a failed run in place)",
    "approveRun": "state change",
    "signalRun": "state change",
    "resumeNode": "state change",
}


def _creating_posts() -> List[str]:
    return sorted(o.operation_id for o in ALL_OPERATIONS.values() if o.method == "POST")


def test_every_post_is_classified() -> None:
    posts = set(_creating_posts())
    unknown = posts - set(CREATING) - set(NOT_CREATING)
    assert not unknown, f"new POST operations: add each to CREATING or NOT_CREATING: {sorted(unknown)}"
    stale = (set(CREATING) | set(NOT_CREATING)) - posts
    assert not stale, f"operations no longer in the spec: {sorted(stale)}"
    assert not set(CREATING) & set(NOT_CREATING)
    # The operations the issue names are among those exercised.
    named = {"createJob", "submitRun", "createWorkflowRunLegacy", "createOrganization", "createApiKey"}
    named |= {"createWebhook", "createTeam", "createInvitation", "createSchedule", "upsertWorkflow"}
    assert named | {"createGallery"} <= set(CREATING)


def _pattern(op_id: str) -> str:
    # The spec's path as a glob (path parameter names may differ from the server's).
    path = ALL_OPERATIONS[op_id].path
    out, depth = [], 0
    for ch in path:
        if ch == "{":
            depth += 1
            out.append("*")
        elif ch == "}":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalFabric]:
    with LocalFabric(**FAST) as server:
        yield server


def _client(kind: str, ctx: Ctx, st: Dict[str, Any], is_async: bool) -> Any:
    if kind == "session":
        user: FabricClient = st["user"]
        if not is_async:
            return user
        tokens = {"access_token": user._tokens.access_token, "refresh_token": user._tokens.refresh_token}
        client = AsyncFabricClient(base_url=ctx.local.base_url)
        client._tokens.store(tokens, notify=False)
        return client
    if kind == "anonymous":
        cls = AsyncFabricClient if is_async else FabricClient
        return cls(base_url=ctx.local.base_url)
    return ctx.local.async_client() if is_async else ctx.owner


def _invoke(spec: Create, ctx: Ctx, st: Dict[str, Any], is_async: bool) -> Any:
    """Make the call with a client of the right kind (async: one event loop for all of it)."""
    if not is_async:
        client = _client(spec.client, ctx, st, False)
        try:
            return spec.call(client, st)
        finally:
            if spec.client == "anonymous":
                client.close()

    async def main() -> Any:
        client = _client(spec.client, ctx, st, True)
        try:
            return await spec.call(client, st)
        finally:
            await client.close()

    return asyncio.run(main())


# Rounds: (consecutive commit-then-503 answers, async client). Two in a row proves the
# replay is stable; the async client shares the decisions but not the I/O loop.
ROUNDS = [(1, False), (2, True)] if FULL else [(1, False)]


@pytest.mark.scenario("1. commit-then-503 on every creating POST")
@pytest.mark.timeout(size(120, 300))
def test_commit_then_503_creates_exactly_one(local: LocalFabric, figures: Figures) -> None:
    ctx = Ctx(local=local, owner=local.client(), org=local.organization_id)
    failures: List[str] = []
    duplicates = 0
    try:
        for faults, is_async in ROUNDS:
            for op_id in sorted(CREATING):
                spec = CREATING[op_id]
                st: Dict[str, Any] = {"m": _m()}
                spec.setup(ctx, st)
                try:
                    local.reset_stats()
                    local.reset_faults()
                    for faulted in [op_id, *FAULTED_TOGETHER.get(op_id, [])]:
                        local.fail_next(
                            "POST", _pattern(faulted), 503, count=faults, commit=True, retry_after=0.01
                        )
                    result = _invoke(spec, ctx, st, is_async)
                    leftover = local.emulator.faults.describe()["rules"]
                    assert not leftover, f"{op_id}: the injected 503 never hit: {leftover}"
                    sent = sum(local.stats().values())
                    figures.calls += 1
                    figures.faults += faults * (1 + len(FAULTED_TOGETHER.get(op_id, [])))
                    figures.retries = (figures.retries or 0) + faults * (
                        1 + len(FAULTED_TOGETHER.get(op_id, []))
                    )
                    if spec.raw:
                        assert result.retries_taken == faults, (op_id, result.retries_taken)
                    found = spec.count(ctx, st, result)
                    if found != 1:
                        duplicates += max(0, found - 1)
                        failures.append(f"{op_id}: {found} resources (async={is_async}, faults={faults})")
                    assert sent >= 1
                except Exception as exc:  # collected: one report for all operations
                    failures.append(f"{op_id} (async={is_async}): {type(exc).__name__}: {exc}")
                finally:
                    if "user" in st:
                        st["user"].close()
    finally:
        local.reset_faults()
        ctx.owner.close()
    figures.duplicates = duplicates
    figures.note(
        f"{len(CREATING)} creating POST operations of the spec, each with {', '.join(str(f) for f, _ in ROUNDS)} "
        f"consecutive committed 503(s); {len(NOT_CREATING)} other POSTs classified with reasons."
    )
    assert not failures, "\n".join(failures)
