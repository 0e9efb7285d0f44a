"""Drive every public request-making method of a public fabric-platform release.

Run by ``test_public_clients.py`` with the interpreter of a throwaway venv holding one public
wheel (0.8.1: flat methods; 0.17.1: namespaced resources). Each step calls one method with
arguments like the package's docstrings show; the flat and namespaced names of an operation
share a step. Prints the Runner's JSON report.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from typing import Any, Callable, Dict, Optional

import httpx
from _driver_core import Runner, env, first_event, totp_code

import fabric_platform
from fabric_platform import FabricClient

VERSION = getattr(fabric_platform, "__version__", "") or env("VERSION")
BASE = env("BASE_URL")
ORG = env("ORG")
PASSWORD = "SecurePass1!"
NEW_PASSWORD = "SecurePass2!"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# Only our SDK has strict mode (every answer validated against the spec's models).
STRICT: Dict[str, Any] = {"strict": True} if os.environ.get("FABRIC_COMPAT_STRICT") else {}
main = FabricClient(base_url=BASE, api_key=env("API_KEY"), organization_id=ORG, **STRICT)
anon = FabricClient(base_url=BASE, organization_id=ORG, **STRICT)
R = Runner(VERSION, main)
# Our SDK has both shapes: FABRIC_COMPAT_SHAPE picks which release's code to run on it.
FLAT = {"flat": True, "ns": False}.get(
    os.environ.get("FABRIC_COMPAT_SHAPE", ""), not hasattr(main, "workflows")
)
ctx = R.ctx


def resolve(client: Any, name: str) -> Any:
    obj = client
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def step(
    flat: Optional[str],
    ns: Optional[str],
    call: Callable[[Callable[..., Any]], Any],
    *,
    client: Any = None,
    expect: Optional[str] = None,
) -> Any:
    """One operation: ``call`` gets the bound method of this version's name for it."""
    name = flat if FLAT else ns
    if name is None:
        return None
    return R.run(name, lambda: call(resolve(client or main, name)), expect=expect)


def raw(method: str, path: str, body: Any = None) -> Any:
    """Fixture set-up the package under test has no method for (plain httpx, its own dependency)."""
    answer = httpx.request(
        method, BASE + path, json=body, timeout=30, headers={"Authorization": f"Bearer {env('API_KEY')}"}
    )
    if answer.is_error:  # a fixture the server refuses: the steps that need it fail, the run goes on
        return {"id": "missing"}
    return answer.json()["data"]


def user_client(token: str) -> FabricClient:
    return FabricClient(base_url=BASE, api_key=token, organization_id=ORG, **STRICT)


def checked(value: Any, **fields: Any) -> Any:
    """``value`` when it carries ``fields`` as given; a 2xx that did the wrong thing fails here."""
    wrong = {
        k: value.get(k) if isinstance(value, dict) else value
        for k, v in fields.items()
        if not isinstance(value, dict) or value.get(k) != v
    }
    if wrong:
        raise AssertionError(f"answer differs from what was sent: {wrong}")
    return value


def data_id(value: Any, *keys: str) -> Any:
    for key in keys or ("id",):
        if isinstance(value, dict) and value.get(key):
            return value[key]
    return None


# ---------------------------------------------------------------- system
step("health_check", "admin.health_check", lambda m: m())
step("system_info", "admin.system_info", lambda m: m())
step("system_status", "admin.system_status", lambda m: m())
step("list_packages", "packages.list", lambda m: m())
step("providers", None, lambda m: m())
step("list_providers", "providers.list", lambda m: m())
nodes = step("list_nodes", None, lambda m: m()) or []
if FLAT:
    node_id = (nodes[0].get("id") or nodes[0].get("type")) if nodes else "ai_generate"
    step("get_node", None, lambda m: m(node_id))

