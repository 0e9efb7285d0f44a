"""Property-based conformance: schemathesis (4.32.5) over every operation of spec/openapi.yaml.

Against a running emulator, signed in with the seeded owner's API key, each operation gets a few
positive (schema-valid) and negative (schema-violating) generated requests. Every response
must be a non-5xx answer whose status code, media type, headers and body conform to the spec.

Path parameters are pinned to real resources of a dedicated organization (made below), so the
success responses are exercised too, not only 404s. Operations run in spec order, except that
deleting ones and ``archiveOrganization`` run last (they would turn the rest into 404/409s).

Bounded for CI: a handful of examples per operation, no shrinking, no example database, a
fixed seed. The figures are printed (``pytest -s``) and part of the failure message.
"""

from __future__ import annotations

import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Dict, Iterator, List

import httpx
import pytest
import requests
import schemathesis
from conftest import FAST, unique
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fabric_platform.testing import LocalFabric

SPEC = Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 3}
LAST = {"archiveOrganization"}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalFabric]:
    with LocalFabric(**{**FAST, "speed": 500.0}) as fabric:
        yield fabric


def _pinned_resources(fabric: LocalFabric) -> Dict[str, Any]:
    """Real resources for every path parameter, so generated requests reach existing things."""
    with httpx.Client(
        base_url=fabric.base_url, headers={"Authorization": f"Bearer {fabric.api_key}"}, timeout=30
    ) as http:

        def post(path: str, body: Any = None, **kwargs: Any) -> Any:
            response = (
                http.post(path, json=body, **kwargs) if "content" not in kwargs else http.post(path, **kwargs)
            )
            assert response.status_code == 200, f"{path}: {response.text}"
            return response.json()["data"]

        org = post("/v1/organizations", {"slug": unique("st"), "name": "Schemathesis"})["id"]
        workflow = post(
            "/v1/workflow-definitions",
            {
                "name": unique("st-wf"),
                "organization_id": org,
                "nodes": [{"key": "gate", "type": "approval", "config": {}}],
            },
        )["id"]
        run = post("/v1/workflow-runs", {"workflow_definition_id": workflow, "context": {}})["id"]
        job = post("/v1/jobs", {"modality": "text", "input": {"prompt": "st"}, "organization_id": org})["id"]
        schedule = post(f"/v1/workflow-definitions/{workflow}/schedules", {"cron_expression": "0 0 1 1 *"})[
            "id"
        ]
        # Not loopback: any event it matches is recorded as blocked, nothing is sent anywhere.
        webhook = post(
            f"/v1/organizations/{org}/webhooks", {"url": "https://hooks.invalid/st", "events": ["*"]}
        )["id"]
        gallery = post("/v1/galleries", {"kind": "portrait", "name": "st", "organization_id": org})["id"]
        asset = post(
            "/v1/assets",
            content=b"schemathesis bytes",
            params={"organization_id": org, "filename": "st.bin"},
            headers={"Content-Type": "application/octet-stream"},
        )["id"]
        item = post(f"/v1/galleries/{gallery}/items", {"asset_id": asset, "tags": ["st"]})["id"]
        team = post("/v1/teams", {"organization_id": org, "slug": unique("team"), "name": "st"})["id"]
        invitation = post(
            "/v1/invitations", {"organization_id": org, "email": f"{unique('inv')}@example.com"}
        )["id"]
        api_key = post("/v1/api-keys", {"name": "st", "organization_id": org})["id"]
        account = post("/v1/service-accounts", {"name": "st", "organization_id": org})["id"]
        account_key = post(f"/v1/service-accounts/{account}/api-keys", {"name": "st"})["id"]
        app = post("/v1/apps", {"name": "st", "organization_id": org})["id"]
        client = post(
            "/v1/oauth/clients", {"name": "st", "redirect_uris": [], "scopes": [], "organization_id": org}
        )["id"]
        sink = post(
            f"/v1/organizations/{org}/sinks", {"name": "st", "path": "st", "workflow_name": "research/trends"}
        )
        permission = post(
            "/v1/permissions",
            {
                "principal_id": fabric.owner["id"],
                "action": "job.read",
                "resource": "job:all",
                "organization_id": org,
            },
        )["id"]
        post(f"/v1/organizations/{org}/secrets", {"name": "ST_SECRET", "value": "x"})
    return {
        "org_id": org,
        "workflow_id": workflow,
        "workflow_definition_id": workflow,
        "run_id": run,
        "job_id": job,
        "schedule_id": schedule,
        "webhook_id": webhook,
        "gallery_id": gallery,
        "asset_id": asset,
        "item_id": item,
        "team_id": team,
        "invitation_id": invitation,
        "api_key_id": api_key,
        "service_account_id": account,
        "key_id": account_key,
        "app_id": app,
        "client_id": client,
        "sink_id": sink["id"],
        "path": sink["path"],
        "permission_id": permission,
        "name": "ST_SECRET",
        "user_id": fabric.owner["id"],
        "node_key": "gate",
        "node_id": "delay",
        "workflow_name": "research/trends",
        "provider": "google",
    }


