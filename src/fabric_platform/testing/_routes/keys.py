"""API keys (/v1/api-keys) and organization secrets (/v1/organizations/{org_id}/secrets).

A key's full value is returned by create and rotate only; it is stored as a hash. Secret
values are write-only: stored in a private field and never part of any response.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain.keys import new_key_doc, public_key, rotated_key
from .._domain.orgs import ROLE_RANK, membership, visible_org_ids
from .._infra.http import (
    ApiError,
    body_uuid,
    emulator_of,
    json_body,
    not_found,
    ok,
    path_uuid,
    query_uuid,
)
from ._guards import current_principal, require_org_action

if TYPE_CHECKING:
    pass

_SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")
MAX_SECRET_BYTES = 64 * 1024


class CreateKey(BaseModel):
    model_config = ConfigDict(strict=True)
    name: str = Field(min_length=1, max_length=200)
    organization_id: str
    scopes: Optional[List[str]] = Field(default=None, max_length=100)
    environment: str = "live"


class SecretBody(BaseModel):
    model_config = ConfigDict(strict=True)
    name: str
    value: str


def _manageable_key(request: Request) -> Dict[str, Any]:
    """The key named in the path, if the caller may manage it (admin of its org, or its creator)."""
    emulator = emulator_of(request)
    key_id = path_uuid(request, "api_key_id", "API key")
    doc = emulator.store.get("api_keys", key_id)
    if doc is None:
        raise not_found("API key")
    principal = current_principal(request)
    assert principal is not None
    member = membership(emulator, principal.id, doc["organization_id"])
    if member is None:
        raise not_found("API key")
    if doc.get("created_by") != principal.id:
        require_org_action(request, doc["organization_id"], "apikey.manage")
    elif not principal.allows("apikey.manage"):
        raise ApiError(403, "forbidden", "The API key lacks the scope 'apikey.manage'.")
    return doc


async def create_key(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, CreateKey)
    org_id = body_uuid(body.organization_id, "organization_id")
    require_org_action(request, org_id, "apikey.manage")
    principal = current_principal(request)
    assert principal is not None
    if body.environment not in ("live", "test"):
        raise ApiError(400, "validation_error", "environment must be 'live' or 'test'.")
    scopes = sorted(set(body.scopes or []))
    if any(not s or len(s) > 100 for s in scopes):
        raise ApiError(400, "validation_error", "Each scope must be 1-100 characters.")
    # A scoped credential cannot mint a key with more power than itself.
    if principal.scopes is not None and (not scopes or any(not principal.allows(s) for s in scopes)):
        raise ApiError(403, "forbidden", "A scoped API key can only create keys within its own scopes.")
    created = new_key_doc(
        emulator,
        name=body.name,
        org_id=org_id,
        scopes=scopes,
        created_by=principal.id,
        environment=body.environment,
    )
    return ok(created)


async def list_keys(request: Request) -> Response:
    emulator = emulator_of(request)
    principal = current_principal(request)
    assert principal is not None
    only_org = query_uuid(request, "organization_id")
    result = []
    for org_id in visible_org_ids(emulator, principal.id):
        if only_org and org_id != only_org:
            continue
        member = membership(emulator, principal.id, org_id)
        is_admin = member is not None and ROLE_RANK[member["role"]] >= ROLE_RANK["admin"]
        for doc in emulator.store.find("api_keys", org_id=org_id):
            if is_admin or doc.get("created_by") == principal.id:
                result.append(public_key(doc))
    return ok(result)


async def get_key(request: Request) -> Response:
    return ok(public_key(_manageable_key(request)))


async def rotate_key(request: Request) -> Response:
    return ok(rotated_key(emulator_of(request), _manageable_key(request)))


async def disable_key(request: Request) -> Response:
    emulator = emulator_of(request)
    doc = _manageable_key(request)
    emulator.store.update("api_keys", doc["id"], active=False, disabled_at=emulator.clock.now_iso())
    return ok(None)


async def delete_key(request: Request) -> Response:
    emulator = emulator_of(request)
    doc = _manageable_key(request)
    emulator.store.delete("api_keys", doc["id"])
    return ok(None)


# --------------------------------------------------------------------------- secrets
def _secret_id(org_id: str, name: str) -> str:
    return f"{org_id}/{name}"


def public_secret(doc: Dict[str, Any]) -> Dict[str, Any]:
    return {"name": doc["name"], "created_at": doc["created_at"], "updated_at": doc["updated_at"]}


async def set_secret(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "secret.manage")
    body = await json_body(request, SecretBody)
    if not _SECRET_NAME.match(body.name):
        raise ApiError(
            400,
            "validation_error",
            "name must start with a letter or _ and contain only letters, digits, _ . - (max 128).",
            {"errors": [{"path": "name", "message": "invalid secret name"}]},
        )
    if len(body.value.encode("utf-8")) > MAX_SECRET_BYTES:
        raise ApiError(400, "validation_error", f"value must be at most {MAX_SECRET_BYTES} bytes.")
    store = emulator.store
    now = emulator.clock.now_iso()
    existing = store.get("secrets", _secret_id(org_id, body.name))
    store.put(
        "secrets",
        {
            "id": _secret_id(org_id, body.name),
            "organization_id": org_id,
            "name": body.name,
            "created_at": existing["created_at"] if existing else now,
            "updated_at": now,
            "_value": body.value,
        },
    )
    return ok(None)


async def list_secrets(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "secret.read")
    return ok([public_secret(d) for d in emulator.store.find("secrets", org_id=org_id)])


async def delete_secret(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "secret.manage")
    if not emulator.store.delete("secrets", _secret_id(org_id, request.path_params["name"])):
        raise not_found("secret")
    return ok(None)


routes = [
    Route("/v1/api-keys", create_key, methods=["POST"], name="createApiKey"),
    Route("/v1/api-keys", list_keys, methods=["GET"], name="listApiKeys"),
    Route("/v1/api-keys/{api_key_id}", get_key, methods=["GET"], name="getApiKey"),
    Route("/v1/api-keys/{api_key_id}", delete_key, methods=["DELETE"], name="deleteApiKey"),
    Route("/v1/api-keys/{api_key_id}/rotate", rotate_key, methods=["POST"], name="rotateApiKey"),
    Route("/v1/api-keys/{api_key_id}/disable", disable_key, methods=["POST"], name="disableApiKey"),
    Route("/v1/organizations/{org_id}/secrets", set_secret, methods=["POST"], name="createSecret"),
    Route("/v1/organizations/{org_id}/secrets", list_secrets, methods=["GET"], name="listSecrets"),
    Route(
        "/v1/organizations/{org_id}/secrets/{name}", delete_secret, methods=["DELETE"], name="deleteSecret"
    ),
]
