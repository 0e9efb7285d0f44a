"""Webhooks (/v1/organizations/{org_id}/webhooks, /v1/webhooks/*) and the org webhook secret.

Delivery itself is ``_domain.webhooks``. Each webhook signs with its own secret (given at
creation or generated; shown once). ``POST /v1/organizations/{org_id}/webhook-secret/rotate``
issues a new organization secret and makes it the signing secret of every webhook of the
organization, effective for the next delivery attempt.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain import auth as _auth
from .._domain.webhooks import (
    DEFAULT_MAX_RETRIES,
    DELIVERIES,
    MAX_RETRIES_LIMIT,
    WEBHOOKS,
    dispatcher_of,
    unknown_kinds,
)
from .._infra.http import body_uuid, emulator_of, invalid_field, json_body, ok, page_offset, path_uuid, strip
from ._guards import default_org, org_doc, require_org_action
from ._request import opt_str

if TYPE_CHECKING:
    from .._state import Emulator

ORG_SECRETS = "webhook_secrets"
MANAGE = "webhook.manage"
READ = "webhook.read"
_MAX_URL = 2048


def public_webhook(doc: Dict[str, Any]) -> Dict[str, Any]:
    return strip(doc)


def _url(value: Any) -> str:
    from urllib.parse import urlsplit

    if not isinstance(value, str) or not value or len(value) > _MAX_URL:
        raise invalid_field("url", f"must be an http(s) URL of at most {_MAX_URL} characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise invalid_field("url", "must be an absolute http:// or https:// URL with a host")
    return value


def _events(value: Any) -> List[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise invalid_field(
            "events", "must be a non-empty array of event kinds (patterns like 'workflow.run.*' or '*' work)"
        )
    unknown = unknown_kinds(value)
    if unknown:
        raise invalid_field("events", f"names no known event kind: {', '.join(repr(u) for u in unknown[:5])}")
    return list(dict.fromkeys(value))


def _resource_filter(value: Any) -> Optional[Dict[str, Any]]:
    if value is not None and not isinstance(value, dict):
        raise invalid_field("resource_filter", "must be an object (field -> value or list of values) or null")
    return value or None


def _max_retries(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETRIES_LIMIT:
        raise invalid_field("max_retries", f"must be an integer from 0 to {MAX_RETRIES_LIMIT}")
    return value


def _secret(value: Any) -> str:
    if value is None:
        return _auth.new_secret("whsec_", 24)
    if not isinstance(value, str) or not 8 <= len(value) <= 256:
        raise invalid_field("secret", "must be a string of 8 to 256 characters")
    return value


async def _create(request: Request, org_id: str, body: Dict[str, Any]) -> Response:
    emulator = emulator_of(request)
    require_org_action(request, org_id, MANAGE)
    description = opt_str(body, "description")
    secret = _secret(body.get("secret"))
    doc = {
        "id": str(uuid.uuid4()),
        "organization_id": org_id,
        "url": _url(body.get("url")),
        "description": description,
        "event_filter": _events(body.get("events")),
        "resource_filter": _resource_filter(body.get("resource_filter")),
        "active": True,
        "max_retries": _max_retries(body["max_retries"]) if "max_retries" in body else DEFAULT_MAX_RETRIES,
        "created_at": emulator.clock.now_iso(),
        "updated_at": emulator.clock.now_iso(),
        "_secret": secret,
    }
    emulator.store.insert(WEBHOOKS, doc)
    return ok(dict(public_webhook(doc), secret=secret))


async def create_webhook(request: Request) -> Response:
    org_id = path_uuid(request, "org_id", "organization")
    return await _create(request, org_id, await json_body(request))


async def create_webhook_global(request: Request) -> Response:
    body = await json_body(request)
    given = body.get("organization_id")
    org_id = body_uuid(given, "organization_id") if given is not None else default_org(request)
    return await _create(request, org_id, body)


async def list_webhooks(request: Request) -> Response:
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, READ)
    return ok([public_webhook(d) for d in emulator_of(request).store.find(WEBHOOKS, org_id=org_id)])


def _webhook_for(request: Request, action: str) -> Dict[str, Any]:
    return org_doc(request, WEBHOOKS, path_uuid(request, "webhook_id", "webhook"), action, "webhook")


async def get_webhook(request: Request) -> Response:
    return ok(public_webhook(_webhook_for(request, READ)))


async def update_webhook(request: Request) -> Response:
    doc = _webhook_for(request, MANAGE)
    body = await json_body(request)
    changes: Dict[str, Any] = {}
    if "url" in body:
        changes["url"] = _url(body["url"])
    if "events" in body:
        changes["event_filter"] = _events(body["events"])
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise invalid_field("active", "must be a boolean")
        changes["active"] = body["active"]
    if "resource_filter" in body:
        changes["resource_filter"] = _resource_filter(body["resource_filter"])
    if "max_retries" in body:
        changes["max_retries"] = _max_retries(body["max_retries"])
    if "description" in body:
        changes["description"] = opt_str(body, "description")
    emulator = emulator_of(request)
    changes["updated_at"] = emulator.clock.now_iso()
    updated = emulator.store.update(WEBHOOKS, doc["id"], **changes)
    assert updated is not None
    return ok(public_webhook(updated))


async def delete_webhook(request: Request) -> Response:
    doc = _webhook_for(request, MANAGE)
    emulator_of(request).store.delete(WEBHOOKS, doc["id"])
    return ok(None)


def public_delivery(doc: Dict[str, Any]) -> Dict[str, Any]:
    return strip(doc, "organization_id")


async def list_deliveries(request: Request) -> Response:
    doc = _webhook_for(request, READ)
    deliveries = emulator_of(request).store.find(
        DELIVERIES, org_id=doc["organization_id"], where={"webhook_id": doc["id"]}
    )
    deliveries.reverse()  # newest first
    return page_offset([public_delivery(d) for d in deliveries], request)


async def rotate_org_secret(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, MANAGE)
    secret = _auth.new_secret("whsec_", 24)
    store = emulator.store
    now = emulator.clock.now_iso()
    with store.transaction():
        store.put(
            ORG_SECRETS, {"id": org_id, "organization_id": org_id, "rotated_at": now, "_secret": secret}
        )
        for hook in store.find(WEBHOOKS, org_id=org_id):
            store.update(WEBHOOKS, hook["id"], _secret=secret, updated_at=now)
    return ok({"secret": secret, "rotated_at": now})


async def on_startup(emulator: Emulator) -> None:
    dispatcher_of(emulator).start()


routes = [
    Route("/v1/organizations/{org_id}/webhooks", create_webhook, methods=["POST"], name="createWebhook"),
    Route("/v1/organizations/{org_id}/webhooks", list_webhooks, methods=["GET"], name="listWebhooks"),
    Route(
        "/v1/organizations/{org_id}/webhook-secret/rotate",
        rotate_org_secret,
        methods=["POST"],
        name="rotateWebhookSecret",
    ),
    Route("/v1/webhooks", create_webhook_global, methods=["POST"], name="createWebhookGlobal"),
    Route("/v1/webhooks/{webhook_id}", get_webhook, methods=["GET"], name="getWebhook"),
    Route("/v1/webhooks/{webhook_id}", update_webhook, methods=["PATCH"], name="updateWebhook"),
    Route("/v1/webhooks/{webhook_id}", delete_webhook, methods=["DELETE"], name="deleteWebhook"),
    Route(
        "/v1/webhooks/{webhook_id}/deliveries", list_deliveries, methods=["GET"], name="listWebhookDeliveries"
    ),
]
