"""The typed view of stream items costs nothing at runtime and follows the spec.

What type checkers infer (``event["kind"]`` is the kinds' Literal, ``event["data"]`` a dict)
is checked by the typing suite in tests/typing; these are the runtime halves of that promise.
"""

from __future__ import annotations

import inspect
import typing
from pathlib import Path

import pytest
import yaml
from fabric_platform_api import types

import fabric_platform
from fabric_platform import AsyncFabricClient, FabricClient, ServerSentEvent

ROOT = Path(__file__).resolve().parents[2]


def test_a_streamed_event_is_a_server_sent_event_at_runtime() -> None:
    assert types.StreamedEvent is ServerSentEvent
    assert fabric_platform.StreamedEvent is ServerSentEvent
    event = ServerSentEvent('{"kind": "job.completed", "data": {}}', id="7")
    assert isinstance(event, fabric_platform.StreamedEvent) and event["kind"] == "job.completed"


def test_event_kind_lists_the_kinds_of_the_spec() -> None:
    spec = yaml.safe_load((ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
    kinds = spec["components"]["schemas"]["Event"]["properties"]["kind"]["enum"]
    assert list(typing.get_args(fabric_platform.EventKind)) == kinds


@pytest.mark.parametrize(
    ("client", "stream_class"), [(FabricClient, "EventStream"), (AsyncFabricClient, "AsyncEventStream")]
)
@pytest.mark.parametrize("method", ["stream_events", "stream_run_events", "stream_job_events"])
def test_stream_methods_are_annotated_with_the_stream_class(
    client: type, stream_class: str, method: str
) -> None:
    # A plain Iterator annotation would hide close()/``with`` from type checkers.
    assert inspect.signature(getattr(client, method)).return_annotation == stream_class
