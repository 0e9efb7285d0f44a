"""Tenant isolation, enumerated from the spec: organization B never sees organization A's data.

* Every GET operation of ``spec/openapi.yaml`` whose path names a resource is called with
  organization A's resource (created here) by two principals of organization B — a user
  session and an API key — and must answer 404, exactly as for an id that does not exist.
  Organization A's owner gets 2xx on the same URL first, so the 404 is not an accident of a
  wrong path. A new GET operation whose path parameters this test cannot fill fails
  ``test_every_get_operation_is_covered``; operations deliberately not exercised this way are
  listed with the reason (and, where there is one, the answer they must give instead).
* Every GET operation without path parameters (the lists) answers B without any of A's ids.
* Organization A's own GET answers (and streams) never contain a write-only secret value:
  secret values, webhook signing secrets, API keys and client secrets after creation,
  passwords.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import httpx
import pytest
import yaml
from conftest import client_for, sign_up, wait_until

from fabric_platform import FabricClient
from fabric_platform.testing import LocalFabric

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml").read_text())

# GET operations whose path names a resource, but which B is not asked for A's copy of, with
# why. Those with a status are still called by B, and must answer it (no data either way).
NOT_BY_ORGANIZATION: Dict[str, Tuple[Optional[int], str]] = {
    "getNode": (None, "the node-type catalogue is global (the same for every organization)"),
    "adminGetUser": (403, "platform administration, not organization data: any non-admin gets 403"),
    "acceptInvitationLink": (
        403,
        "a capability link: the emailed token authorizes, not membership (a wrong token is 403)",
    ),
    "downloadRunArtifact": (
        403,
        "a signed URL: the signature authorizes, checked before the artifact is looked up",
    ),
}


def _get_operations() -> List[Tuple[str, str, List[Dict[str, Any]]]]:
    ops = []
    for path, item in SPEC["paths"].items():
        get = item.get("get")
        if get is not None:
            params = [p for p in get.get("parameters", []) + item.get("parameters", []) if "name" in p]
            ops.append((get["operationId"], path, params))
    return sorted(ops)


GET_OPERATIONS = _get_operations()
BY_RESOURCE = [op for op in GET_OPERATIONS if "{" in op[1]]
LISTS = [op for op in GET_OPERATIONS if "{" not in op[1]]


@dataclass
class OrgA:
    """Organization A: its owner's session, its resources, and the secrets they hold."""

    owner: httpx.Client
    sdk: FabricClient
    org_id: str
    values: Dict[str, str] = field(default_factory=dict)  # path parameter -> A's resource
    queries: Dict[str, Dict[str, str]] = field(default_factory=dict)  # operationId -> query
    ids: List[str] = field(default_factory=list)  # every id A owns
    secrets: Dict[str, str] = field(default_factory=dict)  # what must never be read back