# ---------------------------------------------------------------- auth (a fresh user)
email = unique("compat") + "@example.com"
signed = step("signup", "auth.signup", lambda m: m(email, PASSWORD), client=anon) or {}
logged = step("login", "auth.login", lambda m: m(email, PASSWORD), client=anon) or {}
refresh = logged.get("refresh_token") or signed.get("refresh_token")
refreshed = step("refresh_token", "auth.refresh", lambda m: m(refresh), client=anon) or {}
user_token = refreshed.get("access_token") or logged.get("access_token") or signed.get("access_token")
user = user_client(user_token)
user_id = (logged.get("user") or signed.get("user") or {}).get("id")
step("resend_verification", "auth.resend_verification", lambda m: m(email), client=anon)
step("verify_email", "auth.verify", lambda m: m("not-a-token"), client=anon, expect="FabricValidationError")
step("forgot_password", "auth.forgot_password", lambda m: m(email), client=anon)
step(
    "reset_password",
    "auth.reset_password",
    lambda m: m("not-a-token", NEW_PASSWORD),
    client=anon,
    expect="HTTPStatusError|FabricValidationError",
)
step("magic_link", "auth.magic_link", lambda m: m(email), client=anon)
social = (
    step(
        "social_login",
        "auth.social_login",
        lambda m: m("google", unique("g"), unique("social") + "@example.com", "Social User"),
        client=anon,
    )
    or {}
)
social_client = user_client(social.get("access_token", ""))

step("get_me", "me.get", lambda m: m(), client=user)
step("get_my_organizations", "me.organizations", lambda m: m(), client=user)
step("get_my_teams", "me.teams", lambda m: m(), client=user)
step("get_my_permissions", "me.permissions", lambda m: m(), client=user)
step("get_my_social_connections", "me.social_connections", lambda m: m(), client=social_client)
step("disconnect_social", "me.disconnect_social", lambda m: m("google"), client=social_client)

enrolled = step("totp_enroll", "auth.totp_enroll", lambda m: m(), client=user) or {}
secret = enrolled.get("secret", "")
step("totp_verify", "auth.totp_verify", lambda m: m(totp_code(secret)), client=user)
codes = enrolled.get("recovery_codes") or [""]
step("totp_recovery", "auth.totp_recovery", lambda m: m(codes[0]), client=user)
step("totp_disable", "auth.totp_disable", lambda m: m(), client=user)
step("change_password", "auth.change_password", lambda m: m(PASSWORD, NEW_PASSWORD), client=user)

# ---------------------------------------------------------------- organizations (the seeded one)
org_arg = ORG
step("list_organizations", "organizations.list", lambda m: m())
step("get_organization", "organizations.get", lambda m: m(ORG))
step("update_organization", "organizations.update", lambda m: m(ORG, name="Compat Org"))
step("list_org_teams", "organizations.teams", lambda m: m(ORG))
step("list_org_members", "organizations.members", lambda m: m(ORG))
step("get_org_permissions", "organizations.permissions", lambda m: m(ORG))
step("get_org_budget", "organizations.get_budget", lambda m: m(ORG))
step(
    "set_org_budget",
    "organizations.set_budget",
    lambda m: m(ORG, 250.0) if FLAT else m(ORG, monthly_limit_usd=250.0),
)
step("get_org_settings", "organizations.get_settings", lambda m: m(ORG))
step("update_org_settings", "organizations.update_settings", lambda m: m(ORG, require_totp=False))
step("get_org_usage", "organizations.usage", lambda m: m(ORG))
step("get_org_usage_records", "organizations.usage_records", lambda m: m(ORG))
step("get_org_usage_daily", "organizations.usage_daily", lambda m: m(ORG))
step("get_spending", "organizations.spending", lambda m: m(ORG))
step("get_org_audit_logs", "organizations.audit_logs", lambda m: m(ORG))
step("get_audit_logs", "admin.audit_logs", lambda m: m()) if FLAT else None
step("export_organization", "organizations.export", lambda m: m(ORG))
step("rotate_webhook_secret", "organizations.rotate_webhook_secret", lambda m: m(ORG))
step("set_secret", "organizations.create_secret", lambda m: m("COMPAT_TOKEN", "s3cret-value"))
step("list_secrets", "organizations.list_secrets", lambda m: m())
step("delete_secret", "organizations.delete_secret", lambda m: m("COMPAT_TOKEN"))

# an organization of our own to archive and delete
org2 = step("create_organization", "organizations.create", lambda m: m(unique("compat"), "Compat Two")) or {}
org2_id = org2.get("id", "missing")

