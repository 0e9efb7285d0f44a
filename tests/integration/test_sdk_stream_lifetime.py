"""A stream left with `break` frees its connection at once, not whenever the cyclic GC runs.

The seed's own example leaves a loop over ``stream_run_events`` with ``break``. If the
stream's generator held the stream (a reference cycle), the connection would stay checked
out until a later garbage collection, which can fire inside httpcore's pool lock, where
closing it deadlocks. These tests run with the cyclic GC off and a one-connection pool: the
next call only succeeds if the abandoned stream already gave its connection back.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Iterator

import httpx
import pytest

from fabric_platform import AsyncFabricClient
from fabric_platform.testing import LocalFabric


@pytest.fixture(scope="module")
def local() -> Iterator[LocalFabric]:
    with LocalFabric(speed=200.0, sse_keepalive=0.5) as server:
        yield server


@pytest.fixture()
def no_cyclic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _one_connection() -> httpx.Limits:
    return httpx.Limits(max_connections=1, max_keepalive_connections=1)


def test_sync_stream_left_with_break_frees_its_connection(local: LocalFabric, no_cyclic_gc: None) -> None:
    pool = httpx.Client(limits=_one_connection(), timeout=httpx.Timeout(10.0, pool=2.0))
    with local.client(http_client=pool) as fabric:
        job = fabric.create_job("text", {"prompt": "lifetime"})
        stream = fabric.stream_events()
        generator = iter(stream)
        alive = weakref.ref(generator)
        for _event in generator:
            break
        del stream, generator, _event
        assert alive() is None, "the stream's generator outlived the loop (a reference cycle)"
        # The pool has one connection: this call waits for it, and times out if it is still held.
        assert fabric.get_job(job["id"])["id"] == job["id"]
    pool.close()


def test_async_stream_left_with_break_frees_its_connection(local: LocalFabric, no_cyclic_gc: None) -> None:
    async def main() -> None:
        pool = httpx.AsyncClient(limits=_one_connection(), timeout=httpx.Timeout(10.0, pool=2.0))
        fabric = AsyncFabricClient(base_url=local.base_url, api_key=local.api_key, http_client=pool)
        job = await fabric.create_job("text", {"prompt": "lifetime"})
        stream = fabric.stream_events()
        generator = stream.__aiter__()
        alive = weakref.ref(generator)
        async for _event in generator:
            break
        del stream, generator, _event
        assert alive() is None, "the stream's generator outlived the loop (a reference cycle)"
        await asyncio.sleep(0)  # the loop's async-generator hook schedules its aclose()
        assert (await fabric.get_job(job["id"]))["id"] == job["id"]
        await fabric.close()
        await pool.aclose()

    asyncio.run(main())
