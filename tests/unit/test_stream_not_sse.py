"""A 2xx that is not an event stream: a typed error at once, and wait_for_run falls back to
polling (a proxy in between that answers SSE requests with JSON or HTML must not turn into
slow reconnects and a misleading "stream lost")."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List

import httpx
import pytest

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform._core.stream_state import MAX_LINE_BYTES
from fabric_platform.errors import FabricResponseError

BASE = "http://fabric.test"
RUN_ID = "4b1d0000-0000-4000-8000-000000000001"


def _envelope(data: Any) -> bytes:
    return json.dumps({"data": data, "meta": {"request_id": "req_1"}, "error": None}).encode()


class Server:
    """GET run: running, then completed; the event stream: a JSON envelope (not SSE)."""

    def __init__(self) -> None:
        self.requests: List[str] = []
        self.reads = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        if request.url.path.endswith("/events") or request.url.path.endswith("/stream"):
            return httpx.Response(
                200, content=_envelope({"hello": 1}), headers={"content-type": "application/json"}
            )
        self.reads += 1
        status = "running" if self.reads < 3 else "completed"
        run: Dict[str, Any] = {"id": RUN_ID, "status": status}
        return httpx.Response(200, content=_envelope(run), headers={"content-type": "application/json"})


def test_a_json_answer_to_a_stream_request_is_a_response_error() -> None:
    server = Server()
    http = httpx.Client(transport=httpx.MockTransport(server))
    expected = pytest.raises(FabricResponseError, match="expected text/event-stream, got application/json")
    with FabricClient(base_url=BASE, api_key="fab_test_k", http_client=http) as fabric, expected:
        list(fabric.stream_events())
    assert len(server.requests) == 1  # no reconnects


def test_wait_for_run_polls_when_the_stream_is_not_sse() -> None:
    server = Server()
    http = httpx.Client(transport=httpx.MockTransport(server))
    with FabricClient(base_url=BASE, api_key="fab_test_k", http_client=http) as fabric:
        run = fabric.wait_for_run(RUN_ID, poll_interval=0.01, timeout=10)
    assert run["status"] == "completed"
    assert sum(p.endswith("/events") for p in server.requests) == 1


def test_async_wait_for_run_polls_when_the_stream_is_not_sse() -> None:
    async def main() -> Dict[str, Any]:
        server = Server()
        http = httpx.AsyncClient(transport=httpx.MockTransport(server))
        async with AsyncFabricClient(base_url=BASE, api_key="fab_test_k", http_client=http) as fabric:
            with pytest.raises(FabricResponseError):
                async for _ in fabric.stream_events():
                    pass
            return await fabric.wait_for_run(RUN_ID, poll_interval=0.01, timeout=10)  # type: ignore[no-any-return]

    assert asyncio.run(main())["status"] == "completed"


def test_a_line_that_never_ends_is_refused_before_it_fills_memory() -> None:
    chunk = b"x" * (1024 * 1024)
    sent = [0]

    def endless() -> Any:
        yield b"data: "
        while sent[0] <= MAX_LINE_BYTES + 4 * len(chunk):  # bounded: the test must stop by itself
            sent[0] += len(chunk)
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless(), headers={"content-type": "text/event-stream"})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    expected = pytest.raises(FabricResponseError, match="without a line break")
    with FabricClient(base_url=BASE, api_key="fab_test_k", http_client=http) as fabric, expected:
        list(fabric.stream_events())
    assert MAX_LINE_BYTES <= sent[0] <= MAX_LINE_BYTES + 2 * len(chunk)  # stopped right at the limit
