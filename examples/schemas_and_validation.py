"""Read a workflow's typed contract, and let the server validate a submission against it."""

from __future__ import annotations

import json

from fabric_platform import FabricClient
from fabric_platform.errors import FabricValidationError

try:
    from _common import run_standalone, title
except ImportError:
    from examples._common import run_standalone, title


def main(fabric: FabricClient) -> None:
    title("workflow schemas")
    schemas = fabric.get_workflow_schemas("research/trends")
    print("input schema:", json.dumps(schemas["input_schema"])[:100] + "…")
    print("tasks:", [t["task"] for t in schemas["task_schemas"]])
    untyped = fabric.get_workflow_schemas("some/untyped-workflow")
    print("untyped workflow input_schema:", untyped["input_schema"])

    title("validate=True rejects a bad input before it runs")
    try:
        fabric.submit_run("research/trends", input={"topic": 42}, validate=True)
    except FabricValidationError as e:
        body = e.response.json()
        for err in body["error"]["details"]["errors"]:
            print(f"  {err['path']}: {err['message']}")


if __name__ == "__main__":
    run_standalone(main)
