"""Galleries, assets (raw upload, download, signed URLs, org assets) and persona galleries."""

from __future__ import annotations

import hashlib
import os
from typing import Any, Iterator

import httpx
import pytest
from conftest import client_for, unique

from fabric_platform import FabricNotFoundError, FabricValidationError
from fabric_platform.testing import LocalFabric


@pytest.fixture()
def org_client(fabric: LocalFabric) -> Iterator[Any]:
    with fabric.client() as owner:
        org = owner.create_organization(unique("gal"), "Gallery tests")
    with fabric.client(organization_id=org["id"], strict=True) as client:
        yield client


def test_galleries_and_items_with_tag_filtering(org_client: Any) -> None:
    gallery = org_client.create_gallery("portrait", "Team faces", metadata={"source": "test"})
    assert gallery["item_count"] == 0 and gallery["kind"] == "portrait" and gallery["team_id"] is None
    asset = org_client.upload_asset(b"\x89PNG fake face", filename="ada.png", content_type="image/png")
    front_smile = org_client.add_gallery_item(gallery["id"], asset_id=asset["id"], tags=["front", "smile"])
    front = org_client.add_gallery_item(gallery["id"], url="https://cdn.example.com/b.png", tags=["front"])
    org_client.add_gallery_item(gallery["id"], url="https://cdn.example.com/c.png", tags=["side", "smile"])
    assert front_smile["asset_id"] == asset["id"] and front_smile["url"] is None

    def ids(tags: Any = None) -> list:
        return [i["id"] for i in org_client.list_gallery_items(gallery["id"], tags=tags)["items"]]

    assert len(ids()) == 3
    assert ids(["front"]) == [front_smile["id"], front["id"]]
    assert ids(["front", "smile"]) == [front_smile["id"]]  # items having all the tags
    assert ids(["missing"]) == []
    assert org_client.get_gallery(gallery["id"])["item_count"] == 3

    org_client.create_gallery("product", "Shoes")
    portraits = org_client.list_galleries(kind="portrait")["items"]
    assert [g["id"] for g in portraits] == [gallery["id"]]
    assert len(org_client.list_galleries()["items"]) == 2

    removed = org_client.remove_gallery_item(front["id"])
    assert removed["id"] == front["id"] and org_client.get_gallery(gallery["id"])["item_count"] == 2
    deleted = org_client.delete_gallery(gallery["id"])
    assert deleted["id"] == gallery["id"]
    with pytest.raises(FabricNotFoundError):
        org_client.get_gallery(gallery["id"])
    with pytest.raises(FabricValidationError):
        org_client.add_gallery_item(
            org_client.create_gallery("style", "Empty")["id"]
        )  # neither asset nor url


def test_assets_upload_list_download(org_client: Any) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)  # large enough to stream in several chunks
    asset = org_client.upload_asset(payload, filename="../../clip.bin", content_type="video/mp4")
    assert asset["size_bytes"] == len(payload)
    assert asset["sha256"] == hashlib.sha256(payload).hexdigest()
    assert asset["filename"] == "clip.bin" and asset["content_type"] == "video/mp4"
    listed = org_client.list_assets()
    assert listed[0]["id"] == asset["id"]
    assert org_client.download_asset(asset["id"]) == payload


def test_signed_urls_need_no_credentials_and_expire(fresh_fabric: LocalFabric) -> None:
    with fresh_fabric.client(strict=True) as client:
        asset = client.upload_asset(b"shared bytes", filename="share.txt", content_type="text/plain")
        signed = client.asset_signed_url(asset["id"], ttl_seconds=60)
    assert signed["url"].startswith(fresh_fabric.base_url)
    with client_for(fresh_fabric) as anonymous:
        ok = anonymous.get(signed["url"])
        assert ok.status_code == 200 and ok.content == b"shared bytes"
        tampered = signed["url"].replace("signature=", "signature=0")
        assert anonymous.get(tampered).status_code == 403
        # Without a signature the same path needs credentials.
        assert anonymous.get(f"/v1/assets/{asset['id']}").status_code == 401
        fresh_fabric.advance_time(61)
        expired = anonymous.get(signed["url"])
        assert expired.status_code == 403 and "expired" in expired.json()["error"]["message"]


