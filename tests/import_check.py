"""Run by `make import-check-39` inside a venv holding only the built wheel (+ its deps)."""

import os
import sys
import tempfile

import fabric_platform_api
from fabric_platform_api import models, operations, types  # noqa: F401

import fabric_platform
from fabric_platform import AsyncFabricClient, FabricClient, RunOutput

assert len(operations.OPERATIONS) == fabric_platform_api.OPERATION_COUNT
with FabricClient(api_key="fab_test_import_check") as fabric:
    assert callable(fabric.get_run) and callable(fabric.workflows.runs.get_legacy)
    assert "fab_test_import_check" not in repr(fabric)
AsyncFabricClient()
# Profiles are read with the core dependencies alone (tomllib, or tomli below 3.11).
with tempfile.TemporaryDirectory() as home:
    os.makedirs(os.path.join(home, "fabric"))
    with open(os.path.join(home, "fabric", "config.toml"), "w") as fh:
        fh.write('[staging]\nbase_url = "http://127.0.0.1:9"\norganization_id = "org-p"\n')
    os.environ["XDG_CONFIG_HOME"] = home
    with FabricClient(profile="staging") as fabric:
        assert fabric.base_url == "http://127.0.0.1:9" and fabric.organization_id == "org-p"
RunOutput(run_id="r", status="completed", variants=0, outputs=[])
print(
    f"fabric-platform {fabric_platform.__version__} imports on Python {sys.version.split()[0]}: "
    f"{len(operations.OPERATIONS)} operations, {len(models.__all__)} models"
)
