"""Scenario 6: malformed responses → a typed error or the idle timeout, never a hang or a bare
exception.

The SDK talks to :class:`BadServer`, which answers every request wrongly in one of the ways
real networks do: a body shorter than its Content-Length, truncated JSON, a proxy's HTML 502,
an HTML or XML page with 200, a 2xx without the envelope, an empty 200, a garbled status
line, a non-HTTP peer, a body that never ends, a server that trickles one byte per second
(from the status line on, or only the body), one that never answers, a reset. Streams get
their own set (a trickled event, a silent stream, a line that never ends, JSON where SSE was
expected).

For every case: the exception is the expected :class:`FabricError` subclass, it arrives
within the call's deadline (or the stream's idle timeout), and its text does not quote the
bad body.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import time
import tracemalloc
from typing import Any, Dict, Iterator, List, Tuple, Type

import pytest
from fabric_platform_api import operations as ops

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform._async.streams import AsyncEventStream
from fabric_platform._sync.streams import EventStream
from fabric_platform.errors import (
    FabricConnectionError,
    FabricError,
    FabricResponseError,
    FabricServerError,
    FabricTimeoutError,
)

from ._bad_server import BadServer
from ._support import FULL, Figures, size

TIMEOUT = 2.0
IDLE = 1.0
SLACK = 1.0  # thread scheduling on a busy machine; a hang would be many seconds

CALLS: Dict[str, Type[FabricError]] = {
    "truncated-body": FabricConnectionError,
    "truncated-json": FabricResponseError,
    "html-502": FabricServerError,
    "html-200": FabricResponseError,
    "xml-200": FabricResponseError,
    "no-envelope": FabricResponseError,
    "json-list": FabricResponseError,
    "empty-200": FabricResponseError,
    "garbage-status": FabricConnectionError,
    "not-http": FabricConnectionError,
    "endless": FabricTimeoutError,
    "trickle": FabricTimeoutError,
    "trickle-body": FabricTimeoutError,
    "silent": FabricTimeoutError,
    "reset": FabricConnectionError,
}
STREAMS: Dict[str, Type[FabricError]] = {
    "sse-trickle": FabricTimeoutError,
    "sse-silent": FabricTimeoutError,
    "sse-endless-line": FabricResponseError,
    "sse-json": FabricResponseError,
    "html-502": FabricServerError,
    "trickle": FabricTimeoutError,
    "reset": FabricConnectionError,
}
# Bytes of the bad bodies that must never show up in an exception's text.
LEAKS = ("<html", "<?xml", "nginx", '"status": "ok"', "xxxxxxxx")


@pytest.fixture(scope="module")
def bad() -> Iterator[BadServer]:
    with BadServer(max_seconds=15.0, trickle_interval=1.0) as server:
        yield server


def _judge(where: str, expected: Type[FabricError], error: Any, elapsed: float, limit: float) -> List[str]:
    problems = []
    if error is None:
        problems.append(f"{where}: succeeded")
    elif not isinstance(error, FabricError):
        problems.append(f"{where}: a bare {type(error).__name__}: {error}")
    elif not isinstance(error, expected):
        problems.append(f"{where}: expected {expected.__name__}, got {type(error).__name__}: {error}")
    else:
        text = str(error)
        for leak in LEAKS:
            if leak in text:
                problems.append(f"{where}: the error quotes the body ({leak!r}): {text[:120]}")
    if elapsed > limit:
        problems.append(f"{where}: took {elapsed:.2f}s (limit {limit:.1f}s)")
    return problems


def _sync_call(bad: BadServer, mode: str, method: str) -> Tuple[Any, float]:
    with FabricClient(base_url=bad.url(mode), api_key="fab_test_bad", timeout=TIMEOUT, max_retries=1) as c:
        started = time.monotonic()
        try:
            if method == "GET":
                c.health_check()
            else:
                c.create_job(modality="text", input={"prompt": "x"})
        except Exception as exc:
            return exc, time.monotonic() - started
        return None, time.monotonic() - started


def _async_call(bad: BadServer, mode: str, method: str) -> Tuple[Any, float]:
    async def main() -> Tuple[Any, float]:
        async with AsyncFabricClient(
            base_url=bad.url(mode), api_key="fab_test_bad", timeout=TIMEOUT, max_retries=1
        ) as c:
            started = time.monotonic()
            try:
                if method == "GET":
                    await c.health_check()
                else:
                    await c.create_job(modality="text", input={"prompt": "x"})
            except Exception as exc:
                return exc, time.monotonic() - started
            return None, time.monotonic() - started

    return asyncio.run(main())


def _sync_stream(bad: BadServer, mode: str) -> Tuple[Any, float]:
    with FabricClient(base_url=bad.url(mode), api_key="fab_test_bad", timeout=TIMEOUT, max_retries=1) as c:
        stream = EventStream(
            c._transport, c._prepare(ops.STREAM_EVENTS, {}), idle_timeout=IDLE, max_reconnects=1
        )
        started = time.monotonic()
        try:
            with stream:
                for _ in stream:
                    pass
        except Exception as exc:
            return exc, time.monotonic() - started
        return None, time.monotonic() - started


def _async_stream(bad: BadServer, mode: str) -> Tuple[Any, float]:
    async def main() -> Tuple[Any, float]:
        async with AsyncFabricClient(
            base_url=bad.url(mode), api_key="fab_test_bad", timeout=TIMEOUT, max_retries=1
        ) as c:
            stream = AsyncEventStream(
                c._transport, c._prepare(ops.STREAM_EVENTS, {}), idle_timeout=IDLE, max_reconnects=1
            )
            started = time.monotonic()
            try:
                async with stream:
                    async for _ in stream:
                        pass
            except Exception as exc:
                return exc, time.monotonic() - started
            return None, time.monotonic() - started

    return asyncio.run(main())


@pytest.mark.scenario("6. malformed responses (sync + async clients)")
@pytest.mark.timeout(size(120, 300))
def test_malformed_responses_raise_typed_errors_in_time(bad: BadServer, figures: Figures) -> None:
    problems: List[str] = []
    growth = 0
    connections = bad.connections
    methods = ["GET", "POST"] if FULL else ["GET"]
    # The cases are independent: run them at once (the bad server serves each connection on
    # its own thread), except the two whose memory is traced, which go alone afterwards.
    cases: List[Tuple[str, Any, Type[FabricError], float]] = []
    for flavour, call, stream in (("sync", _sync_call, _sync_stream), ("async", _async_call, _async_stream)):
        for mode, expected in CALLS.items():
            for method in methods:
                # The whole call, retries included, with one more read possibly in flight.
                run = functools.partial(call, bad, mode, method)
                cases.append((f"{flavour} {method} {mode}", run, expected, TIMEOUT + SLACK))
        for mode, expected in STREAMS.items():
            # A stream may wait out its idle timeout once per connection (first try + 1 reconnect).
            limit = 2 * (max(IDLE, TIMEOUT) + SLACK) + 1.0
            cases.append((f"{flavour} stream {mode}", functools.partial(stream, bad, mode), expected, limit))
    traced = {f"{f} {case}" for f in ("sync", "async") for case in ("GET endless", "stream sse-endless-line")}
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        futures = {name: pool.submit(run) for name, run, _, _ in cases if name not in traced}
        outcomes = {name: f.result(timeout=60) for name, f in futures.items()}
    for name, run, _, _ in cases:
        if name in traced:
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            outcomes[name] = run()
            growth = max(growth, tracemalloc.get_traced_memory()[1] - base)
            tracemalloc.stop()
    for name, _, expected, limit in cases:
        error, elapsed = outcomes[name]
        figures.calls += 1
        problems += _judge(name, expected, error, elapsed, limit)
    figures.faults = bad.connections - connections
    figures.memory_growth = growth
    figures.note(
        f"sync and async clients: {len(CALLS)} broken answers x {'/'.join(methods)} (timeout {TIMEOUT:g} s, 1 retry) and "
        f"{len(STREAMS)} broken streams (idle timeout {IDLE:g} s, 1 reconnect), {figures.faults} "
        "connections to the bad server; each ended in the expected FabricError subclass in time. "
        "Memory growth is the peak while reading the endless body / endless SSE line: bounded by "
        "the deadline (JSON) and by the 16 MiB line limit (SSE)."
    )
    assert not problems, "\n".join(problems)
