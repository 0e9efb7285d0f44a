"""Galleries and their items (/v1/galleries*, /v1/gallery-items/*), and persona resolution.

A gallery is a named, typed collection (``portrait``, ``product``, ``style``, … — an open set)
of items, each backed by an asset of the same organization or by a URL (data: never fetched).
Items keep insertion order, which is what ``persona_index`` counts in: ``face_swap`` and
``motion_transfer`` submissions naming ``persona_gallery_id`` are resolved here, through the
engine's ``INPUT_RESOLVERS`` hook, to the chosen item (``persona_item_id``, ``persona_url``,
``persona_asset_id`` are added to the run's input); a bad gallery or index is a 400.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Dict, List

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain.assets import ASSETS
from .._domain.galleries import GALLERIES, ITEMS, items_of
from .._infra.http import (
    body_uuid,
    emulator_of,
    invalid_field,
    json_body,
    ok,
    page_cursor,
    path_uuid,
    strip,
)
from ._guards import default_org, org_doc, require_org_action
from ._request import name_field

_KIND = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_TAGS = 50


def public_gallery(store: Any, doc: Dict[str, Any]) -> Dict[str, Any]:
    out = strip(doc)
    out["item_count"] = len(items_of(store, doc["id"], doc["organization_id"]))
    return out


def public_item(doc: Dict[str, Any]) -> Dict[str, Any]:
    return strip(doc, "organization_id")


def _tags(value: Any, path: str = "tags") -> List[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise invalid_field(path, f"must be an array of at most {MAX_TAGS} strings")
    tags: List[str] = []
    for tag in value:
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 64 or "," in tag:
            raise invalid_field(
                path, "entries must be non-empty strings of at most 64 characters without commas"
            )
        tags.append(tag.strip())
    return list(dict.fromkeys(tags))


def _metadata(value: Any) -> Dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_field("metadata", "must be an object")
    return value


# --------------------------------------------------------------------------- galleries
async def create_gallery(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request)
    given = body.get("organization_id")
    org_id = body_uuid(given, "organization_id") if given is not None else default_org(request)
    require_org_action(request, org_id, "gallery.create")
    kind, name = body.get("kind"), body.get("name")
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise invalid_field("kind", "must be a lowercase word such as portrait, product or style")
    name = name_field(name)
    team_id = body.get("team_id")
    if team_id is not None:
        team_id = body_uuid(team_id, "team_id")
        team = emulator.store.get("teams", team_id)
        if team is None or team["organization_id"] != org_id:
            raise invalid_field("team_id", "is not a team of the organization")
    doc = {
        "id": str(uuid.uuid4()),
        "organization_id": org_id,
        "team_id": team_id,
        "kind": kind,
        "name": name,
        "metadata": _metadata(body.get("metadata")),
        "created_at": emulator.clock.now_iso(),
    }
    emulator.store.insert(GALLERIES, doc)
    return ok(public_gallery(emulator.store, doc))


async def list_galleries(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = default_org(request)
    require_org_action(request, org_id, "gallery.read")
    kind = request.query_params.get("kind")
    docs = emulator.store.find(GALLERIES, org_id=org_id, where={"kind": kind} if kind else None)
    return page_cursor([public_gallery(emulator.store, d) for d in docs], request)


def _gallery_for(request: Request, action: str) -> Dict[str, Any]:
    return org_doc(request, GALLERIES, path_uuid(request, "gallery_id", "gallery"), action, "gallery")


async def get_gallery(request: Request) -> Response:
    return ok(public_gallery(emulator_of(request).store, _gallery_for(request, "gallery.read")))


async def delete_gallery(request: Request) -> Response:
    emulator = emulator_of(request)
    doc = _gallery_for(request, "gallery.delete")
    store = emulator.store
    out = public_gallery(store, doc)
    with store.transaction():
        for item in items_of(store, doc["id"], doc["organization_id"]):
            store.delete(ITEMS, item["id"])
        store.delete(GALLERIES, doc["id"])
    return ok(out)


# --------------------------------------------------------------------------- items
async def add_item(request: Request) -> Response:
    emulator = emulator_of(request)
    gallery = _gallery_for(request, "gallery.update")
    body = await json_body(request)
    asset_id, url = body.get("asset_id"), body.get("url")
    if asset_id is None and url is None:
        raise invalid_field("asset_id", "or url is required (an item is an asset or a URL)")
    if asset_id is not None:
        asset_id = body_uuid(asset_id, "asset_id")
        asset = emulator.store.get(ASSETS, asset_id)
        if asset is None or asset["organization_id"] != gallery["organization_id"]:
            raise invalid_field("asset_id", "is not an asset of the gallery's organization")
    if url is not None:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(url) if isinstance(url, str) else None
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2048:
            raise invalid_field("url", "must be an absolute http(s) URL")
    doc = {
        "id": str(uuid.uuid4()),
        "organization_id": gallery["organization_id"],
        "gallery_id": gallery["id"],
        "asset_id": asset_id,
        "url": url,
        "tags": _tags(body.get("tags")),
        "metadata": _metadata(body.get("metadata")),
        "created_at": emulator.clock.now_iso(),
    }
    emulator.store.insert(ITEMS, doc)
    return ok(public_item(doc))


async def list_items(request: Request) -> Response:
    emulator = emulator_of(request)
    gallery = _gallery_for(request, "gallery.read")
    raw = request.query_params.getlist("tags")
    wanted = {t.strip() for value in raw for t in value.split(",") if t.strip()}
    items = items_of(emulator.store, gallery["id"], gallery["organization_id"])
    if wanted:
        items = [i for i in items if wanted.issubset(i.get("tags") or [])]
    return page_cursor([public_item(i) for i in items], request)


async def remove_item(request: Request) -> Response:
    emulator = emulator_of(request)
    item_id = path_uuid(request, "item_id", "gallery item")
    item = org_doc(request, ITEMS, item_id, "gallery.update", "gallery item")
    emulator.store.delete(ITEMS, item["id"])
    return ok(public_item(item))


routes = [
    Route("/v1/galleries", list_galleries, methods=["GET"], name="listGalleries"),
    Route("/v1/galleries", create_gallery, methods=["POST"], name="createGallery"),
    Route("/v1/galleries/{gallery_id}", get_gallery, methods=["GET"], name="getGallery"),
    Route("/v1/galleries/{gallery_id}", delete_gallery, methods=["DELETE"], name="deleteGallery"),
    Route("/v1/galleries/{gallery_id}/items", list_items, methods=["GET"], name="listGalleryItems"),
    Route("/v1/galleries/{gallery_id}/items", add_item, methods=["POST"], name="addGalleryItem"),
    Route("/v1/gallery-items/{item_id}", remove_item, methods=["DELETE"], name="removeGalleryItem"),
]
