"""Galleries and their items, and the persona resolver the run engine is given.

Face-swap and motion-transfer inputs may name a persona gallery (``persona_gallery_id`` +
``persona_index``); the resolver replaces them with the chosen item before the run is planned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .._infra.http import invalid_field, is_uuid

if TYPE_CHECKING:
    from .._infra.store import Store

GALLERIES = "galleries"


ITEMS = "gallery_items"


PERSONA_WORKFLOWS = frozenset({"video/face-swap", "video/motion-transfer"})


def items_of(store: Store, gallery_id: str, org_id: Optional[str] = None) -> List[Dict[str, Any]]:
    return store.find(ITEMS, org_id=org_id, where={"gallery_id": gallery_id})


# --------------------------------------------------------------------------- personas
def resolve_persona(store: Any, org_id: str, workflow_name: str, data: Dict[str, Any]) -> Dict[str, Any]:
    """Engine input resolver: ``persona_gallery_id`` + ``persona_index`` → the gallery item."""
    gallery_id = data.get("persona_gallery_id")
    if workflow_name not in PERSONA_WORKFLOWS or gallery_id is None:
        return data
    gallery = store.get(GALLERIES, gallery_id) if is_uuid(gallery_id) else None
    if gallery is None or gallery["organization_id"] != org_id:
        raise invalid_field("persona_gallery_id", f"{gallery_id!r} is not a gallery of this organization")
    index = data.get("persona_index", 0)
    if index is None:
        index = 0
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise invalid_field("persona_index", "must be a non-negative integer")
    items = items_of(store, gallery["id"], org_id)
    if index >= len(items):
        raise invalid_field(
            "persona_index",
            f"{index} is out of range: gallery {gallery['name']!r} has {len(items)} item(s)",
        )
    item = items[index]
    url = item.get("url") or (f"asset://{item['asset_id']}" if item.get("asset_id") else None)
    return {
        **data,
        "persona_index": index,
        "persona_item_id": item["id"],
        "persona_asset_id": item.get("asset_id"),
        "persona_url": url,
    }
