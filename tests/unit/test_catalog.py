"""The emulator's built-in workflow catalogue (wire contract §3): pure, typed, deterministic."""

from __future__ import annotations

import hashlib
import socket
import struct
import zlib
from typing import Any, Dict, List, Tuple

import jsonschema
import pydantic
import pytest

from fabric_platform.testing._catalogue.artifacts import ArtifactSpec, make_mp4
from fabric_platform.testing._catalogue.builtins import (
    BUILTINS,
    DIRECTIONS,
    WorkflowInputError,
    big_artifact,
    get_builtin,
    make_png,
    schemas_document,
)

UNTYPED = "some/untyped-workflow"
BUNDLE = "bundle/ad-hoc"
TYPED = [name for name, wf in BUILTINS.items() if wf.input_model is not None and name != BUNDLE]
CONTRACT = {
    "research/trends": "text",
    "content/threads-post": "text",
    "image/generate": "image",
    "image/generate-post": "carousel",
    "video/ai_shorts": "video",
    "video/face-swap": "image",
    "video/motion-transfer": "video",
    BUNDLE: None,
    UNTYPED: None,
}


def fingerprint(name: str, data: Dict[str, Any], variant_index: int = 0) -> Tuple[Any, ...]:
    result = BUILTINS[name].run(data, variant_index=variant_index)
    arts = [
        (a.filename, a.content_type, a.size_bytes, a.artifact_type, a.task_id, a.sha256)
        for a in result.artifacts
    ]
    return result.output, arts, result.cost_usd, result.units