def _order(operation: Any) -> int:
    if operation.definition.raw.get("operationId") in LAST:
        return 2
    return 1 if operation.method.upper() == "DELETE" else 0


def _is_sse(operation: Any) -> bool:
    ok = operation.definition.raw.get("responses", {}).get("200", {})
    return "text/event-stream" in (ok.get("content") or {})


def test_every_operation_conforms(server: LocalFabric) -> None:
    schema = schemathesis.openapi.from_path(str(SPEC))
    pinned = _pinned_resources(server)
    headers = {"Authorization": f"Bearer {server.api_key}"}
    session = requests.Session()
    operations = sorted((r.ok() for r in schema.get_all_operations()), key=_order)
    failures: Dict[str, List[str]] = {}
    counts = {GenerationMode.POSITIVE: 0, GenerationMode.NEGATIVE: 0}
    started = time.monotonic()

    def check(operation: Any, case: Any, mode: GenerationMode) -> None:
        counts[mode] += 1
        try:
            if _is_sse(operation):
                _check_stream(case, server.base_url, headers, session)
                return
            response = case.call(base_url=server.base_url, headers=headers, session=session, timeout=15)
            case.validate_response(response, checks=CHECKS)
        except BaseException as exc:  # FailureGroup is a BaseExceptionGroup
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            failures.setdefault(operation.label, []).append(
                f"[{mode.value}] {type(exc).__name__}: {exc}"[:2000]
            )

    for operation in operations:
        params = {p.name: pinned[p.name] for p in operation.path_parameters if p.name in pinned}
        for mode, examples in EXAMPLES.items():
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=params or None)

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case: Any) -> None:
                check(operation, case, mode)  # noqa: B023 - called at once, inside this iteration

            try:
                run()
            except Unsatisfiable:
                pass  # no way to violate the schema of an operation without parameters or body

    elapsed = time.monotonic() - started
    total = sum(counts.values())
    summary = (
        f"schemathesis {version('schemathesis')}: "
        f"{len(operations)} operations, {total} cases "
        f"({counts[GenerationMode.POSITIVE]} positive, {counts[GenerationMode.NEGATIVE]} negative), "
        f"{sum(len(v) for v in failures.values())} failures in {len(failures)} operations, {elapsed:.1f}s"
    )
    print(summary)
    assert len(operations) == len(list(_spec_operations(schema)))  # all of them, none skipped
    assert not failures, (
        summary + "\n" + "\n\n".join(f"{op}:\n  " + "\n  ".join(v[:3]) for op, v in failures.items())
    )


def _spec_operations(schema: Any) -> Iterator[str]:
    for path, item in schema.raw_schema["paths"].items():
        for method in ("get", "put", "post", "delete", "patch"):
            if method in item:
                yield f"{method.upper()} {path}"


def _check_stream(case: Any, base_url: str, headers: Dict[str, str], session: requests.Session) -> None:
    """SSE answers never end by themselves: check the status and media type, then hang up."""
    kwargs = case.as_transport_kwargs(base_url=base_url, headers=headers)
    kwargs.pop("timeout", None)
    with session.request(**kwargs, stream=True, timeout=15) as response:
        if response.status_code == 200:
            assert response.headers["content-type"].startswith("text/event-stream"), response.headers
            return
        response.content  # noqa: B018 - an error answer is small: read it and validate it
        case.validate_response(response, checks=CHECKS)