@pytest.fixture(scope="module")
def org_a(fabric: LocalFabric) -> Iterator[OrgA]:
    account = sign_up(fabric)
    org = account.org_id
    sdk = FabricClient(base_url=fabric.base_url, organization_id=org)
    sdk.login(account.email, account.password)
    a = OrgA(owner=account.client, sdk=sdk, org_id=org)
    marker = uuid.uuid4().hex[:8]
    a.secrets["password"] = account.password
    a.secrets["secret value"] = f"sv-{uuid.uuid4().hex}"
    sdk.set_secret("ISOLATION_SECRET", a.secrets["secret value"], org_id=org)
    key = sdk.create_api_key(f"k-{marker}", org)
    a.secrets["api key"] = key["key"]
    app = sdk.apps.create(f"app-{marker}", organization_id=org)
    a.secrets["app client secret"] = app["client_secret"]
    account_sa = sdk.service_accounts.create(f"sa-{marker}", organization_id=org)
    sa_key = sdk.service_accounts.create_api_key(account_sa["id"], f"sak-{marker}")
    a.secrets["service account key"] = sa_key["key"]
    a.secrets["webhook secret"] = f"whsec-{uuid.uuid4().hex}"
    hook = sdk.create_webhook(
        org, "http://127.0.0.1:9/isolation", ["job.completed"], secret=a.secrets["webhook secret"]
    )
    asset = sdk.upload_asset(b"isolation bytes", filename=f"{marker}.txt", organization_id=org)
    gallery = sdk.create_gallery("persona", f"g-{marker}", organization_id=org)
    sdk.add_gallery_item(gallery["id"], url=f"https://example.com/{marker}.png")
    invitee = f"inv-{marker}@example.com"
    invitation = sdk.create_invitation(org, invitee, "viewer")
    job = sdk.create_job(modality="text", input={"prompt": marker}, organization_id=org)
    team = sdk.create_team(org, f"t-{marker}", "Team")
    definition = sdk.upsert_workflow(f"def-{marker}", [{"key": "a", "type": "transform", "config": {}}])
    schedule = sdk.create_schedule(definition, "0 4 * * *")
    sink = sdk.sinks.create(org, f"sink-{marker}", f"sink-{marker}", "research/trends")
    registry_name = f"private/{marker}"
    sdk.upsert_workflow_registry_entry(registry_name, {"organization_id": org}, description="private")
    run = sdk.submit_run("image/generate", input={"topic": marker}, organization_id=org)
    sdk.wait_for_run(run["id"], timeout=60)
    wait_until(lambda: sdk.get_job(job["id"])["status"] == "completed", what="the job")
    output = sdk.get_run_output(run["id"])
    artifact = next(a for v in output.outputs for a in v.artifacts)
    node = sdk.list_nodes()[0]
    a.values = {
        "org_id": org,
        "api_key_id": key["id"],
        "app_id": app["id"],
        "asset_id": asset["id"],
        "gallery_id": gallery["id"],
        "invitation_id": invitation["id"],
        "job_id": job["id"],
        "node_id": node["id"],
        "schedule_id": schedule["id"],
        "service_account_id": account_sa["id"],
        "sink_id": sink["id"],
        "team_id": team["id"],
        "webhook_id": hook["id"],
        "workflow_definition_id": definition,
        "workflow_id": definition,
        "workflow_name": registry_name,
        "run_id": run["id"],
        "artifact_id": artifact.id,
        "user_id": account.user_id,
    }
    a.queries = {
        # Another organization's private workflow, asked for explicitly.
        "getWorkflowRegistryEntry": {"organization_id": org},
        "getWorkflowSchemas": {"organization_id": org},
        "acceptInvitationLink": {"token": "not-the-emailed-token"},
        "downloadRunArtifact": {},
    }
    a.ids = [v for k, v in a.values.items() if k not in ("node_id", "workflow_name")]
    yield a
    sdk.close()
    account.client.close()


@pytest.fixture(scope="module")
def org_b(fabric: LocalFabric) -> Iterator[List[Tuple[str, httpx.Client]]]:
    bob = sign_up(fabric)
    key = bob.client.post("/v1/api-keys", json={"name": "bob", "organization_id": bob.org_id}).json()["data"]
    keyed = client_for(fabric, key["key"])
    yield [("B's user session", bob.client), ("B's API key", keyed)]
    keyed.close()
    bob.client.close()


def _url(path: str, values: Dict[str, str]) -> Optional[str]:
    out = path
    for name, value in values.items():
        out = out.replace("{" + name + "}", value)
    return None if "{" in out else out


def _status(client: httpx.Client, url: str, params: Dict[str, str]) -> Tuple[int, bytes]:
    # Streams (SSE, downloads): the status line decides; read a bounded amount of body.
    with client.stream("GET", url, params=params, timeout=10.0) as resp:
        body = b""
        if resp.status_code >= 300 or "event-stream" not in resp.headers.get("content-type", ""):
            body = resp.read()
        return resp.status_code, body


