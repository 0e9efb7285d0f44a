"""The audit log: one entry for every successful mutating call, written by the request pipeline.

Hooked in at the pipeline (``_app.py``) rather than in each route, so no route can forget it:
the wrapper watches the response of every POST/PUT/PATCH/DELETE outside ``/_emulator`` and, on
a 2xx answer, writes ``{id, organization_id, actor_id, action, resource, metadata, created_at}``
*before* the last byte of the response goes out — a client that reads the audit log right after
its call always finds the entry. Idempotent replays are not new actions and are not logged.

* ``action`` is the operation's SDK namespace with nouns in the singular
  (``jobs.create`` → ``job.create``, ``workflows.runs.submit`` → ``workflow.run.submit``).
* ``resource`` is ``<noun>:<id>``: the id of the resource the call returned, else the last
  id in the path.
* ``organization_id``: the path's ``org_id``, else the returned resource's, else the request
  body's, else the API key's organization.

The same hook counts requests made with app (OAuth) tokens, for ``GET /v1/apps/{id}/usage``.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from starlette.types import Message, Scope, Send

from .._infra.http import is_uuid

if TYPE_CHECKING:
    from .._state import Emulator
    from .auth import Principal

log = logging.getLogger(__name__)

AUDIT = "audit_logs"
APP_USAGE = "app_usage"
_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_MAX_CAPTURE = 256 * 1024
_NS: Optional[Dict[str, str]] = None


def _namespaces() -> Dict[str, str]:
    """operationId → SDK namespace, from the generated operation table (same wheel)."""
    global _NS
    if _NS is None:
        table: Dict[str, str] = {}
        try:
            from fabric_platform_api import operations
            from fabric_platform_api._operation import Operation

            for value in vars(operations).values():
                if isinstance(value, Operation):
                    table[value.operation_id] = value.ns
        except ImportError:  # pragma: no cover - the generated package ships with the SDK
            pass
        _NS = table
    return _NS


def singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and word not in ("status",):
        return word[:-1]
    return word


def action_for(operation_id: Optional[str], method: str, path: str) -> str:
    ns = _namespaces().get(operation_id or "")
    if not ns:
        return f"{method.lower()} {path}"
    parts = ns.split(".")
    return ".".join([singular(p) for p in parts[:-1]] + parts[-1:])


def _param_type(name: str) -> str:
    base = name[:-3] if name.endswith("_id") else name
    return {"org": "organization", "key": "api_key", "item": "gallery_item", "client": "oauth_client"}.get(
        base, base
    )


def _resource(action: str, path_params: Dict[str, Any], data: Any) -> Optional[str]:
    noun = action.split(".")[-2] if "." in action else "resource"
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        return f"{noun}:{data['id']}"
    if path_params:
        name, value = list(path_params.items())[-1]
        return f"{_param_type(name)}:{value}"
    return None


def _organization(
    action: str, path_params: Dict[str, Any], data: Any, body: bytes, principal: Optional[Principal]
) -> Optional[str]:
    candidates = [path_params.get("org_id")]
    if isinstance(data, dict):
        candidates.append(data.get("organization_id"))
        if action.startswith("organization.") and "slug" in data:  # the organization itself
            candidates.append(data.get("id"))
    if body[:1] == b"{":
        try:
            candidates.append(json.loads(body).get("organization_id"))
        except (ValueError, AttributeError, RecursionError):
            pass
    for value in candidates:
        if is_uuid(value):  # a stray non-id value in a body must not land in the log
            return str(value)
    return principal.organization_id if principal is not None else None


def _actor(principal: Optional[Principal], data: Any) -> Optional[str]:
    if principal is not None:
        return principal.id
    user = data.get("user") if isinstance(data, dict) else None  # signup / login
    return user.get("id") if isinstance(user, dict) and isinstance(user.get("id"), str) else None


def record(
    emulator: Emulator,
    *,
    action: str,
    actor_id: Optional[str],
    organization_id: Optional[str],
    resource: Optional[str],
    metadata: Dict[str, Any],
) -> Dict[str, Any]:
    return emulator.store.insert(
        AUDIT,
        {
            "id": str(uuid.uuid4()),
            "organization_id": organization_id,
            "actor_id": actor_id,
            "action": action,
            "resource": resource,
            "metadata": metadata,
            "created_at": emulator.clock.now_iso(),
        },
    )


def observe(
    emulator: Emulator, scope: Scope, method: str, body: bytes, principal: Optional[Principal], send: Send
) -> Send:
    """Wrap ``send`` for one request: count app-token requests, audit successful mutations."""
    _count_app_request(emulator, principal)
    if method not in _MUTATING:
        return send
    state: Dict[str, Any] = {"status": 0, "replayed": False, "json": False, "body": bytearray(), "big": False}

    async def audited(message: Message) -> None:
        if message["type"] == "http.response.start":
            state["status"] = message["status"]
            for key, value in message.get("headers", []):
                lowered = key.lower()
                if lowered == b"idempotent-replayed":
                    state["replayed"] = True
                elif lowered == b"content-type":
                    state["json"] = b"json" in value.lower()
        elif message["type"] == "http.response.body":
            if not state["big"]:
                state["body"].extend(message.get("body", b""))
                if len(state["body"]) > _MAX_CAPTURE:
                    state["big"] = True
                    state["body"] = bytearray()
            if not message.get("more_body", False) and 200 <= state["status"] < 300 and not state["replayed"]:
                try:
                    _write(emulator, scope, method, body, principal, state)
                except Exception:  # the audit log must never break the call it records
                    log.exception("could not write the audit entry")
        await send(message)

    return audited


def _write(
    emulator: Emulator,
    scope: Scope,
    method: str,
    body: bytes,
    principal: Optional[Principal],
    state: Dict[str, Any],
) -> None:
    data: Any = None
    if state["json"] and state["body"]:
        try:
            data = json.loads(bytes(state["body"])).get("data")
        except (ValueError, AttributeError):
            data = None
    operation_id, template = _operation(scope, method)
    path = scope.get("path", "")
    action = action_for(operation_id, method, template or path)
    path_params = {k: str(v) for k, v in (scope.get("path_params") or {}).items()}
    metadata: Dict[str, Any] = {
        "operation_id": operation_id,
        "method": method,
        "path": path,
        "status": state["status"],
        "via": principal.via if principal is not None else None,
    }
    if principal is not None and principal.api_key_id:
        metadata["api_key_id"] = principal.api_key_id
    app_id = _app_of(emulator, principal)
    if app_id:
        metadata["app_id"] = app_id
    record(
        emulator,
        action=action,
        actor_id=_actor(principal, data),
        organization_id=_organization(action, path_params, data, body, principal),
        resource=_resource(action, path_params, data),
        metadata=metadata,
    )


def _operation(scope: Scope, method: str) -> Tuple[Optional[str], Optional[str]]:
    """(operationId, path template) of the route that served the request."""
    app = scope.get("app")
    endpoint = scope.get("endpoint")
    for route in getattr(app, "routes", []) or []:
        if getattr(route, "endpoint", None) is endpoint and method in (getattr(route, "methods", None) or ()):
            return getattr(route, "name", None), getattr(route, "path", None)
    return None, None


# --------------------------------------------------------------------------- apps
def _app_of(emulator: Emulator, principal: Optional[Principal]) -> Optional[str]:
    if principal is None or principal.via != "access_token" or not principal.access_token_id:
        return None
    token = emulator.store.get("access_tokens", principal.access_token_id) or {}
    return token.get("app_id")


def _count_app_request(emulator: Emulator, principal: Optional[Principal]) -> None:
    try:
        app_id = _app_of(emulator, principal)
        if app_id:
            store = emulator.store
            with store.transaction():
                doc = store.get(APP_USAGE, app_id) or {"id": app_id, "requests": {}}
                month = emulator.clock.now_iso()[:7]  # counted per calendar month (UTC)
                doc["requests"][month] = int(doc["requests"].get(month, 0)) + 1
                store.put(APP_USAGE, doc)
    except Exception:  # counting must never fail a request
        log.exception("could not count an app request")