# teams and invitations
team = step(
    "create_team",
    "teams.create",
    lambda m: (
        m(ORG, unique("team"), "Compat Team") if FLAT else m(ORG, slug=unique("team"), name="Compat Team")
    ),
)
team_id = data_id(team) or "missing"
step("get_team", "teams.get", lambda m: m(team_id))
invite = (
    step(
        "create_invitation",
        "invitations.create",
        lambda m: m(ORG, email, "member") if FLAT else m(ORG, email=email, role="member"),
    )
    or {}
)
step("accept_invitation", "invitations.accept", lambda m: m(invite.get("id", "missing")), client=user)
invite2 = (
    (
        main.create_invitation(ORG, unique("x") + "@example.com", "member")
        if FLAT
        else main.invitations.create(ORG, email=unique("x") + "@example.com", role="member")
    )
    if invite
    else {}
)
step("revoke_invitation", "invitations.revoke", lambda m: m((invite2 or {}).get("id", "missing")))

# org assets: JSON records
asset = (
    step(
        "create_org_asset",
        "organizations.create_asset",
        lambda m: checked(
            m(
                ORG,
                asset_type="persona",
                name="Ava",
                provider="heygen",
                provider_id="av_123",
                metadata={"voice": "warm"},
                team_id=team_id,
            ),
            asset_type="persona",
            name="Ava",
            provider="heygen",
            provider_id="av_123",
            metadata={"voice": "warm"},
        ),
    )
    or {}
)
asset_id = asset.get("id", "missing")
step(
    "list_org_assets",
    "organizations.list_assets",
    lambda m: checked(
        {"ids": [a["id"] for a in m(ORG, asset_type="persona", team_id=team_id)]}, ids=[asset_id]
    ),
)
step(
    "get_org_asset",
    "organizations.get_asset",
    lambda m: m(ORG, asset_id) if FLAT else m(ORG, asset_id=asset_id),
)
step(
    "delete_org_asset",
    "organizations.delete_asset",
    lambda m: m(ORG, asset_id) if FLAT else m(ORG, asset_id=asset_id),
)

# ---------------------------------------------------------------- api keys, apps, oauth
key = step("create_api_key", "api_keys.create", lambda m: m("compat-key", ORG, ["runs:read"])) or {}
key_id = data_id(key) or data_id(key.get("api_key") or {}) or "missing"
step("list_api_keys", "api_keys.list", lambda m: m())
step("get_api_key", "api_keys.get", lambda m: m(key_id))
step("rotate_api_key", "api_keys.rotate", lambda m: m(key_id))
step("disable_api_key", "api_keys.disable", lambda m: m(key_id))
step("delete_api_key", "api_keys.delete", lambda m: m(key_id))

app = (
    step(
        "create_app",
        "apps.create",
        lambda m: m("Compat App", unique("app"), allowed_origins=["https://app.example.com"]),
    )
    or {}
)
app_id = data_id(app) or data_id(app.get("app") or {}) or "missing"
step("list_apps", "apps.list", lambda m: m())
step("get_app", "apps.get", lambda m: m(app_id))
step("update_app", "apps.update", lambda m: m(app_id, name="Compat App 2"))
step("rotate_app_secret", "apps.rotate_secret", lambda m: m(app_id))
step("get_app_usage", "apps.usage", lambda m: m(app_id))

oc = (
    step(
        "create_oauth_client",
        "oauth.create_client",
        lambda m: m(name="Compat OAuth", redirect_uris=["https://app.example.com/cb"], scopes=["runs:read"]),
    )
    or {}
)


def unique_client() -> str:
    made = (main.create_oauth_client if FLAT else main.oauth.create_client)(
        name="Compat Throwaway", redirect_uris=["https://app.example.com/cb"]
    )
    return made.get("client_id") or made.get("id")


oc_id, oc_secret = oc.get("client_id", "missing"), oc.get("client_secret", "missing")
step("list_oauth_clients", "oauth.list_clients", lambda m: m())
tok = step("oauth_token", "oauth.token", lambda m: m(oc_id, oc_secret), client=anon) or {}
exchanged = (
    step(
        None,
        "oauth.token_exchange",
        lambda m: m(client_id=oc_id, client_secret=oc_secret, subject_token=user_id),
        client=anon,
    )
    or {}
)
if FLAT:  # 0.8 exposes the exchange only inside as_user: take the refresh token over HTTP
    exchange = {"grant_type": "token_exchange", "client_id": oc_id, "client_secret": oc_secret}
    exchange.update(subject_token=user_id, subject_token_type="urn:fabric:user_id")
    exchanged = raw("POST", "/v1/oauth/token", exchange)
