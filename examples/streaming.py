"""Watch a run's events as they happen (Server-Sent Events, reconnecting by itself)."""

from __future__ import annotations

from fabric_platform import FabricClient

try:
    from _common import run_standalone, title
except ImportError:
    from examples._common import run_standalone, title


def main(fabric: FabricClient) -> None:
    title("streaming a run's events")
    run = fabric.submit_run("research/trends", input={"topic": "AI agents", "depth": 3})
    for event in fabric.stream_run_events(run["id"]):
        progress = ((event.get("data") or {}).get("progress") or {}).get("percentage")
        suffix = f" {progress:.0f}%" if progress is not None else ""
        print(f"  #{event.id:<5} {event['kind']}{suffix}")
        if event["kind"] == "workflow.run.completed":
            break
    print("trends:", [t["title"] for t in fabric.get_run(run["id"])["output"]["trends"]][:3])


if __name__ == "__main__":
    run_standalone(main)
