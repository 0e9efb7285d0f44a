"""The client façade: configuration sources, options copies, raw responses, lifecycle."""

from __future__ import annotations

import asyncio
import json
from typing import List

import httpx
import pytest

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform.errors import FabricResponseError, FabricValidationError


def _envelope(data: object, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status, json={"data": data, "meta": {"request_id": "req_x", "status": status}, "error": None}
    )


def test_explicit_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FABRIC_API_KEY", "fab_test_from_env")
    monkeypatch.setenv("FABRIC_BASE_URL", "https://env.example")
    monkeypatch.setenv("FABRIC_ORGANIZATION_ID", "org-env")
    with FabricClient() as from_env:
        assert from_env.base_url == "https://env.example" and from_env.organization_id == "org-env"
    with FabricClient(base_url="https://arg.example", organization_id="org-arg") as explicit:
        assert explicit.base_url == "https://arg.example" and explicit.organization_id == "org-arg"


def test_defaults_are_the_seeds() -> None:
    with FabricClient() as fabric:
        assert fabric.base_url == "https://gofabric.dev"
        assert fabric.organization_id == "00000000-0000-0000-0000-000000000010"
        assert fabric.social_login_url("google") == "https://gofabric.dev/v1/auth/social/google"


def test_repr_never_shows_the_key() -> None:
    with FabricClient(api_key="fab_live_supersecretvalue") as fabric:
        assert "supersecretvalue" not in repr(fabric)


def test_with_options_shares_the_pool_and_changes_only_what_it_names() -> None:
    seen: List[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _envelope([] if request.url.path.endswith("/secrets") else {"status": "ok"})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    fabric = FabricClient(base_url="https://x.test", api_key="fab_test_k", http_client=http)
    other = fabric.with_options(timeout=5.0, max_retries=0, organization_id="org-2")
    assert other._transport.http_client is fabric._transport.http_client
    assert other._config.timeout == 5.0 and other._config.max_retries == 0
    assert other.organization_id == "org-2" and fabric.organization_id != "org-2"
    other.list_secrets()
    assert seen[-1].url.path == "/v1/organizations/org-2/secrets"
    other.close()
    assert fabric.health_check() == {"status": "ok"}, "closing a copy must not close the shared pool"
    fabric.close()
    http.close()


def test_raw_response_exposes_status_headers_request_id_and_retries() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(503, json={"data": None, "meta": {"request_id": "r0", "status": 503},
                                             "error": {"code": "unavailable", "message": "busy"}},
                                  headers={"retry-after": "0"})  # fmt: skip
        return _envelope({"id": "job_1"})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with FabricClient(base_url="https://x.test", http_client=http) as fabric:
        raw = fabric.with_raw_response.jobs.get("job_1")
        assert raw.status_code == 200 and raw.data == {"id": "job_1"}
        assert raw.retries_taken == 1 and raw.request_id == "req_x"
    http.close()


def test_flat_returns_pluck_the_documented_part() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/secrets"):
            return _envelope([{"name": "A", "created_at": "t", "updated_at": "t"}, {"name": "B"}])
        if request.url.path == "/v1/authz/check":
            return _envelope({"allowed": False, "reason": "no"})
        return _envelope({"id": "wf_1", "name": "p"})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with FabricClient(base_url="https://x.test", http_client=http) as fabric:
        assert fabric.list_secrets() == ["A", "B"]
        assert fabric.organizations.list_secrets()[0]["name"] == "A"  # ns keeps the wire shape
        assert fabric.check_permission("workflow.edit") is False
        assert fabric.upsert_workflow(name="p", nodes=[]) == "wf_1"
    http.close()


def test_a_flat_return_missing_from_the_data_is_a_typed_error() -> None:
    http = httpx.Client(transport=httpx.MockTransport(lambda request: _envelope({"unexpected": 1})))
    with FabricClient(base_url="https://x.test", http_client=http) as fabric:
        assert fabric.permissions.check("x") == {"unexpected": 1}  # ns: data as is
        with pytest.raises(FabricResponseError, match="no 'allowed'"):
            fabric.check_permission("x")  # flat: plucks
    http.close()


def test_bundle_and_variants_together_raise_before_any_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:  # pragma: no cover - must not run
        raise AssertionError("no request may be sent")

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with FabricClient(base_url="https://x.test", http_client=http) as fabric:
        with pytest.raises(ValueError, match="mutually exclusive"):
            fabric.submit_run("x/y", input={}, variants=2, bundle=[{"workflow": "a/b", "input": {}}])
        with pytest.raises(ValueError, match="from 1 to 10"):
            fabric.workflows.runs.submit("x/y", input={}, variants=11)
    http.close()


def test_server_validation_errors_keep_their_response() -> None:
    body = {"data": None, "meta": {"request_id": "r", "status": 400},
            "error": {"code": "validation_error", "message": "bad input",
                      "details": {"errors": [{"path": "topic", "message": "42 is not of type 'string'"}]}}}  # fmt: skip

    http = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(400, json=body)))
    with (
        FabricClient(base_url="https://x.test", http_client=http) as fabric,
        pytest.raises(FabricValidationError) as info,
    ):
        fabric.submit_run("research/trends", input={"topic": 42}, validate=True)
    http.close()
    assert info.value.response is not None
    assert info.value.response.json()["error"]["details"]["errors"][0]["path"] == "topic"


def test_async_client_has_the_same_surface_and_closes_idempotently() -> None:
    async def main() -> None:
        seen: List[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return _envelope([{"id": "openai", "modalities": ["text"]}])

        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        fabric = AsyncFabricClient(base_url="https://x.test", http_client=http)
        assert await fabric.providers() == [{"id": "openai", "modalities": ["text"]}]
        assert await fabric.providers.list() == [{"id": "openai", "modalities": ["text"]}]
        raw = await fabric.with_raw_response.providers()
        assert raw.status_code == 200
        await fabric.close()
        await fabric.close()
        await http.aclose()
        assert [r.url.path for r in seen] == ["/v1/providers"] * 3
        assert json.loads(seen[0].content or b"null") is None

    asyncio.run(main())


def test_a_required_body_field_passed_as_none_is_sent_as_null() -> None:
    seen: List[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _envelope({"organization_id": "o", "monthly_limit_usd": None, "current_spend_usd": 0})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with FabricClient(base_url="https://x.test", http_client=http) as fabric:
        fabric.set_org_budget("o", None)
    http.close()
    assert json.loads(seen[0].content) == {"monthly_limit_usd": None}
