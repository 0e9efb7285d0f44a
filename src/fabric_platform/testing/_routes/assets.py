"""Assets: raw uploads, listings, downloads and signed URLs (/v1/assets*, /v1/organizations/{org_id}/assets*).

The bytes are stored on disk (``_domain.assets``); the metadata ``{id, organization_id, filename,
content_type, size_bytes, sha256, created_at}`` in the store. ``GET /v1/assets/{id}`` answers
the raw bytes (streamed from the file) either to a caller who may read the asset's
organization or to anyone holding an unexpired signed URL. The response's media type is
``application/octet-stream`` as the contract says; the type given at upload is in
``X-Asset-Content-Type`` and in the metadata.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any, Dict

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from .._domain.assets import ASSETS, DEFAULT_TTL, MAX_TTL, check_signed, files_of, signed_url
from .._infra.http import (
    ApiError,
    emulator_of,
    is_uuid,
    json_body,
    not_found,
    ok,
    page_offset,
    path_uuid,
    query_uuid,
    strip,
)
from ._guards import default_org, org_doc, require_org_action

_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")
_MAX_FILENAME = 255


_RECORD_FIELDS = ("asset_type", "name", "provider", "provider_id", "metadata", "team_id")


def public_asset(doc: Dict[str, Any]) -> Dict[str, Any]:
    out = strip(doc)
    # Files and JSON records share one shape: each kind's own fields are null on the other.
    out.setdefault("kind", "file")
    for key in _RECORD_FIELDS:
        out.setdefault(key, None)
    return out


def _filename(request: Request, asset_id: str) -> str:
    raw = request.query_params.get("filename") or ""
    # Keep the last path component only: a file name is not a place to put a path.
    name = re.split(r"[\\/]", raw)[-1].strip()
    name = "".join(c for c in name if c.isprintable())[:_MAX_FILENAME]
    return name or f"asset-{asset_id[:8]}.bin"


def _content_type(request: Request) -> str:
    raw = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not raw:
        return "application/octet-stream"
    if not _MEDIA_TYPE.match(raw):
        raise ApiError(
            400,
            "validation_error",
            f"Content-Type {raw[:100]!r} is not a media type (type/subtype).",
            {"errors": [{"path": "Content-Type", "message": "not a media type"}]},
        )
    return raw


async def _store_upload(request: Request, org_id: str) -> Response:
    emulator = emulator_of(request)
    require_org_action(request, org_id, "asset.create")
    asset_id = str(uuid.uuid4())
    content_type = _content_type(request)
    data = await request.body()
    files = files_of(emulator)
    # Disk I/O off the event loop: other requests carry on while a large file is written.
    size, sha256 = await asyncio.get_running_loop().run_in_executor(None, files.write, asset_id, data)
    doc = {
        "id": asset_id,
        "organization_id": org_id,
        "filename": _filename(request, asset_id),
        "content_type": content_type,
        "size_bytes": size,
        "sha256": sha256,
        "created_at": emulator.clock.now_iso(),
    }
    emulator.store.insert(ASSETS, doc)
    return ok(public_asset(doc))


async def upload_asset(request: Request) -> Response:
    return await _store_upload(request, default_org(request))


async def create_org_asset(request: Request) -> Response:
    org_id = path_uuid(request, "org_id", "organization")
    if request.headers.get("content-type", "").split(";", 1)[0].strip().lower() == "application/json":
        # A JSON body is a record (a persona, a voice, a provider's avatar…), never file bytes.
        return await _store_record(request, org_id)
    return await _store_upload(request, org_id)


async def _store_record(request: Request, org_id: str) -> Response:
    emulator = emulator_of(request)
    require_org_action(request, org_id, "asset.create")
    body = await json_body(request)
    errors = []
    for key in ("asset_type", "name"):
        if not isinstance(body.get(key), str) or not body[key].strip() or len(body[key]) > 200:
            errors.append(
                {"path": key, "message": "is required (a non-empty string of at most 200 characters)"}
            )
    for key in ("provider", "provider_id"):
        if body.get(key) is not None and (not isinstance(body[key], str) or len(body[key]) > 500):
            errors.append({"path": key, "message": "must be a string (at most 500 characters) or null"})
    if body.get("metadata") is not None and not isinstance(body["metadata"], dict):
        errors.append({"path": "metadata", "message": "must be an object or null"})
    team_id = body.get("team_id")
    if team_id is not None:
        team = emulator.store.get("teams", team_id) if is_uuid(team_id) else None
        if team is None or team.get("organization_id") != org_id:
            errors.append({"path": "team_id", "message": "must be the id of a team of this organization"})
    if errors:
        raise ApiError(
            400,
            "validation_error",
            "invalid asset: " + "; ".join(f"{e['path']} {e['message']}" for e in errors),
            {"errors": errors},
        )
    doc = {
        "id": str(uuid.uuid4()),
        "organization_id": org_id,
        "kind": "record",
        "filename": None,
        "content_type": None,
        "size_bytes": None,
        "sha256": None,
        "asset_type": body["asset_type"],
        "name": body["name"],
        "provider": body.get("provider"),
        "provider_id": body.get("provider_id"),
        "metadata": body.get("metadata") or {},
        "team_id": str(uuid.UUID(team_id)) if team_id is not None else None,
        "created_at": emulator.clock.now_iso(),
    }
    emulator.store.insert(ASSETS, doc)
    return ok(public_asset(doc))


def _listing(request: Request, org_id: str) -> Response:
    require_org_action(request, org_id, "asset.read")
    docs = emulator_of(request).store.find(ASSETS, org_id=org_id)
    asset_type = request.query_params.get("asset_type")
    if asset_type:
        docs = [d for d in docs if d.get("asset_type") == asset_type]
    team_id = query_uuid(request, "team_id")
    if team_id:
        docs = [d for d in docs if d.get("team_id") == team_id]
    docs.reverse()  # newest first
    return page_offset([public_asset(d) for d in docs], request)


async def list_assets(request: Request) -> Response:
    return _listing(request, default_org(request))


async def list_org_assets(request: Request) -> Response:
    return _listing(request, path_uuid(request, "org_id", "organization"))


def _asset_for(request: Request, action: str) -> Dict[str, Any]:
    return org_doc(request, ASSETS, path_uuid(request, "asset_id", "asset"), action, "asset")


def _org_asset_for(request: Request, action: str) -> Dict[str, Any]:
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, action)
    doc = _asset_for(request, action)
    if doc["organization_id"] != org_id:
        raise not_found("asset")
    return doc


async def download_asset(request: Request) -> Response:
    emulator = emulator_of(request)
    params = request.query_params
    if "signature" in params or "expires" in params:
        asset_id = request.path_params.get("asset_id", "")
        # The signature is checked before the lookup: a bad URL cannot probe which ids exist.
        check_signed(emulator, asset_id, params.get("expires"), params.get("signature"))
        doc = emulator.store.get(ASSETS, asset_id) if is_uuid(asset_id) else None
        if doc is None:
            raise not_found("asset")
    else:
        doc = _asset_for(request, "asset.read")
    if doc.get("kind", "file") != "file":
        raise ApiError(404, "not_found", "The asset is a JSON record; it has no file to download.")
    path = files_of(emulator).path(doc["id"])
    if not path.exists():
        raise ApiError(404, "not_found", "The asset's bytes are no longer stored.")
    return FileResponse(
        str(path),
        media_type="application/octet-stream",
        filename=doc["filename"],
        headers={"X-Asset-Content-Type": doc["content_type"], "Cache-Control": "private, no-store"},
    )


async def create_signed_url(request: Request) -> Response:
    doc = _asset_for(request, "asset.read")
    if doc.get("kind", "file") != "file":
        raise ApiError(404, "not_found", "The asset is a JSON record; it has no file to sign a URL for.")
    body = await json_body(request, optional=True)
    ttl = body.get("ttl_seconds", DEFAULT_TTL)
    if ttl is None:
        ttl = DEFAULT_TTL
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= MAX_TTL:
        raise ApiError(
            400,
            "validation_error",
            f"ttl_seconds must be an integer from 1 to {MAX_TTL}.",
            {"errors": [{"path": "ttl_seconds", "message": f"must be an integer from 1 to {MAX_TTL}"}]},
        )
    base = str(request.base_url).rstrip("/")
    url, expires_at = signed_url(emulator_of(request), base, doc["id"], ttl)
    return ok({"url": url, "expires_at": expires_at})


async def get_org_asset(request: Request) -> Response:
    return ok(public_asset(_org_asset_for(request, "asset.read")))


async def delete_org_asset(request: Request) -> Response:
    emulator = emulator_of(request)
    doc = _org_asset_for(request, "asset.delete")
    emulator.store.delete(ASSETS, doc["id"])
    if doc.get("kind", "file") == "file":
        files_of(emulator).delete(doc["id"])
    return ok(None)


routes = [
    Route("/v1/assets", upload_asset, methods=["POST"], name="uploadAsset"),
    Route("/v1/assets", list_assets, methods=["GET"], name="listAssets"),
    Route("/v1/assets/{asset_id}", download_asset, methods=["GET"], name="downloadAsset"),
    Route(
        "/v1/assets/{asset_id}/signed-url", create_signed_url, methods=["POST"], name="createAssetSignedUrl"
    ),
    Route("/v1/organizations/{org_id}/assets", create_org_asset, methods=["POST"], name="createOrgAsset"),
    Route("/v1/organizations/{org_id}/assets", list_org_assets, methods=["GET"], name="listOrgAssets"),
    Route("/v1/organizations/{org_id}/assets/{asset_id}", get_org_asset, methods=["GET"], name="getOrgAsset"),
    Route(
        "/v1/organizations/{org_id}/assets/{asset_id}",
        delete_org_asset,
        methods=["DELETE"],
        name="deleteOrgAsset",
    ),
]