step("oauth_refresh", "oauth.refresh", lambda m: m(exchanged.get("refresh_token")), client=anon)
step("oauth_revoke_token", "oauth.revoke", lambda m: m(tok.get("access_token", "x")), client=anon)
app_client = FabricClient(
    base_url=BASE, organization_id=ORG, app_client_id=oc_id, app_client_secret=oc_secret
)
step("delete_oauth_client", "oauth.delete_client", lambda m: m(unique_client()))
R.run(
    "as_user",
    lambda: app_client.as_user(user_id).me.get() if not FLAT else app_client.as_user(user_id).get_me(),
)

# ---------------------------------------------------------------- providers and jobs
step("estimate_cost", "providers.estimate", lambda m: m("text", {"prompt": "hello"}))
step("execute_provider", "providers.execute", lambda m: m("text", {"prompt": "hello"}))
job = step("create_job", None, lambda m: m("text", {"prompt": "hello"})) or {}
if FLAT:
    job_id = job.get("id", "missing")
    step("get_job", None, lambda m: m(job_id))
    step("list_jobs", None, lambda m: m(limit=10))
    step("get_job_usage", None, lambda m: m(job_id))
    step("stream_job_events", None, lambda m: first_event(lambda: m(job_id, include_internal=True)))
    step(
        "stream_events",
        None,
        lambda m: first_event(lambda: m(), trigger=lambda: main.create_job("text", {"prompt": "x"})),
    )
else:
    step(
        None,
        "events.stream",
        lambda m: first_event(
            lambda: m(), trigger=lambda: main.workflows.runs.submit("research/trends", input={"topic": "AI"})
        ),
    )

# ---------------------------------------------------------------- registry and runs
WF = "research/trends"
step("list_workflow_registry", "workflows.registry.list", lambda m: m())
step("get_workflow_registry_entry", "workflows.registry.get", lambda m: m(WF))
step("get_workflow_schemas", "workflows.registry.get_schemas", lambda m: m(WF))
step("estimate_workflow_cost", "workflows.estimate", lambda m: m(WF, input={"topic": "AI"}))
composed = unique("compat/composed")
step("compose_workflow", "workflows.registry.compose", lambda m: m(composed, [WF], description="two in one"))
step(
    None,
    "workflows.registry.upsert",
    lambda m: m(
        unique("compat/upserted"),
        {"nodes": [{"type": "ai_generate", "key": "a", "config": {"prompt": "hi"}}]},
    ),
)
step("delete_workflow_registry_entry", "workflows.registry.delete", lambda m: m(composed))

run = step("submit_run", "workflows.runs.submit", lambda m: m(WF, input={"topic": "AI"})) or {}
run_id = data_id(run, "id", "run_id") or "missing"


def invalid_submission() -> Any:
    """validate=True with a bad input: a 400 whose code is the documented input_validation_failed."""
    try:
        return resolve(main, "submit_run" if FLAT else "workflows.runs.submit")(WF, input={}, validate=True)
    except Exception as exc:
        if getattr(exc, "code", None) != "input_validation_failed":
            raise AssertionError(
                f"error code {getattr(exc, 'code', None)!r}, not input_validation_failed"
            ) from exc
        raise


R.run(
    "submit_run[validate]" if FLAT else "workflows.runs.submit[validate]",
    invalid_submission,
    expect="FabricValidationError",
)
step("wait_for_run", "workflows.runs.wait", lambda m: m(run_id, poll_interval=0.1, timeout=60))
step("get_run", "workflows.runs.get", lambda m: m(run_id))
step("get_run_output", "workflows.runs.get_output", lambda m: m(run_id, expires_in=600))
step("run_log", "workflows.runs.log", lambda m: m(run_id))
step("list_children", "workflows.runs.children", lambda m: m(run_id))
step("get_cost_breakdown", None, lambda m: m(run_id))
step("list_run_artifacts", "workflows.runs.artifacts", lambda m: m(run_id))
step(
    "record_run_artifact",
    "workflows.runs.record_artifact",
    lambda m: m(
        run_id, task_id="compat", filename="notes.txt", content_type="text/plain", metadata={"k": "v"}
    ),
)
step("list_runs", "workflows.runs.list", lambda m: m(limit=10))
step("list_waiting_runs", "workflows.runs.list_waiting", lambda m: m())
step(
    "submit_and_wait",
    "workflows.runs.submit_and_wait",
    lambda m: m(WF, input={"topic": "AI"}, timeout=60, poll_interval=0.1),
)
step("stream_run_events", "events.stream_run", lambda m: first_event(lambda: m(run_id)))
if not FLAT:
    job_id = raw("POST", "/v1/jobs", {"modality": "text", "input": {"prompt": "hello"}})["id"]
    step(None, "events.stream_job", lambda m: first_event(lambda: m(job_id, include_internal=True)))
    out = step(
        None,
        "workflows.runs.submit_and_get_output",
        lambda m: m(WF, input={"topic": "AI"}, timeout=60, poll_interval=0.1),
    )
    step(
        None,
        "workflows.runs.submit_bundle",
        lambda m: m([{"workflow": WF, "input": {"topic": "AI"}}], timeout=60, poll_interval=0.1),
    )
    tmp = tempfile.mkdtemp()
    video = main.workflows.runs.submit_and_wait(
        "video/ai_shorts", input={"topic": "AI agents"}, timeout=60, poll_interval=0.1
    )
    video_id = data_id(video, "id", "run_id")
    step(None, "workflows.runs.download_all_artifacts", lambda m: m(video_id, dest_dir=tmp))
    arts = main.workflows.runs.artifacts(video_id) or []
    url = next((a.get("download_url") for a in arts if a.get("download_url")), "missing")
    step(None, "workflows.runs.download_artifact", lambda m: m(url, dest_dir=tmp, filename="a.bin"))


