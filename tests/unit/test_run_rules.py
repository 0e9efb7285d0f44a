"""The submit rules are checked before any request; regenerate replays only input fields."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List

import httpx
import pytest

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform._core.run_rules import (
    OUTPUT_SHAPED_FIELDS,
    prepare_submission,
    regenerate_input,
)
from fabric_platform.errors import FabricValidationError

BASE = "https://api.fabric.test"
ENTRY = {"workflow": "video/ai_shorts", "input": {"topic": "AI"}}


def _no_requests(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request may be sent, got {request.method} {request.url}")


def _client(handler: Any = _no_requests) -> FabricClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return FabricClient(base_url=BASE, api_key="fab_test_k", organization_id="org-1", http_client=http)


# Every call below is wrong; each must fail locally, never reaching the (failing) transport.
BAD_CALLS = [
    pytest.param({"variants": 2, "bundle": [ENTRY]}, ValueError, "mutually exclusive", id="bundle+variants"),
    pytest.param({"variants": 2, "bundle": []}, ValueError, "mutually exclusive", id="bundle[]+variants"),
    pytest.param({"variants": 0}, ValueError, "1 to 10", id="variants=0"),
    pytest.param({"variants": 11}, ValueError, "1 to 10", id="variants=11"),
    pytest.param({"variants": -3}, ValueError, "1 to 10", id="variants<0"),
    pytest.param({"variants": True}, TypeError, "int", id="variants=True"),
    pytest.param({"variants": 2.0}, TypeError, "int", id="variants=2.0"),
    pytest.param({"variants": "3"}, TypeError, "int", id="variants='3'"),
    pytest.param({"bundle": []}, ValueError, "non-empty", id="bundle=[]"),
    pytest.param({"bundle": {"workflow": "x"}}, ValueError, "list", id="bundle=dict"),
    pytest.param({"bundle": ["video/ai_shorts"]}, ValueError, r"bundle\[0\] must be a dict", id="entry=str"),
    pytest.param({"bundle": [{"input": {}}]}, ValueError, r"\['workflow'\]", id="entry-no-workflow"),
    pytest.param({"bundle": [{"workflow": ""}]}, ValueError, r"\['workflow'\]", id="entry-empty-workflow"),
    pytest.param({"bundle": [{"workflow": 7}]}, ValueError, r"\['workflow'\]", id="entry-workflow-int"),
    pytest.param(
        {"bundle": [{"workflow": "a/b", "input": [1]}]},
        ValueError,
        r"\['input'\] must be a dict",
        id="entry-input-list",
    ),
    pytest.param({"bundle": [{**ENTRY, "variants": 2}]}, ValueError, "unknown keys", id="entry-extra-key"),
    pytest.param({"bundle": [ENTRY, "x"]}, ValueError, r"bundle\[1\]", id="second-entry-bad"),
    pytest.param({"regenerate": "punchier"}, ValueError, "must be a dict", id="regenerate=str"),
    pytest.param({"regenerate": {"dirction": "punchier"}}, ValueError, "unknown keys", id="regenerate-typo"),
    pytest.param({"regenerate": {"keep": "platform"}}, ValueError, "keep", id="keep=str"),
    pytest.param({"regenerate": {"keep": ["a", 1]}}, ValueError, "keep", id="keep-non-str"),
    pytest.param(
        {"regenerate": {"parent_variant_index": -1}}, ValueError, "parent_variant_index", id="index<0"
    ),
    pytest.param(
        {"regenerate": {"parent_variant_index": True}}, ValueError, "parent_variant_index", id="index=True"
    ),
    pytest.param({"regenerate": {"direction": 3}}, ValueError, "direction", id="direction=int"),
    pytest.param({"regenerate": {"parent_run_id": 123}}, ValueError, "parent_run_id", id="parent-int"),
    pytest.param({"input": ["not", "a", "dict"]}, ValueError, "input must be a dict", id="input=list"),
]


def _name_for(kwargs: Dict[str, Any]) -> str:
    # A bundle is submitted under its own name (or None); anything else names a workflow.
    return "bundle/ad-hoc" if "bundle" in kwargs else "video/ai_shorts"


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_CALLS)
def test_sync_submit_rules_fail_before_any_request(kwargs: Dict[str, Any], error: type, match: str) -> None:
    name = _name_for(kwargs)
    kwargs = {"input": {"topic": "AI"}, **kwargs}
    with _client() as fabric:
        with pytest.raises(error, match=match):
            fabric.submit_run(name, **kwargs)
        with pytest.raises(error, match=match):
            fabric.workflows.runs.submit(name, **kwargs)
        with pytest.raises(error, match=match):
            fabric.workflows.runs.submit_and_get_output(name, **kwargs)


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_CALLS)
def test_async_submit_rules_fail_before_any_request(kwargs: Dict[str, Any], error: type, match: str) -> None:
    name = _name_for(kwargs)
    kwargs = {"input": {"topic": "AI"}, **kwargs}

    async def main() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(_no_requests))
        async with AsyncFabricClient(base_url=BASE, api_key="fab_test_k", http_client=http) as fabric:
            with pytest.raises(error, match=match):
                await fabric.submit_run(name, **kwargs)
            with pytest.raises(error, match=match):
                await fabric.workflows.runs.submit_and_wait(name, **kwargs)
        await http.aclose()

    asyncio.run(main())


def test_a_bundle_under_another_workflow_name_is_refused_locally() -> None:
    with _client() as fabric, pytest.raises(ValueError, match="bundle/ad-hoc"):
        fabric.submit_run("video/ai_shorts", bundle=[ENTRY])


def test_submit_bundle_with_variants_is_refused_locally() -> None:
    with _client() as fabric, pytest.raises(ValueError, match="mutually exclusive"):
        fabric.workflows.runs.submit_bundle(bundle=[ENTRY], variants=3)


def test_what_the_sdk_only_arguments_become_on_the_wire() -> None:
    sent: List[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(
            200, json={"data": {"id": "r1", "status": "pending"}, "meta": {}, "error": None}
        )

    regen = {"direction": "punchier", "keep": ["tone"], "parent_run_id": "p1", "parent_variant_index": 0}
    with _client(handler) as fabric:
        fabric.submit_run("video/ai_shorts", {"topic": "AI"}, variants=3, regenerate=regen, validate=True)
        fabric.submit_run(None, bundle=[ENTRY, {"workflow": "content/threads-post"}])  # type: ignore[arg-type]
    first, second = (json.loads(r.content) for r in sent)
    assert first["input"] == {"topic": "AI", "variants": 3, "regenerate": regen}
    assert dict(sent[0].url.params) == {
        "name": "video/ai_shorts",
        "organization_id": "org-1",
        "validate": "true",
    }
    assert second["input"] == {"bundle": [ENTRY, {"workflow": "content/threads-post", "input": {}}]}
    assert sent[1].url.params["name"] == "bundle/ad-hoc" and "validate" not in sent[1].url.params


def test_the_servers_400_is_still_a_validation_error() -> None:
    body = {
        "data": None,
        "meta": {"status": 400},
        "error": {
            "code": "validation_error",
            "message": "bad",
            "details": {"errors": [{"path": "topic", "message": "42 is not of type 'string'"}]},
        },
    }
    refusing = _client(lambda r: httpx.Response(400, json=body))
    with refusing as fabric, pytest.raises(FabricValidationError) as info:
        fabric.submit_run("research/trends", input={"topic": 42}, validate=True)
    assert info.value.response is not None
    assert info.value.response.json()["error"]["details"]["errors"][0]["path"] == "topic"


def test_prepare_submission_is_pure() -> None:
    original = {"topic": "AI"}
    name, wire = prepare_submission("research/trends", original, variants=2)
    assert (name, wire) == ("research/trends", {"topic": "AI", "variants": 2})
    assert original == {"topic": "AI"}, "the caller's input is not modified"
    with pytest.raises(ValueError, match="workflow name"):
        prepare_submission("", {})


# --------------------------------------------------------------------------- regenerate


PARENT_INPUT = {
    "topic": "AI",
    "hook": "Stop scrolling",
    "platform": "youtube",
    "thumbnail_paths": ["a.png"],
    "thumbnail_asset_ids": ["x"],
    "selected_thumbnail": 0,
    "overlay_text": "WOW",
    "thumbnail_size": "1280x720",
    "platform_exports": {},
    "evaluation": {"score": 1},
    "video_asset_id": "v",
    "custom_note": "kept when untyped",
    "variants": 3,
    "bundle": [],
    "regenerate": {"direction": "deeper"},
}


def test_regenerate_input_for_a_typed_workflow_keeps_declared_fields_only() -> None:
    schema = {"type": "object", "properties": {"topic": {}, "hook": {}, "platform": {}, "variants": {}}}
    assert regenerate_input(PARENT_INPUT, schema) == {
        "topic": "AI",
        "hook": "Stop scrolling",
        "platform": "youtube",
    }


def test_regenerate_input_for_an_untyped_workflow_drops_the_seeds_output_fields() -> None:
    replay = regenerate_input(PARENT_INPUT, None)
    assert replay == {
        "topic": "AI",
        "hook": "Stop scrolling",
        "platform": "youtube",
        "custom_note": "kept when untyped",
    }
    assert not set(OUTPUT_SHAPED_FIELDS) & set(replay)
    assert regenerate_input(PARENT_INPUT, {"type": "object"}) == replay  # a schema without properties


def _regenerate_server(schema: Any, sent: List[httpx.Request]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        path = request.url.path
        if path == "/v1/workflows/runs/parent-1":
            data: Any = {"id": "parent-1", "workflow_name": "image/generate", "input": PARENT_INPUT}
        elif path == "/v1/workflow-schemas/image/generate":
            data = {"workflow_name": "image/generate", "input_schema": schema}
        else:
            data = {"id": "child-1", "status": "pending"}
        return httpx.Response(200, json={"data": data, "meta": {}, "error": None})

    return handler


@pytest.mark.parametrize("typed", [True, False])
def test_namespaced_regenerate_resubmits_with_lineage(typed: bool) -> None:
    sent: List[httpx.Request] = []
    schema = {"properties": {"topic": {}, "hook": {}, "platform": {}}} if typed else None
    with _client(_regenerate_server(schema, sent)) as fabric:
        run = fabric.workflows.runs.regenerate("parent-1", 2, direction="punchier", keep=["hook"])
    assert run["id"] == "child-1"
    submit = sent[-1]
    assert submit.url.path == "/v1/workflows/run" and submit.url.params["name"] == "image/generate"
    body = json.loads(submit.content)["input"]
    assert body.pop("regenerate") == {
        "parent_run_id": "parent-1",
        "parent_variant_index": 2,
        "direction": "punchier",
        "keep": ["hook"],
    }
    expected = {"topic": "AI", "hook": "Stop scrolling", "platform": "youtube"}
    assert body == (expected if typed else {**expected, "custom_note": "kept when untyped"})


def test_async_regenerate() -> None:
    sent: List[httpx.Request] = []

    async def main() -> Any:
        http = httpx.AsyncClient(transport=httpx.MockTransport(_regenerate_server(None, sent)))
        async with AsyncFabricClient(base_url=BASE, api_key="fab_test_k", http_client=http) as fabric:
            return await fabric.workflows.runs.regenerate("parent-1", extra_instructions="shorter")

    assert asyncio.run(main())["id"] == "child-1"
    assert json.loads(sent[-1].content)["input"]["regenerate"] == {
        "parent_run_id": "parent-1",
        "parent_variant_index": 0,
        "extra_instructions": "shorter",
    }
