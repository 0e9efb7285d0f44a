"""Run by `make import-check-39` inside a venv holding only the built wheel (+ its deps)."""

import sys

import fabric_platform_api
from fabric_platform_api import models, operations, types  # noqa: F401

import fabric_platform
from fabric_platform import AsyncFabricClient, FabricClient, RunOutput

assert len(operations.OPERATIONS) == fabric_platform_api.OPERATION_COUNT
with FabricClient(api_key="fab_test_import_check") as fabric:
    assert callable(fabric.get_run) and callable(fabric.workflows.runs.get_legacy)
    assert "fab_test_import_check" not in repr(fabric)
AsyncFabricClient()
RunOutput(run_id="r", status="completed", variants=0, outputs=[])
print(
    f"fabric-platform {fabric_platform.__version__} imports on Python {sys.version.split()[0]}: "
    f"{len(operations.OPERATIONS)} operations, {len(models.__all__)} models"
)