# runs that stop (an approval node, a signal wait) and a run that fails
def define(name: str, nodes: list) -> Any:
    """A named definition: upsert_workflow (flat) or registry.upsert (namespaced)."""
    if FLAT:
        return main.upsert_workflow(name, nodes)
    # 0.17 has no definition method: set the fixture up over plain HTTP, then run it by name.
    raw("POST", "/v1/workflow-definitions", {"name": name, "organization_id": ORG, "nodes": nodes})
    return name


def start(definition: Any) -> str:
    if FLAT:
        return main.run_workflow(definition, context={"topic": "AI"})
    created = raw("POST", "/v1/workflow-runs", {"workflow_definition_id": definition, "context": {}})
    raw("POST", f"/v1/workflow-runs/{created['id']}/start", {})
    return str(created["id"])


def settle(run: str, statuses: tuple, timeout: float = 15.0) -> None:
    get = main.get_run if FLAT else main.workflows.runs.get
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(run).get("status") in statuses:
                return
        except Exception:  # the step that uses the run reports it
            return
        time.sleep(0.05)


gate_name, wait_name, fail_name = unique("compat/gate"), unique("compat/wait"), unique("compat/fail")
wf_def = step(
    "upsert_workflow", None, lambda m: m(gate_name, [{"key": "gate", "type": "approval", "config": {}}])
)
if FLAT:
    step("get_workflow", None, lambda m: m(wf_def))
    step("list_workflows", None, lambda m: m())
    step("run_workflow", None, lambda m: m(wf_def, context={"topic": "AI"}))
gate_def = wf_def if FLAT else define(gate_name, [{"key": "gate", "type": "approval", "config": {}}])
wait_def = define(wait_name, [{"key": "inbox", "type": "wait_for_input", "config": {"signal": "go"}}])
fail_def = define(fail_name, [{"key": "boom", "type": "fail", "config": {"message": "planned"}}])
approvable, resumable, signalable, failed = start(gate_def), start(gate_def), start(wait_def), start(fail_def)
for r, want in (
    (approvable, ("waiting",)),
    (resumable, ("waiting",)),
    (signalable, ("waiting",)),
    (failed, ("failed",)),
):
    settle(r, want)
step("approve_run", "workflows.runs.approve", lambda m: m(approvable, approved=True, reason="looks good"))
step("resume_node", "workflows.runs.resume_node", lambda m: m(resumable, "gate", {"ok": True}))
step("signal_run", "workflows.runs.signal", lambda m: m(signalable, "go", {"ok": True}))
step("recover_run", "workflows.runs.recover", lambda m: m(failed))

# A run that waits for a signal stays pausable for as long as the steps need (a named run
# at the emulator's test speed can finish before the next request arrives).
long_id = start(wait_def)
settle(long_id, ("waiting",))
step("pause_run", "workflows.runs.pause", lambda m: m(long_id, "hold on"))
step("resume_run", "workflows.runs.resume", lambda m: m(long_id))
step("cancel_run_with_reason", "workflows.runs.cancel", lambda m: m(long_id, "no longer needed"))
other = start(wait_def)
settle(other, ("waiting",))
step("cancel_run", None, lambda m: m(other))
more = [
    (main.submit_run if FLAT else main.workflows.runs.submit)(WF, input={"topic": "AI"}) for _ in range(2)
]
step(
    "bulk_cancel_runs", "workflows.runs.bulk_cancel", lambda m: m([data_id(x, "id", "run_id") for x in more])
)

