"""A workflow definition with an approval step: run it, approve it, wait for the result."""

from __future__ import annotations

import time

from fabric_platform import FabricClient

try:
    from _common import run_standalone, title
except ImportError:
    from examples._common import run_standalone, title


def main(fabric: FabricClient) -> None:
    title("a workflow with an approval node")
    wf_id = fabric.upsert_workflow(
        name="launch-post",
        nodes=[
            {
                "key": "draft",
                "type": "ai_generate",
                "config": {"prompt": "Draft a launch post", "model": "gpt-4o"},
            },
            {"key": "approval_step", "type": "approval", "config": {}},
            {"key": "polish", "type": "transform", "config": {}},
        ],
        defaults={"timeout": 300},
    )
    print("workflow:", fabric.get_workflow(wf_id)["name"], "version", fabric.get_workflow(wf_id)["version"])

    run_id = fabric.run_workflow(wf_id, context={"topic": "AI agents"}, priority=5)
    print("run", run_id, "started")
    deadline = time.monotonic() + 30
    while fabric.get_run(run_id)["status"] != "waiting":  # the approval node holds the run
        if time.monotonic() > deadline:
            raise TimeoutError("the run never reached the approval step")
        time.sleep(0.05)
    print("status: waiting for approval_step")
    fabric.resume_node(run_id, "approval_step", data={"approved": True})
    result = fabric.wait_for_run(run_id, poll_interval=1.0, timeout=60.0)
    print("status:", result["status"])
    for entry in fabric.run_log(run_id)["entries"][-3:]:
        print(f"  log [{entry['level']}] {entry.get('node_key') or '-'}: {entry['message']}")


if __name__ == "__main__":
    run_standalone(main)