def parse_png(blob: bytes) -> Tuple[int, int, bytes]:
    """Check a PNG chunk by chunk (CRCs included); return width, height, raw scanlines."""
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(blob):
        (length,) = struct.unpack(">I", blob[pos : pos + 4])
        kind, data = blob[pos + 4 : pos + 8], blob[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", blob[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF, kind
        chunks.append((kind, data))
        pos += 12 + length
    assert pos == len(blob)
    kinds = [k for k, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, compression, filtering, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(d for k, d in chunks if k == b"IDAT"))
    assert len(raw) == height * (1 + 3 * width)
    assert all(raw[y * (1 + 3 * width)] <= 4 for y in range(height))  # valid filter bytes
    return width, height, raw


def mp4_boxes(blob: bytes) -> List[bytes]:
    pos, kinds = 0, []
    while pos < len(blob):
        (size,) = struct.unpack(">I", blob[pos : pos + 4])
        assert size >= 8
        kinds.append(blob[pos + 4 : pos + 8])
        pos += size
    assert pos == len(blob)
    return kinds


# --- the catalogue itself -----------------------------------------------------------------


def test_catalogue_has_exactly_the_contract_workflows_and_kinds() -> None:
    assert {name: wf.kind for name, wf in BUILTINS.items()} == CONTRACT
    assert get_builtin("research/trends") is BUILTINS["research/trends"]
    assert get_builtin("no/such-workflow") is None


@pytest.mark.parametrize("name", list(CONTRACT))
def test_registry_metadata_is_complete(name: str) -> None:
    wf = BUILTINS[name]
    assert wf.name == name and wf.description and wf.category and wf.tags
    assert wf.estimated_duration_seconds > 0
    assert wf.validate(wf.example_input) == []


# --- determinism and variants ------------------------------------------------------------


@pytest.mark.parametrize("name", list(CONTRACT))
def test_same_input_and_variant_give_the_same_result(name: str) -> None:
    example = BUILTINS[name].example_input
    first = fingerprint(name, example, 2)
    assert fingerprint(name, dict(example), 2) == first
    # Pass-through extras and lineage are not part of what makes the output.
    noisy = {
        **example,
        "overlay_text": "old",
        "regenerate": {"parent_run_id": "r", "parent_variant_index": 0},
    }
    if name != UNTYPED:
        assert fingerprint(name, noisy, 2) == first


@pytest.mark.parametrize("name", TYPED)
def test_each_variant_index_gives_different_texts(name: str) -> None:
    example = BUILTINS[name].example_input
    outputs = [BUILTINS[name].run(example, variant_index=v).output for v in range(10)]
    rendered = [repr(o) for o in outputs]
    assert len(set(rendered)) == 10, rendered


@pytest.mark.parametrize("name", TYPED)
def test_output_matches_the_declared_output_schema(name: str) -> None:
    wf = BUILTINS[name]
    for v in range(3):
        jsonschema.validate(wf.run(wf.example_input, variant_index=v).output, wf.output_schema())
        wf.output_model.model_validate(wf.run(wf.example_input, variant_index=v).output)


def test_costs_and_units_follow_the_input() -> None:
    trends = BUILTINS["research/trends"]
    shallow = trends.run({"topic": "x", "depth": 1})
    deep = trends.run({"topic": "x", "depth": 5})
    assert deep.cost_usd > shallow.cost_usd and deep.units > shallow.units
    assert len(deep.output["trends"]) == 5
    motion = BUILTINS["video/motion-transfer"]
    base = {"driving_video_url": "https://example.com/d.mp4", "source_image_url": "https://example.com/p.png"}
    assert motion.run({**base, "motion_model": "seedance/2.0"}).cost_usd > motion.run(base).cost_usd
    # Cost does not depend on the variant.
    assert trends.run({"topic": "x"}, variant_index=3).cost_usd == trends.run({"topic": "x"}).cost_usd


def test_untyped_workflow_echoes_its_input() -> None:
    wf = BUILTINS[UNTYPED]
    data = {"anything": [1, {"nested": True}], "n": None}
    result = wf.run(data)
    assert result.output == data and result.output is not data
    assert result.artifacts == [] and wf.validate(42) == [] and wf.validate({"x": object()}) == []


def test_bundle_entry_runs_every_member() -> None:
    bundle = [
        {"workflow": "video/ai_shorts", "input": {"topic": "AI trends"}},
        {"workflow": "image/generate-post", "input": {"topic": "AI trends", "slides": 6}},
        {"workflow": "content/threads-post", "input": {"topic": "AI trends"}},
    ]
    result = BUILTINS[BUNDLE].run({"bundle": bundle})
    outputs = result.output["outputs"]
    assert [(o["workflow_name"], o["kind"]) for o in outputs] == [
        ("video/ai_shorts", "video"),
        ("image/generate-post", "carousel"),
        ("content/threads-post", "text"),
    ]
    assert len(outputs[1]["output"]["slides"]) == 6
    assert len(result.artifacts) == 1 + 6
    with pytest.raises(WorkflowInputError, match=r"bundle\.0\.workflow"):
        BUILTINS[BUNDLE].run({"bundle": [{"workflow": "nope/missing", "input": {}}]})


# --- schemas -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", TYPED)
def test_typed_workflows_publish_schemas_per_task(name: str) -> None:
    doc = schemas_document(name)
    assert doc is not None and doc["workflow_name"] == name
    for schema in (doc["input_schema"], doc["output_schema"]):
        jsonschema.Draft202012Validator.check_schema(schema)
    tasks = doc["task_schemas"]
    assert len(tasks) >= 2
    for task in tasks:
        assert set(task) == {"task", "input_schema", "output_schema"}
        jsonschema.Draft202012Validator.check_schema(task["input_schema"])
        jsonschema.Draft202012Validator.check_schema(task["output_schema"])
    # A shim task exists in the workflow but is not part of the published contract.
    shims = [t for t, _, _ in BUILTINS[name].tasks if t.startswith("_")]
    assert shims and not any(t["task"].startswith("_") for t in tasks)
    assert doc["warnings"] == []
    assert set(BUILTINS[name].input_model.model_fields) <= set(doc["input_schema"]["properties"])


def test_untyped_workflow_has_null_schemas_and_says_why() -> None:
    doc = schemas_document(UNTYPED)
    assert doc is not None
    assert doc["input_schema"] is None and doc["output_schema"] is None
    assert all(t["input_schema"] is None and t["output_schema"] is None for t in doc["task_schemas"])
    assert doc["warnings"]


def test_bundle_has_an_input_schema_for_its_entries() -> None:
    doc = schemas_document(BUNDLE)
    assert doc is not None and doc["input_schema"]["required"] == ["bundle"]
    wf = BUILTINS[BUNDLE]
    assert wf.validate({"bundle": [{"workflow": "research/trends", "input": {"topic": "x"}}]}) == []
    assert [e["path"] for e in wf.validate({"bundle": [{"input": {}}]})] == ["bundle.0.workflow"]
    assert [e["path"] for e in wf.validate({"bundle": []})] == ["bundle"]


def test_unknown_workflow_has_no_schema_document() -> None:
    assert schemas_document("no/such-workflow") is None


def test_returned_schemas_are_copies() -> None:
    wf = BUILTINS["research/trends"]
    wf.input_schema()["properties"].clear()
    schemas_document("research/trends")["task_schemas"].clear()
    wf.example_input["topic"] = 42
    assert "topic" in wf.input_schema()["properties"]
    assert len(wf.task_schemas()) >= 2
    assert wf.example_input["topic"] != 42


# --- validation --------------------------------------------------------------------------


def test_research_trends_topic_of_wrong_type_is_reported_at_its_path() -> None:
    assert BUILTINS["research/trends"].validate({"topic": 42}) == [
        {"path": "topic", "message": "42 is not of type 'string'"}
    ]


def test_missing_required_field_points_at_the_field() -> None:
    assert BUILTINS["research/trends"].validate({}) == [
        {"path": "topic", "message": "'topic' is a required property"}
    ]


def test_non_object_input_is_reported_at_the_root() -> None:
    assert BUILTINS["research/trends"].validate(["topic"]) == [
        {"path": "", "message": "['topic'] is not of type 'object'"}
    ]


def test_nested_errors_name_the_nested_field() -> None:
    errors = BUILTINS["image/generate"].validate(
        {"topic": "x", "num_thumbnails": 9, "regenerate": {"parent_variant_index": -1}}
    )
    assert errors == [
        {"path": "num_thumbnails", "message": "9 is greater than the maximum of 4"},
        {"path": "regenerate.parent_variant_index", "message": "-1 is less than the minimum of 0"},
    ]


@pytest.mark.parametrize("name", TYPED)
def test_output_shaped_extras_regenerate_and_variants_are_accepted(name: str) -> None:
    wf = BUILTINS[name]
    data = {
        **wf.example_input,
        "thumbnail_paths": ["old.png"],
        "video_asset_id": "x",
        "variants": 3,
        "regenerate": {
            "direction": "punchier",
            "keep": ["platform"],
            "parent_run_id": "r",
            "parent_variant_index": 0,
        },
    }
    assert wf.validate(data) == []
    wf.run(data)


def test_run_refuses_invalid_input_with_the_validation_errors() -> None:
    with pytest.raises(WorkflowInputError, match="topic") as info:
        BUILTINS["research/trends"].run({"topic": 42})
    assert info.value.errors == [{"path": "topic", "message": "42 is not of type 'string'"}]
    assert isinstance(info.value, ValueError)


FACE = {"source_url": "https://example.com/still.jpg"}


@pytest.mark.parametrize(
    "extra",
    [{}, {"target_url": None, "persona_gallery_id": None}],
    ids=["absent", "both-null"],
)
def test_face_swap_without_a_target_is_an_error(extra: Dict[str, Any]) -> None:
    wf = BUILTINS["video/face-swap"]
    assert wf.validate({**FACE, **extra}) == [
        {"path": "", "message": "exactly one of target_url and persona_gallery_id is required"}
    ]
    with pytest.raises(WorkflowInputError):
        wf.run({**FACE, **extra})
    with pytest.raises(pydantic.ValidationError):
        wf.input_model.model_validate({**FACE, **extra})


def test_face_swap_with_both_targets_is_an_error() -> None:
    both = {**FACE, "target_url": "https://example.com/f.png", "persona_gallery_id": "g"}
    assert [e["path"] for e in BUILTINS["video/face-swap"].validate(both)] == [""]
    with pytest.raises(pydantic.ValidationError):
        BUILTINS["video/face-swap"].input_model.model_validate(both)


@pytest.mark.parametrize(
    "extra",
    [
        {"target_url": "https://example.com/f.png"},
        {"persona_gallery_id": "gallery-uuid", "persona_index": 2},
        {"target_url": "https://example.com/f.png", "persona_gallery_id": None},
    ],
)
def test_face_swap_with_exactly_one_target_is_accepted(extra: Dict[str, Any]) -> None:
    wf = BUILTINS["video/face-swap"]
    assert wf.validate({**FACE, **extra}) == []
    url = wf.run({**FACE, **extra}).output["face_swap_url"]
    assert url.startswith("https://cdn.fabric.local/")


def test_url_workflows_never_touch_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a built-in workflow tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    swap = BUILTINS["video/face-swap"].run({**FACE, "target_url": "https://example.com/f.png"})
    motion = BUILTINS["video/motion-transfer"].run(
        {"driving_video_url": "https://example.com/d.mp4", "persona_gallery_id": "g"}
    )
    assert swap.output["face_swap_url"] and motion.output["motion_transfer_url"].startswith(
        "https://cdn.fabric.local/"
    )
    assert [a.read()[:8] for a in swap.artifacts] == [b"\x89PNG\r\n\x1a\n"]


# --- regenerate --------------------------------------------------------------------------

IMAGE_INPUT = {"topic": "AI trends", "hook": "Stop scrolling"}


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_regenerate_direction_changes_both_image_generate_texts(direction: str) -> None:
    wf = BUILTINS["image/generate"]
    plain = wf.run(IMAGE_INPUT).output
    shifted = wf.run({**IMAGE_INPUT, "regenerate": {"direction": direction}}).output
    assert shifted["overlay_text"] != plain["overlay_text"]
    assert shifted["visual_prompt"] != plain["visual_prompt"]


def test_each_direction_gives_its_own_texts() -> None:
    wf = BUILTINS["image/generate"]
    overlays = {
        wf.run({**IMAGE_INPUT, "regenerate": {"direction": d}}).output["overlay_text"] for d in DIRECTIONS
    }
    prompts = {
        wf.run({**IMAGE_INPUT, "regenerate": {"direction": d}}).output["visual_prompt"] for d in DIRECTIONS
    }
    assert len(overlays) == len(prompts) == len(DIRECTIONS)


def test_extra_instructions_reach_the_visual_prompt() -> None:
    regen = {"direction": "punchier", "extra_instructions": "shorter, tighter hooks"}
    out = BUILTINS["image/generate"].run({**IMAGE_INPUT, "regenerate": regen}).output
    assert "shorter, tighter hooks" in out["visual_prompt"]


def test_direction_is_ignored_by_workflows_that_do_not_honour_it() -> None:
    wf = BUILTINS["research/trends"]
    assert (
        wf.run({"topic": "x", "regenerate": {"direction": "contrarian"}}).output
        == wf.run({"topic": "x"}).output
    )


# --- artifacts ---------------------------------------------------------------------------


def test_image_generate_renders_one_png_per_thumbnail() -> None:
    result = BUILTINS["image/generate"].run({"topic": "AI trends", "num_thumbnails": 3})
    assert result.output["thumbnail_paths"] == [a.filename for a in result.artifacts]
    assert len(result.artifacts) == 3 and len({a.sha256 for a in result.artifacts}) == 3
    for art in result.artifacts:
        assert art.content_type == "image/png" and art.filename.endswith(".png")
        width, height, _ = parse_png(b"".join(art.iter_bytes()))
        assert (width, height) == (128, 72) and art.size_bytes == len(art.read())


def test_carousel_renders_one_png_per_slide() -> None:
    result = BUILTINS["image/generate-post"].run({"topic": "AI trends", "slides": 6})
    assert [s["index"] for s in result.output["slides"]] == [1, 2, 3, 4, 5, 6]
    assert len(result.artifacts) == 6
    for art in result.artifacts:
        parse_png(art.read())


@pytest.mark.parametrize(
    ("name", "data"),
    [("video/ai_shorts", {"topic": "AI trends"}), ("video/motion-transfer", {"driving_video_url": "u"})],
)
def test_video_workflows_produce_one_mp4_typed_file(name: str, data: Dict[str, Any]) -> None:
    (art,) = BUILTINS[name].run(data).artifacts
    blob = art.read()
    assert art.content_type == "video/mp4" and art.filename.endswith(".mp4")
    assert blob[4:8] == b"ftyp" and struct.unpack(">I", blob[:4])[0] == 32 and blob[8:12] == b"isom"
    assert mp4_boxes(blob) == [b"ftyp", b"free", b"mdat"]


def test_make_mp4_is_deterministic_and_sized() -> None:
    assert make_mp4(seed="a", payload_bytes=100) == make_mp4(seed="a", payload_bytes=100)
    assert make_mp4(seed="a", payload_bytes=100) != make_mp4(seed="b", payload_bytes=100)
    assert len(make_mp4(seed="a", payload_bytes=100)) == 32 + 23 + 108


@pytest.mark.parametrize(("width", "height"), [(1, 1), (128, 72), (7, 300)])
def test_make_png_is_a_valid_png(width: int, height: int) -> None:
    blob = make_png(width, height, seed="s")
    assert parse_png(blob)[:2] == (width, height)
    assert blob == make_png(width, height, seed="s")
    assert blob != make_png(width, height, seed="t") or width * height == 1


def test_make_png_pixels_depend_on_the_seed() -> None:
    assert parse_png(make_png(32, 32, seed="a"))[2] != parse_png(make_png(32, 32, seed="b"))[2]


@pytest.mark.parametrize("bad", [(0, 10), (10, 0), (5000, 10)])
def test_make_png_rejects_bad_sizes(bad: Tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        make_png(*bad, seed="s")


# --- big artifacts -----------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 3 * 65536 + 17, 20_000_000])
def test_big_artifact_streams_exactly_n_bytes_in_bounded_chunks(size: int) -> None:
    spec = big_artifact(size)
    total, digest, largest = 0, hashlib.sha256(), 0
    for chunk in spec.iter_bytes(chunk_size=65536):
        assert chunk
        total += len(chunk)
        largest = max(largest, len(chunk))
        digest.update(chunk)
    assert total == size == spec.size_bytes
    assert largest <= 65536
    assert spec.sha256 == digest.hexdigest() == big_artifact(size).sha256


def test_big_artifact_bytes_do_not_depend_on_chunk_size() -> None:
    spec = big_artifact(300_001)
    whole = b"".join(spec.iter_bytes())
    for chunk_size in (1000, 4096, 65536, 100_000, 1_000_000):
        chunks = list(spec.iter_bytes(chunk_size))
        assert all(len(c) <= chunk_size for c in chunks)
        assert b"".join(chunks) == whole


def test_big_artifact_ranges_match_the_whole_stream() -> None:
    spec = big_artifact(200_000)
    whole = spec.read()
    for start, end in [(0, 10), (65530, 65545), (131072, 200_000), (199_999, 200_000), (5, 5)]:
        assert b"".join(spec.iter_bytes(4096, start=start, end=end)) == whole[start:end]
    with pytest.raises(ValueError):
        list(spec.iter_bytes(start=10, end=200_001))


def test_big_artifact_content_is_pinned_and_not_trivially_repetitive() -> None:
    # Pinned so the bytes (and every sha256 a test stored) stay the same across versions.
    spec = big_artifact(100_000, filename="pinned.bin")
    assert spec.sha256 == PINNED_SHA256
    blocks = [spec.read()[i : i + 65536] for i in range(0, 100_000, 65536)]
    assert blocks[0][: len(blocks[1])] != blocks[1]
    assert big_artifact(100_000, filename="other.bin").sha256 != spec.sha256
    assert spec.content_type == "application/octet-stream" and spec.filename == "pinned.bin"


PINNED_SHA256 = "dd9aad6b58a18a8d377934eda5a94c12dea78292ed9085e1878e0dfb153eb4c1"


def test_artifact_spec_rejects_inconsistent_fields() -> None:
    with pytest.raises(ValueError):
        ArtifactSpec(
            filename="a", content_type="t", size_bytes=3, artifact_type="x", task_id="t", content=b"ab"
        )
    with pytest.raises(ValueError):
        ArtifactSpec(filename="a", content_type="t", size_bytes=0, artifact_type="x", task_id="t")
    with pytest.raises(ValueError):
        big_artifact(-1)
