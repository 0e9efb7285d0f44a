"""Deliberately wrong lines, one per kind of mistake, each marked ``# wrong``: every checker
must report an error on each marked line and on no other line (tests/typing/run.py checks it).
This is the proof that the suite can fail: without py.typed, or with the streams' items typed
Any again, the first two would pass silently."""

from __future__ import annotations

from fabric_platform import FabricClient


def takes_int(value: int) -> None:
    """Where a str must not go."""


def mistakes(fabric: FabricClient) -> None:
    takes_int(fabric.get_run("run-id")["status"])  # wrong
    for event in fabric.stream_events():
        takes_int(event["kind"])  # wrong
    fabric.create_job(modality="text", input="not a dict")  # wrong
    fabric.wait_for_run(42)  # wrong
    print(fabric.workflows.runs.submit_and_get_output("video/ai_shorts").outputs[0].nope)  # wrong
