"""Every spec operation is callable on both clients, under its flat and its ns name, and sends
exactly the request the spec describes.

The expected request is computed here from the raw spec (not from the operation table the
clients use), so a codegen or request-building bug cannot agree with itself.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import pytest
import yaml

from fabric_platform import AsyncFabricClient, FabricClient

ROOT = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((ROOT / "spec" / "openapi.yaml").read_text())
ORG = "00000000-0000-0000-0000-0000000000aa"
BASE = "https://fabric.test"


def _deref(node: Dict[str, Any]) -> Dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _snake(name: str) -> str:
    import re

    name = re.sub(r"[^0-9a-zA-Z]+", "_", name)
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).strip("_").lower()


def _sample(name: str, schema: Dict[str, Any], slash: bool) -> Any:
    schema = _deref(schema)
    types = schema.get("type", "string")
    t = next((x for x in (types if isinstance(types, list) else [types]) if x != "null"), "string")
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    if t == "integer":
        return 7
    if t == "number":
        return 1.5
    if t == "boolean":
        return True
    if t == "array":
        return ["a b", "c"]
    if t == "object":
        return {"k": name}
    return "research/trends" if slash else f"v-{name}"


class Case:
    """One operation: the python arguments to pass and the request they must produce."""

    def __init__(self, path: str, method: str, op: Dict[str, Any]) -> None:
        self.op = op
        self.sdk = op["x-fabric-sdk"]
        self.method = method.upper()
        self.kwargs: Dict[str, Any] = {}
        self.query: List[Tuple[str, str]] = []
        self.headers: Dict[str, str] = {}
        self.body: Any = None
        url_path = path
        for p in [_deref(p) for p in op.get("parameters", [])]:
            if p["name"] == "Idempotency-Key":
                continue
            pyname = p.get("x-fabric-name") or _snake(p["name"])
            if p.get("x-fabric-default") and p["in"] == "path":
                value: Any = ORG  # omitted → the client's organization
            else:
                value = _sample(pyname, p.get("schema", {}), p.get("x-fabric-allow-slash", False))
                self.kwargs[pyname] = value
            if p["in"] == "path":
                safe = "/" if p.get("x-fabric-allow-slash") else ""
                url_path = url_path.replace("{" + p["name"] + "}", quote(str(value), safe=safe))
            elif p["in"] == "query":
                if isinstance(value, bool):
                    self.query.append((p["name"], "true" if value else "false"))
                elif isinstance(value, list):
                    if p.get("explode", p.get("style", "form") == "form"):
                        self.query.extend((p["name"], v) for v in value)
                    else:
                        self.query.append((p["name"], ",".join(value)))
                else:
                    self.query.append((p["name"], str(value)))
            else:
                self.headers[p["name"].lower()] = str(value)
        self.path = url_path
        rb = op.get("requestBody")
        if rb:
            content = _deref(rb)["content"]
            if "application/octet-stream" in content:
                self.kwargs[self.sdk.get("body", "file")] = b"\x00raw-bytes\xff"
                self.body = b"\x00raw-bytes\xff"
            elif self.sdk.get("body"):
                self.kwargs[self.sdk["body"]] = {"approved": True}
                self.body = {"approved": True}
            else:
                schema = _deref(content["application/json"]["schema"])
                self.body = {}
                for name, prop in schema.get("properties", {}).items():
                    pyname = prop.get("x-fabric-name") or _snake(name)
                    if prop.get("x-fabric-default"):
                        self.body[name] = ORG
                        continue
                    value = _sample(pyname, prop, False)
                    self.kwargs[pyname] = value
                    self.body[name] = value
                if self.sdk.get("extra_body"):
                    self.kwargs[self.sdk["extra_body"]] = {"extra_field": 1}
                    self.body["extra_field"] = 1
        for p in [_deref(p) for p in op.get("parameters", [])]:
            if p.get("x-fabric-default") and p["in"] != "path":
                self.kwargs.pop(p.get("x-fabric-name") or _snake(p["name"]), None)
                if p["in"] == "query":
                    self.query = [(k, v) for k, v in self.query if k != p["name"]] + [(p["name"], ORG)]
        self.hand_written_submit = op["operationId"] == "submitRun"
        if self.hand_written_submit:
            # submit_run(validate=True) sends validate=true; its input is lifted, not renamed
            self.kwargs["validate"] = True

    def response(self) -> httpx.Response:
        ok = sorted(c for c in self.op["responses"] if str(c).startswith("2"))[0]
        content = _deref(self.op["responses"][ok]).get("content", {})
        if "text/event-stream" in content:
            body = 'id: 1\ndata: {"id":"1","kind":"workflow.run.completed"}\n\nid: 2\ndata: {"id":"2","kind":"job.completed"}\n\n'
            return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
        if "application/octet-stream" in content:
            return httpx.Response(200, content=b"BYTES", headers={"content-type": "application/octet-stream"})
        data: Any = {"id": "d1", "allowed": True, "name": "n", "run_id": "r", "status": "completed",
                     "variants": 1, "outputs": [{"variant_index": 0, "output": {}, "artifacts": []}]}  # fmt: skip
        if self.sdk.get("flat_returns", "").startswith("[]."):
            data = [{"name": "n"}]
        meta = {"request_id": "req_1", "status": int(ok)}
        return httpx.Response(int(ok), json={"data": data, "meta": meta, "error": None})


CASES = [
    pytest.param(Case(path, method, op), id=op["operationId"])
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if method in ("get", "post", "put", "patch", "delete")
]


def _names(case: Case) -> List[Tuple[str, Callable[[Any], Any]]]:
    def resolve(dotted: str) -> Callable[[Any], Any]:
        def get(client: Any) -> Any:
            target = client
            for part in dotted.split("."):
                target = getattr(target, part)
            return target

        return get

    names = [(f"ns:{case.sdk['ns']}", resolve(case.sdk["ns"]))]
    if case.sdk.get("flat"):
        names.append((f"flat:{case.sdk['flat']}", resolve(case.sdk["flat"])))
    return names


def _check(case: Case, seen: List[httpx.Request]) -> None:
    assert len(seen) == 1, f"expected one request, got {len(seen)}"
    req = seen[0]
    url = urlsplit(str(req.url))
    assert req.method == case.method
    assert url.path == case.path  # raw path: escaped exactly as the spec says
    assert sorted(parse_qsl(url.query, keep_blank_values=True)) == sorted(case.query)
    for name, value in case.headers.items():
        assert req.headers.get(name) == value
    if case.method in ("POST", "PATCH", "PUT"):
        assert req.headers.get("idempotency-key"), "writes always carry an Idempotency-Key"
    if isinstance(case.body, bytes):
        assert req.content == case.body
    elif case.body is not None:
        assert json.loads(req.content) == case.body
    else:
        assert req.content in (b"", b"{}")


@pytest.mark.parametrize("case", CASES)
def test_sync_client_sends_the_spec_request_under_both_names(case: Case) -> None:
    for label, get in _names(case):
        seen: List[httpx.Request] = []

        def handler(request: httpx.Request, seen: List[httpx.Request] = seen) -> httpx.Response:
            seen.append(request)
            return case.response()

        http = httpx.Client(transport=httpx.MockTransport(handler))
        with FabricClient(
            base_url=BASE, api_key="fab_test_k", organization_id=ORG, http_client=http
        ) as fabric:
            result = get(fabric)(**case.kwargs)
            if hasattr(result, "__next__"):  # an event stream: one event is enough
                assert next(result)["kind"]
                result.close()
        http.close()
        try:
            _check(case, seen)
        except AssertionError as exc:
            raise AssertionError(f"{label}: {exc}") from None


@pytest.mark.parametrize("case", CASES)
def test_async_client_sends_the_spec_request_under_both_names(case: Case) -> None:
    async def main() -> None:
        for label, get in _names(case):
            seen: List[httpx.Request] = []

            def handler(request: httpx.Request, seen: List[httpx.Request] = seen) -> httpx.Response:
                seen.append(request)
                return case.response()

            http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
            async with AsyncFabricClient(
                base_url=BASE, api_key="fab_test_k", organization_id=ORG, http_client=http
            ) as fabric:
                result = get(fabric)(**case.kwargs)
                if hasattr(result, "__anext__"):
                    assert (await result.__anext__())["kind"]
                    await result.aclose()
                else:
                    await result
            await http.aclose()
            try:
                _check(case, seen)
            except AssertionError as exc:
                raise AssertionError(f"{label}: {exc}") from None

    asyncio.run(main())


def test_every_spec_operation_is_covered() -> None:
    from fabric_platform_api.operations import OPERATIONS

    ids = {
        op["operationId"] for item in SPEC["paths"].values() for op in item.values() if isinstance(op, dict)
    }
    assert ids == set(OPERATIONS)
    assert len(CASES) == len(OPERATIONS) >= 170