def test_every_get_operation_is_covered(org_a: OrgA) -> None:
    unfillable = [
        f"{op_id} {path}"
        for op_id, path, _ in BY_RESOURCE
        if _url(path, org_a.values) is None and op_id not in NOT_BY_ORGANIZATION
    ]
    assert not unfillable, (
        "GET operations that name a resource this test cannot create: add the resource to "
        f"org_a (or the operation to NOT_BY_ORGANIZATION with the reason): {unfillable}"
    )
    stale = set(NOT_BY_ORGANIZATION) - {op_id for op_id, _, _ in GET_OPERATIONS}
    assert not stale, f"listed operations no longer in the spec: {stale}"
    assert len(BY_RESOURCE) >= 50  # the spec has ~51; a parsing slip must not empty the matrix


def test_another_organization_gets_404_for_every_resource(org_a: OrgA, org_b: Any) -> None:
    problems: List[str] = []
    exercised = 0
    for op_id, path, _ in BY_RESOURCE:
        url = _url(path, org_a.values)
        assert url is not None or op_id in NOT_BY_ORGANIZATION, op_id
        if url is None:
            continue
        params = org_a.queries.get(op_id, {})
        expected, _reason = NOT_BY_ORGANIZATION.get(op_id, (404, ""))
        if expected is None:
            continue
        if op_id not in NOT_BY_ORGANIZATION:
            # A's owner sees it: the URL is right and the resource exists.
            status, body = _status(org_a.owner, url, params)
            if not 200 <= status < 300:
                problems.append(f"{op_id}: A's owner got {status} for {url}: {body[:200]!r}")
                continue
        for who, client in org_b:
            status, body = _status(client, url, params)
            if status != expected:
                problems.append(f"{op_id} {url}: {who} got {status}, expected {expected}: {body[:200]!r}")
            elif expected == 404:
                assert json.loads(body)["error"]["code"] == "not_found"
            for secret in org_a.ids:
                if secret.encode() in body and secret not in url:
                    problems.append(f"{op_id}: {who}'s error answer mentions A's id {secret}")
        exercised += 1
    assert exercised >= len(BY_RESOURCE) - len(NOT_BY_ORGANIZATION) + 2
    assert not problems, "\n".join(problems)


def test_lists_never_show_another_organizations_ids(org_a: OrgA, org_b: Any) -> None:
    problems: List[str] = []
    for op_id, path, params in LISTS:
        if any(p.get("required") and p["in"] == "query" for p in params):
            continue  # needs an argument naming something of B's own (resolveWorkspaceRole)
        for who, client in org_b:
            if op_id == "streamEvents":
                body = _read_stream(client, path, max_seconds=1.0)
            else:
                body = client.get(path).content
            for rid in org_a.ids:
                if rid.encode() in body:
                    problems.append(f"{op_id}: {who} sees A's id {rid}")
    assert not problems, "\n".join(problems)


def _read_stream(client: httpx.Client, path: str, *, max_seconds: float) -> bytes:
    """What a stream sends in ``max_seconds`` (keep-alives keep the reads short)."""
    import time

    out = b""
    deadline = time.monotonic() + max_seconds
    with client.stream("GET", path, timeout=10.0) as resp:
        if resp.status_code != 200:
            return resp.read()
        for chunk in resp.iter_bytes():
            out += chunk
            if time.monotonic() > deadline or len(out) > 1 << 20:
                break
    return out


def test_write_only_secrets_are_never_read_back(org_a: OrgA) -> None:
    bodies: Dict[str, bytes] = {}
    for op_id, path, _ in GET_OPERATIONS:
        url = _url(path, org_a.values)
        if url is None:
            continue
        params = org_a.queries.get(op_id, {})
        if op_id == "streamEvents":
            bodies[op_id] = _read_stream(org_a.owner, url, max_seconds=1.0)
        elif op_id in ("streamRunEvents", "streamJobEvents"):
            bodies[op_id] = _read_stream(org_a.owner, url, max_seconds=5.0)  # ends at the terminal event
        else:
            bodies[op_id] = _status(org_a.owner, url, params)[1]
    # Webhook deliveries and the export carry payloads too.
    leaks = [
        f"{op_id} returns the {name}"
        for op_id, body in bodies.items()
        for name, secret in org_a.secrets.items()
        if secret.encode() in body
    ]
    assert len(bodies) >= 70
    assert not leaks, "\n".join(leaks)
