"""Importing a client loads httpx and the SDK's light modules only; the rest loads on first use.

Each check runs in a fresh interpreter (this one has imported everything already) and
compares with what ``import httpx`` alone loads there, so a module httpx itself brings in
on some Python version never fails the test. No timings: what is imported is what costs.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap
from typing import Set

import pytest
from fabric_platform_api import _async_namespaces, _ops, _sync_namespaces, operations

# Never needed just to import a client: pydantic and the models built on it, the TypedDicts
# (annotations only), the whole operation table, the pagination, download and wait machinery.
HEAVY = {
    "pydantic",
    "pydantic_core",
    "fabric_platform.models",
    "fabric_platform_api.models",
    "fabric_platform_api.types",
    "fabric_platform_api.operations",
    "fabric_platform._sync.pagination",
    "fabric_platform._async.pagination",
    "fabric_platform._core.download_plan",
    "fabric_platform._sync.transfers",
    "fabric_platform._async.transfers",
    "fabric_platform._sync.streams",
    "fabric_platform._async.streams",
    "fabric_platform._core.stream_state",
    "fabric_platform._sync.waiting",
    "fabric_platform._async.waiting",
}
# Loaded with the first response, not with the client: orjson (which imports uuid, platform
# and dataclasses), and decimal/uuid for JSON-encoding such arguments. Milliseconds each.
FIRST_RESPONSE = {"orjson", "uuid", "platform", "decimal", "dataclasses"}
TAG_MODULES = {
    f"fabric_platform_api._ops.{op.tag.replace('-', '_')}" for op in operations.OPERATIONS.values()
}
# The namespace classes load on first access, one module per top-level namespace; only
# those a hand-written resource extends (`fabric.workflows`, `fabric.assets`) load with a client.
EXTENDED = {"workflows", "assets"}
NAMESPACE_MODULES = {
    f"{package.__name__}.{module}"
    for package in (_sync_namespaces, _async_namespaces)
    for module in set(package.MODULE_OF.values()) - EXTENDED
}


def _modules_after(code: str) -> Set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _added_by(code: str) -> Set[str]:
    return _modules_after(code) - _modules_after("import httpx")


def test_importing_the_sync_client_loads_no_pydantic_typeddicts_table_or_asyncio() -> None:
    added = _added_by("from fabric_platform import FabricClient")
    assert "fabric_platform._sync.client" in added  # the check itself sees the import
    forbidden = HEAVY | TAG_MODULES | FIRST_RESPONSE | NAMESPACE_MODULES
    forbidden |= {"asyncio", "fabric_platform_api.async_client"}
    assert sorted(added & forbidden) == []


def test_importing_the_async_client_loads_no_pydantic_typeddicts_table_or_asyncio() -> None:
    # asyncio comes with the async transport, when the first AsyncFabricClient is constructed.
    added = _added_by("from fabric_platform import AsyncFabricClient")
    assert "fabric_platform._async.client" in added
    forbidden = HEAVY | TAG_MODULES | FIRST_RESPONSE | NAMESPACE_MODULES
    forbidden |= {"asyncio", "fabric_platform_api.sync_client"}
    assert sorted(added & forbidden) == []


def test_what_was_left_out_loads_on_first_use_and_is_the_same_type() -> None:
    script = textwrap.dedent(
        """
        import json, sys
        import httpx
        import fabric_platform
        from fabric_platform import FabricClient

        output = {"run_id": "r1", "status": "completed", "variants": 1,
                  "outputs": [{"variant_index": 0, "output": {"x": 1}, "artifacts": []}]}

        def handler(request):
            data = {"status": "ok"} if request.url.path == "/v1/health" else output
            return httpx.Response(200, json={"data": data, "meta": {"request_id": "q", "status": 200}})

        http = httpx.Client(transport=httpx.MockTransport(handler))
        with FabricClient(base_url="https://fabric.test", api_key="fab_test_k", http_client=http) as fabric:
            fabric.health_check()
            after_call = sorted(sys.modules)
            result = fabric.get_run_output("r1")
        checks = {
            "after_call": after_call,
            "after_output": sorted(sys.modules),
            "is_run_output": isinstance(result, fabric_platform.RunOutput),
            "same_class": fabric_platform.RunOutput is fabric_platform.models.RunOutput,
            "first_output": result.first_output,
        }
        print(json.dumps(checks))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    checks = json.loads(done.stdout.strip().splitlines()[-1])
    # A call loads its own tag of the operation table, nothing else heavy.
    assert "fabric_platform_api._ops.system" in checks["after_call"]
    assert (
        sorted(set(checks["after_call"]) & (HEAVY | (TAG_MODULES - {"fabric_platform_api._ops.system"})))
        == []
    )
    # A run output needs the models: they load then, and are the public types.
    assert {"pydantic", "fabric_platform.models", "fabric_platform_api._ops.workflows"} <= set(
        checks["after_output"]
    )
    assert checks["is_run_output"] and checks["same_class"]
    assert checks["first_output"] == {"x": 1}