if FLAT:
    step("ai_shorts", None, lambda m: m("why the sky is blue", platforms=["tiktok"], timeout=60))
    step(
        "face_swap",
        None,
        lambda m: m(
            "https://cdn.example.com/base.png", target_url="https://cdn.example.com/face.png", timeout=60
        ),
    )
    step(
        "motion_transfer",
        None,
        lambda m: m(
            "https://cdn.example.com/dance.mp4",
            source_image_url="https://cdn.example.com/face.png",
            timeout=60,
        ),
    )

# ---------------------------------------------------------------- schedules (on a workflow definition)
def_id = wf_def
if not FLAT:
    scheduled = {"name": unique("compat-scheduled"), "organization_id": ORG}
    scheduled["nodes"] = [{"key": "a", "type": "ai_generate", "config": {"prompt": "hi"}}]
    def_id = raw("POST", "/v1/workflow-definitions", scheduled)["id"]
sched = (
    step(
        "create_schedule",
        "schedules.create",
        lambda m: m(def_id, "0 * * * *", timezone="UTC", input_context={"topic": "AI"}),
    )
    or {}
)
sched_id = sched.get("id", "missing")
step("list_schedules", "schedules.list", lambda m: m(def_id))
step("get_schedule", "schedules.get", lambda m: m(sched_id))
step("update_schedule", "schedules.update", lambda m: m(sched_id, cron_expression="30 * * * *"))
step("trigger_schedule", "schedules.trigger", lambda m: m(sched_id))
step("schedule_history", "schedules.history", lambda m: m(sched_id))
step("delete_schedule", "schedules.delete", lambda m: m(sched_id))

# ---------------------------------------------------------------- webhooks
hook = (
    step(
        "create_webhook",
        "webhooks.create",
        lambda m: (
            m(ORG, "http://127.0.0.1:9/hook", ["workflow.run.completed"], "whsec_compat_secret_value")
            if FLAT
            else m(ORG, url="http://127.0.0.1:9/hook", events=["workflow.run.completed"])
        ),
    )
    or {}
)
hook_id = hook.get("id", "missing")
step("list_webhooks", "webhooks.list", lambda m: m(ORG))
step("get_webhook", "webhooks.get", lambda m: m(hook_id))
step("update_webhook", "webhooks.update", lambda m: m(hook_id, events=["workflow.run.failed"]))
step("list_webhook_deliveries", "webhooks.deliveries", lambda m: m(hook_id, limit=10))
step("delete_webhook", "webhooks.delete", lambda m: m(hook_id))

# ---------------------------------------------------------------- sinks
if not FLAT:
    sink = (
        step(
            None,
            "sinks.create",
            lambda m: m(
                ORG, sink_type="http", workflow_name=WF, path="compat/in", default_payload={"topic": "AI"}
            ),
        )
        or {}
    )
    step(None, "sinks.list", lambda m: m(ORG))
    step(None, "sinks.get", lambda m: m(sink.get("id", "missing")))
    step(None, "sinks.trigger_http", lambda m: m(ORG, "compat/in", {"topic": "AI"}))
    step(None, "sinks.delete", lambda m: m(sink.get("id", "missing")))

# ---------------------------------------------------------------- galleries
gal = step("create_gallery", "galleries.create", lambda m: m(kind="persona", name="Compat Gallery")) or {}
gal_id = gal.get("id", "missing")
step("list_galleries", "galleries.list", lambda m: m(kind="persona"))
step("get_gallery", "galleries.get", lambda m: m(gal_id))
item = (
    step(
        "add_gallery_item",
        "galleries.add_item",
        lambda m: m(gal_id, url="https://cdn.example.com/p.png", tags=["hero"]),
    )
    or {}
)
step("list_gallery_items", "galleries.list_items", lambda m: m(gal_id, tags=["hero"]))
step("remove_gallery_item", "galleries.remove_item", lambda m: m(item.get("id", "missing")))
step("delete_gallery", "galleries.delete", lambda m: m(gal_id))

