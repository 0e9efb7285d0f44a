"""Clients inherited across os.fork(): each child gets its own connections.

The parent fills its pool with idle keep-alive connections, then forks children that make
concurrent calls, each for its own run, while the parent keeps calling too. Shared sockets
show up as a response for another run (a mismatch) or as a connection error; retries are
off so that no error is hidden. Repeated, since sharing is a race.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterator, List

import pytest

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform._http import fork as _fork
from fabric_platform.testing import LocalFabric

CHILDREN = 4
THREADS = 4
CALLS = 25  # per thread
ROUNDS = 3

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX only"),
    # Forking a process with threads (the emulator's) is the deployment being tested.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def local() -> Iterator[LocalFabric]:
    with LocalFabric(speed=200.0, password_hash_iterations=1000) as server:
        yield server


@pytest.fixture(scope="module")
def run_ids(local: LocalFabric) -> List[str]:
    with local.client() as fabric:
        wf = fabric.upsert_workflow(
            name="fork-safety", nodes=[{"key": "a", "type": "approval", "config": {}}]
        )
        return [fabric.run_workflow(wf, context={"n": n}) for n in range(CHILDREN + 1)]


def sync_calls(client: FabricClient, run_id: str) -> Dict[str, Any]:
    """THREADS threads × CALLS get_run(run_id); counts wrong answers and errors."""
    result: Dict[str, Any] = {"mismatches": 0, "errors": [], "calls": 0}
    lock = threading.Lock()

    def work() -> None:
        for _ in range(CALLS):
            try:
                got = client.get_run(run_id)["id"]
            except Exception as exc:
                with lock:
                    result["errors"].append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            with lock:
                result["calls"] += 1
                result["mismatches"] += got != run_id

    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(work) for _ in range(THREADS)]:
            future.result()
    return result


async def async_calls(client: AsyncFabricClient, run_id: str) -> Dict[str, Any]:
    result: Dict[str, Any] = {"mismatches": 0, "errors": [], "calls": 0}

    async def one() -> None:
        try:
            got = (await client.get_run(run_id))["id"]
        except Exception as exc:
            result["errors"].append(f"{type(exc).__name__}: {exc}"[:200])
            return
        result["calls"] += 1
        result["mismatches"] += got != run_id

    await asyncio.gather(*(one() for _ in range(THREADS * CALLS)))
    return result


def fork_children(child_main: Callable[[int], Dict[str, Any]]) -> List[int]:
    """Fork CHILDREN processes running ``child_main(index)``; returns (pid, read end) pairs."""
    children = []
    for index in range(CHILDREN):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report through the pipe, never return into pytest
            code = 1
            try:
                os.close(read_end)
                try:
                    report = child_main(index)
                except BaseException:
                    report = {"crashed": traceback.format_exc()[-2000:]}
                os.write(write_end, json.dumps(report).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        children.append((pid, read_end))
    return children  # type: ignore[return-value]


def collect(children: Any, timeout: float = 60.0) -> List[Dict[str, Any]]:
    reports = []
    deadline = time.monotonic() + timeout
    for pid, read_end in children:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                raise AssertionError(f"child {pid} did not finish within {timeout} s")
            time.sleep(0.01)
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
        assert data, f"child {pid} ended without a report (wait status {status})"
        report = json.loads(data)
        assert "crashed" not in report, report.get("crashed")
        reports.append(report)
    return reports


def assert_clean(reports: List[Dict[str, Any]], expected_calls: int) -> None:
    for report in reports:
        assert report["errors"] == [], report["errors"][:3]
        assert report["mismatches"] == 0
        assert report["calls"] == expected_calls


def test_forked_children_never_share_the_parents_connections(local: LocalFabric, run_ids: List[str]) -> None:
    client = local.client(max_retries=0)
    try:
        for _ in range(ROUNDS):
            sync_calls(client, run_ids[-1])  # the pool now holds idle connections
            parent_pool_before = client._transport.http_client
            children = fork_children(lambda index: sync_calls(client, run_ids[index]))
            parent = sync_calls(client, run_ids[-1])  # meanwhile, on the inherited connections
            reports = collect(children)
            assert_clean([*reports, parent], THREADS * CALLS)
            assert client._transport.http_client is parent_pool_before  # the parent keeps its pool
    finally:
        client.close()


def test_token_and_configuration_carry_over_to_the_child(local: LocalFabric, run_ids: List[str]) -> None:
    with local.client(max_retries=0, default_headers={"X-Team": "fork"}) as client:
        client.get_me()
        parent_http = client._transport.http_client

        def child(index: int) -> Dict[str, Any]:
            # The inherited sockets now point at /dev/null in this process (not shut down).
            inherited = [sock for group in _fork._abandoned if isinstance(group, list) for sock in group]
            open_fds = [fd for fd in (sock.fork_fileno() for sock in inherited) if fd is not None and fd >= 0]
            released = [stat.S_ISCHR(os.fstat(fd).st_mode) for fd in open_fds]
            me = client.get_me()
            return {
                "authenticated": me["authenticated"],
                "headers": dict(client._config.default_headers),
                "fresh_pool": client._transport.http_client is not parent_http,
                "released": bool(released) and all(released),
            }

        (report, *_) = collect(fork_children(child))
    assert report == {
        "authenticated": True,
        "headers": {"X-Team": "fork"},
        "fresh_pool": True,
        "released": True,
    }


def test_forked_children_of_an_async_client_get_their_own_connections(
    local: LocalFabric, run_ids: List[str]
) -> None:
    async def child_main(index: int) -> Dict[str, Any]:
        try:
            return await async_calls(client, run_ids[index])
        finally:
            await client.close()  # the child's own pool (uvloop refuses to close a loop with open sockets)

    loop = asyncio.new_event_loop()
    client = AsyncFabricClient(base_url=local.base_url, api_key=local.api_key, max_retries=0)
    try:
        for _ in range(ROUNDS):
            loop.run_until_complete(async_calls(client, run_ids[-1]))
            children = fork_children(lambda index: asyncio.run(child_main(index)))
            parent = loop.run_until_complete(async_calls(client, run_ids[-1]))
            assert_clean([*collect(children), parent], THREADS * CALLS)
    finally:
        loop.run_until_complete(client.close())
        loop.close()