def test_org_assets(org_client: Any) -> None:
    org_id = org_client.organization_id
    asset = org_client.organizations.create_asset(org_id, b"org bytes", filename="org.txt")
    assert asset["organization_id"] == org_id and asset["content_type"] == "application/octet-stream"
    assert (
        org_client.organizations.get_asset(org_id, asset["id"])["sha256"]
        == hashlib.sha256(b"org bytes").hexdigest()
    )
    assert [a["id"] for a in org_client.organizations.list_assets(org_id)] == [asset["id"]]
    org_client.organizations.delete_asset(org_id, asset["id"])
    with pytest.raises(FabricNotFoundError):
        org_client.organizations.get_asset(org_id, asset["id"])
    with pytest.raises(FabricNotFoundError):
        org_client.download_asset(asset["id"])


def test_assets_of_other_organizations_are_invisible(org_client: Any, make_user: Any) -> None:
    asset = org_client.upload_asset(b"private")
    stranger = make_user()
    assert stranger.client.get(f"/v1/assets/{asset['id']}").status_code == 404
    signed = stranger.client.post(f"/v1/assets/{asset['id']}/signed-url", json={})
    assert signed.status_code == 404


def test_persona_galleries_resolve_for_face_swap_and_motion_transfer(
    fabric: LocalFabric, org_client: Any
) -> None:
    personas = org_client.create_gallery("portrait", "Personas")
    first = org_client.add_gallery_item(personas["id"], url="https://cdn.example.com/p0.png")
    face = org_client.upload_asset(b"face bytes", filename="p1.png", content_type="image/png")
    second = org_client.add_gallery_item(personas["id"], asset_id=face["id"])

    run = org_client.face_swap(
        "https://cdn.example.com/src.png", persona_gallery_id=personas["id"], persona_index=1
    )
    assert run["status"] == "completed" and run["output"]["face_swap_url"]
    resolved = fabric.emulator.engine.get(run["id"])["_entries"][0]["input"]
    assert resolved["persona_item_id"] == second["id"] and resolved["persona_asset_id"] == face["id"]

    moved = org_client.motion_transfer("https://cdn.example.com/dance.mp4", persona_gallery_id=personas["id"])
    assert moved["status"] == "completed" and moved["output"]["motion_transfer_url"]
    resolved = fabric.emulator.engine.get(moved["id"])["_entries"][0]["input"]
    assert resolved["persona_item_id"] == first["id"] and resolved["persona_url"] == first["url"]

    with pytest.raises(FabricValidationError) as out_of_range:
        org_client.face_swap(
            "https://cdn.example.com/src.png", persona_gallery_id=personas["id"], persona_index=2
        )
    assert "persona_index" in out_of_range.value.message and "2 item" in out_of_range.value.message
    with pytest.raises(FabricValidationError) as unknown:
        org_client.face_swap("https://cdn.example.com/src.png", persona_gallery_id=unique("nope"), wait=False)
    assert "persona_gallery_id" in unknown.value.message


def test_asset_download_content_type_is_recorded(org_client: Any, fabric: LocalFabric) -> None:
    asset = org_client.upload_asset(b"<svg/>", filename="x.svg", content_type="image/svg+xml")
    response = httpx.get(
        f"{fabric.base_url}/v1/assets/{asset['id']}", headers={"Authorization": f"Bearer {fabric.api_key}"}
    )
    assert response.status_code == 200 and response.content == b"<svg/>"
    assert response.headers["x-asset-content-type"] == "image/svg+xml"
    assert 'filename="x.svg"' in response.headers["content-disposition"]
