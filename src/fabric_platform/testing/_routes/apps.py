"""Apps (/v1/apps*): OAuth clients owned by an organization, with a name, a lifecycle and usage.

An app's ``client_id``/``client_secret`` work at ``POST /v1/oauth/token`` like any OAuth
client's; deactivating an app (``active: false``) revokes every token it was issued. Usage
counts the requests made with the app's tokens (counted by the pipeline, ``_domain.audit``) and
the runs and jobs they created, with those runs' and jobs' cost, for the current month.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Dict, Set

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain import auth as _auth
from .._domain import oauth as _oauth
from .._domain import usage as _usage
from .._domain.audit import APP_USAGE, AUDIT
from .._domain.oauth import redirect_uris, string_list
from .._infra.http import body_uuid, emulator_of, invalid_field, json_body, ok, path_uuid, query_uuid, strip
from ._guards import current_principal, default_org, org_doc, require_org_action
from ._request import name_field, opt_str

MANAGE = "apikey.manage"
READ = "app.read"
_RUN_ACTIONS = frozenset({"workflow.run.submit", "workflow.run.create_legacy", "sink.trigger_http"})


def public_app(doc: Dict[str, Any]) -> Dict[str, Any]:
    return strip(doc)


_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def _public_fields(body: Dict[str, Any]) -> Dict[str, Any]:
    """The public clients' app fields: ``slug`` and ``allowed_origins`` (CORS origins)."""
    out: Dict[str, Any] = {}
    if body.get("slug") is not None:
        if not isinstance(body["slug"], str) or not _SLUG.match(body["slug"]):
            raise invalid_field("slug", "must be lowercase letters, digits and '-' (at most 63)")
        out["slug"] = body["slug"]
    if "allowed_origins" in body:
        origins = string_list(body["allowed_origins"], "allowed_origins", limit=100)
        bad = [o for o in origins if not _ORIGIN.match(o)]
        if bad:
            raise invalid_field(
                "allowed_origins", f"{bad[0]!r} is not an origin like https://app.example.com"
            )
        out["allowed_origins"] = origins
    return out


async def create_app(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request)
    given = body.get("organization_id")
    org_id = body_uuid(given, "organization_id") if given is not None else default_org(request)
    require_org_action(request, org_id, MANAGE)
    principal = current_principal(request)
    assert principal is not None
    client_id, secret = _oauth.new_client_credentials("fapp_")
    now = emulator.clock.now_iso()
    doc = {
        "id": str(uuid.uuid4()),
        "organization_id": org_id,
        "name": name_field(body.get("name")),
        "description": opt_str(body, "description"),
        "client_id": client_id,
        "redirect_uris": redirect_uris(body.get("redirect_uris")),
        "scopes": sorted(set(string_list(body.get("scopes"), "scopes", limit=100))),
        "active": True,
        "slug": None,
        "allowed_origins": [],
        **_public_fields(body),
        # Apps belong to the user who made them (the public clients' "owner").
        "owner_user_id": principal.id if principal.kind == "user" else None,
        "created_by": principal.id,
        "created_at": now,
        "updated_at": now,
        "_secret_hash": _auth.token_hash(secret),
    }
    emulator.store.insert(_oauth.APPS, doc)
    return ok(dict(public_app(doc), client_secret=secret))


async def list_apps(request: Request) -> Response:
    org_id = query_uuid(request, "organization_id") or default_org(request)
    require_org_action(request, org_id, READ)
    return ok([public_app(d) for d in emulator_of(request).store.find(_oauth.APPS, org_id=org_id)])


def _app_for(request: Request, action: str) -> Dict[str, Any]:
    return org_doc(request, _oauth.APPS, path_uuid(request, "app_id", "app"), action, "app")


async def get_app(request: Request) -> Response:
    return ok(public_app(_app_for(request, READ)))


async def update_app(request: Request) -> Response:
    emulator = emulator_of(request)
    doc = _app_for(request, MANAGE)
    body = await json_body(request)
    changes: Dict[str, Any] = _public_fields(body)
    if "name" in body:
        changes["name"] = name_field(body["name"])
    if "description" in body:
        changes["description"] = opt_str(body, "description")
    if "redirect_uris" in body:
        changes["redirect_uris"] = redirect_uris(body["redirect_uris"])
    if "scopes" in body:
        changes["scopes"] = sorted(set(string_list(body["scopes"], "scopes", limit=100)))
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise invalid_field("active", "must be a boolean")
        changes["active"] = body["active"]
    changes["updated_at"] = emulator.clock.now_iso()
    updated = emulator.store.update(_oauth.APPS, doc["id"], **changes)
    assert updated is not None
    if doc.get("active", True) and changes.get("active") is False:
        _oauth.revoke_client_tokens(emulator, dict(updated, _kind=_oauth.APPS))
    return ok(public_app(updated))


async def rotate_secret(request: Request) -> Response:
    emulator = emulator_of(request)
    doc = _app_for(request, MANAGE)
    secret = _auth.new_secret("fcs_", 32)
    updated = emulator.store.update(
        _oauth.APPS, doc["id"], _secret_hash=_auth.token_hash(secret), updated_at=emulator.clock.now_iso()
    )
    assert updated is not None
    return ok(dict(public_app(updated), client_secret=secret))


async def app_usage(request: Request) -> Response:
    emulator = emulator_of(request)
    doc = _app_for(request, READ)
    start, end = _usage.month_bounds(emulator.clock.now())
    store = emulator.store
    runs: Set[str] = set()
    jobs: Set[str] = set()
    for entry in store.find(AUDIT, org_id=doc["organization_id"]):
        if (entry.get("metadata") or {}).get("app_id") != doc["id"] or not start <= entry["created_at"] < end:
            continue
        kind, _, resource_id = (entry.get("resource") or "").partition(":")
        if entry["action"] in _RUN_ACTIONS and kind == "run":
            runs.add(resource_id)
        elif entry["action"] == "job.create" and kind == "job":
            jobs.add(resource_id)
    cost = sum(
        float(r.get("cost_usd") or 0)
        for r in _usage.records(emulator, doc["organization_id"], start, end)
        if r.get("run_id") in runs or r.get("job_id") in jobs
    )
    counter = store.get(APP_USAGE, doc["id"]) or {}
    return ok(
        {
            "app_id": doc["id"],
            "period_start": start,
            "period_end": end,
            "requests": int((counter.get("requests") or {}).get(start[:7], 0)),
            "runs": len(runs),
            "jobs": len(jobs),
            "cost_usd": round(cost, 9),
        }
    )


routes = [
    Route("/v1/apps", create_app, methods=["POST"], name="createApp"),
    Route("/v1/apps", list_apps, methods=["GET"], name="listApps"),
    Route("/v1/apps/{app_id}", get_app, methods=["GET"], name="getApp"),
    Route("/v1/apps/{app_id}", update_app, methods=["PATCH"], name="updateApp"),
    Route("/v1/apps/{app_id}/rotate-secret", rotate_secret, methods=["POST"], name="rotateAppSecret"),
    Route("/v1/apps/{app_id}/usage", app_usage, methods=["GET"], name="getAppUsage"),
]