# ---------------------------------------------------------------- permissions
step("check_permission", "permissions.check", lambda m: m("runs.read"))
step(
    "check_permissions",
    "permissions.check_batch",
    lambda m: m([{"action": "runs.read"}, {"action": "runs.write"}]),
)
perm = (
    step(
        "grant_permission",
        "permissions.grant",
        lambda m: m(principal_id=user_id, action="runs.read", organization_id=ORG),
    )
    or {}
)
step("list_permissions", "permissions.list", lambda m: m(organization_id=ORG, principal_id=user_id))
step(
    "resolve_org_role", "permissions.resolve_org_role", lambda m: m(principal_id=user_id, organization_id=ORG)
)
step(
    "resolve_workspace_role",
    "permissions.resolve_workspace_role",
    lambda m: m(principal_id=user_id, organization_id=ORG, team_id=team_id),
)
step("revoke_permission", "permissions.revoke", lambda m: m(perm.get("id", "missing")))

# ---------------------------------------------------------------- service accounts
sa = step("create_service_account", "service_accounts.create", lambda m: m(name="compat-bot")) or {}
sa_id = sa.get("id", "missing")
step("list_service_accounts", "service_accounts.list", lambda m: m())
step("get_service_account", "service_accounts.get", lambda m: m(sa_id))
sak = (
    step(
        "create_service_account_api_key",
        "service_accounts.create_api_key",
        lambda m: m(sa_id) if FLAT else m(sa_id, description="ci", scopes=["runs:read"], expires_in_days=30),
    )
    or {}
)
sak_id = data_id(sak) or data_id(sak.get("api_key") or {}) or "missing"
step("list_service_account_api_keys", "service_accounts.list_api_keys", lambda m: m(sa_id))
step("rotate_service_account_api_key", "service_accounts.rotate_api_key", lambda m: m(sa_id, sak_id))
step("revoke_service_account_api_key", "service_accounts.revoke_api_key", lambda m: m(sa_id, sak_id))
step("disable_service_account", "service_accounts.disable", lambda m: m(sa_id))
step("enable_service_account", "service_accounts.enable", lambda m: m(sa_id))

# ---------------------------------------------------------------- assets (uploads)
up = (
    step(
        "upload_asset",
        "assets.upload",
        lambda m: m(b"hello compat", filename="hello.txt", content_type="text/plain"),
    )
    or {}
)
up_id = up.get("id", "missing")
step("list_assets", "assets.list", lambda m: m(limit=10))
step("asset_signed_url", "assets.signed_url", lambda m: m(up_id, ttl_seconds=600))
step("download_asset", "assets.download", lambda m: m(up_id))

# ---------------------------------------------------------------- admin (the fresh user becomes admin)
admin = user_client(
    user.login(email, NEW_PASSWORD)["access_token"]
    if FLAT
    else user.auth.login(email, NEW_PASSWORD)["access_token"]
)
step("admin_bootstrap", "admin.bootstrap", lambda m: m(), client=admin)
victim_email = unique("victim") + "@example.com"
victim = anon.signup(victim_email, PASSWORD) if FLAT else anon.auth.signup(victim_email, PASSWORD)
victim_id = (victim.get("user") or {}).get("id", "missing")
step("admin_list_users", "admin.list_users", lambda m: m(limit=10), client=admin)
step("admin_get_user", "admin.get_user", lambda m: m(victim_id), client=admin)
step("admin_verify_user", "admin.verify_user", lambda m: m(victim_id), client=admin)
step("admin_unlock_user", "admin.unlock_user", lambda m: m(victim_id), client=admin)
step("admin_force_logout_user", "admin.force_logout_user", lambda m: m(victim_id), client=admin)
step("admin_delete_user", "admin.delete_user", lambda m: m(victim_id), client=admin)
step("list_concurrency_limits", "admin.list_concurrency_limits", lambda m: m(), client=admin)
step("set_concurrency_limit", "admin.set_concurrency_limit", lambda m: m(ORG, 5), client=admin)
if not FLAT:
    step(None, "admin.audit_logs", lambda m: m(), client=admin)

# ---------------------------------------------------------------- endings
step("archive_organization", "organizations.archive", lambda m: m(org2_id))
step("request_org_deletion", "organizations.request_deletion", lambda m: m(org2_id))
step("logout_all", "auth.logout_all", lambda m: m(), client=admin)
late = anon.login(email, NEW_PASSWORD) if FLAT else anon.auth.login(email, NEW_PASSWORD)
step("logout", "auth.logout", lambda m: m(late["access_token"]), client=user_client(late["access_token"]))

R.report()