def test_a_namespace_loads_on_first_access_with_the_public_names_of_older_releases() -> None:
    script = textwrap.dedent(
        """
        import inspect, json, sys
        from fabric_platform import FabricClient
        from fabric_platform_api import sync_client

        fabric = FabricClient(base_url="http://127.0.0.1:9", api_key="fab_test_k")
        before = sorted(sys.modules)
        jobs = fabric.jobs
        print(json.dumps({
            "before": before,
            "after": sorted(sys.modules),
            "same_class": type(jobs) is sync_client.JobsNamespace,
            "same_object": fabric.jobs is jobs,
            # a class first loaded through its old address gets the public names too
            "record_upload": "asset_type" in inspect.signature(sync_client.OrganizationsNamespace.create_asset).parameters,
            "org_optional": inspect.signature(fabric.organizations.list_secrets).parameters["org_id"].default is None,
            "nested": type(fabric.oauth.clients).__name__,
        }))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    checks = json.loads(done.stdout.strip().splitlines()[-1])
    jobs_module = "fabric_platform_api._sync_namespaces.jobs"
    assert jobs_module not in checks["before"] and jobs_module in checks["after"]
    assert "fabric_platform_api._sync_namespaces.organizations" not in checks["after"]
    assert checks["same_class"] and checks["same_object"]
    assert checks["record_upload"] and checks["org_optional"]
    assert checks["nested"] == "OauthClientsNamespace"


def test_every_namespace_class_is_reachable_at_its_module_and_its_former_address() -> None:
    from fabric_platform_api import async_client, sync_client

    for client_module, package in ((sync_client, _sync_namespaces), (async_client, _async_namespaces)):
        assert set(package.MODULE_OF) <= set(dir(client_module))
        for name in package.MODULE_OF:
            assert getattr(client_module, name) is getattr(package, name), name
        with pytest.raises(AttributeError, match="NoSuchNamespace"):
            client_module.NoSuchNamespace  # noqa: B018 (the lookup is the test)


def test_the_lazy_operation_table_is_the_whole_table_with_the_same_entries() -> None:
    names = set(operations.__all__) - {"OPERATIONS"}
    assert set(dir(_ops)) == names
    assert len(names) == len(operations.OPERATIONS)
    for name in names:
        assert getattr(_ops, name) is getattr(operations, name), name


def test_an_unknown_operation_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NO_SUCH_OPERATION"):
        _ops.NO_SUCH_OPERATION  # noqa: B018 (the lookup is the test)


def test_the_async_client_default_bound_is_the_one_the_transport_enforces() -> None:
    # One constant, in _config (no asyncio at import), the default of both signatures.
    from fabric_platform import AsyncFabricClient
    from fabric_platform._async.transport import AsyncTransport
    from fabric_platform._config import DEFAULT_MAX_IN_FLIGHT

    default = inspect.signature(AsyncFabricClient).parameters["max_in_flight"].default
    assert default == DEFAULT_MAX_IN_FLIGHT
    assert inspect.signature(AsyncTransport).parameters["max_in_flight"].default == DEFAULT_MAX_IN_FLIGHT


def test_public_names_are_made_on_first_use_and_are_then_plain_functions() -> None:
    # The public 0.8/0.17 names cost one small object each until code looks them up; then
    # they are the forwarder (or hand-written helper) itself, signature and docstring included.
    code = (
        "import inspect, json\n"
        "from fabric_platform import FabricClient\n"
        "from fabric_platform._compat_names import HELPER_NAMES, OnFirstUse\n"
        "from fabric_platform._compat_helpers import async_helpers, sync_helpers\n"
        "before = [type(vars(FabricClient)[n]).__name__ for n in ('as_user', 'admin_get_user')]\n"
        "sig = str(inspect.signature(FabricClient.as_user))\n"
        "doc = bool(FabricClient.admin_get_user.__doc__)\n"
        "after = [inspect.isfunction(vars(FabricClient)[n]) for n in ('as_user', 'admin_get_user')]\n"
        "names = sorted(HELPER_NAMES) == sorted(sync_helpers()) == sorted(async_helpers())\n"
        "print(json.dumps([before, sig, doc, after, names]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    before, sig, doc, after, names = json.loads(out)
    assert before == ["OnFirstUse", "OnFirstUse"]
    assert sig.startswith("(self: 'Any', user_id") and doc and after == [True, True] and names
