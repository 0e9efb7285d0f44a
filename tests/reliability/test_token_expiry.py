"""Scenario 4: the access token expires while 50 threads and 200 asyncio tasks are working
→ exactly one refresh request per session, and no call fails.

Two signed-in sessions work at the same time: a ``FabricClient`` shared by 50 threads and an
``AsyncFabricClient`` shared by 200 tasks. Once a third of the calls are done, the emulator's
clock jumps an hour, so every access token in flight is expired on the server (the client's
own clock does not know: the 401 ``token_expired`` path is what is exercised). Every worker
keeps going until it has made its calls *and* at least one call after the expiry.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any, Iterator, List

import pytest

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform.testing import LocalFabric

from ._support import FAST, Figures, size

REFRESH = "POST /v1/auth/token/refresh"
PASSWORD = "token-expiry-Passw0rd"
THREADS, TASKS = 50, 200


@pytest.fixture()
def local() -> Iterator[LocalFabric]:
    with LocalFabric(**FAST) as server:
        yield server


@pytest.mark.scenario("4. token expiry under 50 threads + 200 tasks")
@pytest.mark.timeout(size(60, 240))
def test_one_refresh_per_session_and_no_failed_call(local: LocalFabric, figures: Figures) -> None:
    per_thread, per_task = size(1, 20), size(1, 10)
    total_min = THREADS * per_thread + TASKS * per_task
    done = [0]
    lock = threading.Lock()
    expired = threading.Event()
    errors: List[BaseException] = []
    wrong: List[Any] = []
    deadline = time.monotonic() + size(45, 200)

    sync_client = FabricClient(base_url=local.base_url, timeout=30)
    sync_client.signup(f"s{uuid.uuid4().hex[:10]}@example.com", PASSWORD)
    sync_user = sync_client.get_me()["principal_id"]
    async_email = f"a{uuid.uuid4().hex[:10]}@example.com"

    def count() -> None:
        with lock:
            done[0] += 1

    def check(me: Any, user: str) -> None:
        if not me.get("authenticated") or me.get("principal_id") != user:
            with lock:
                wrong.append(me)

    def thread_worker() -> None:
        made, after = 0, False
        try:
            while (made < per_thread or not after) and time.monotonic() < deadline:
                if made >= per_thread and not expired.is_set():
                    expired.wait(deadline - time.monotonic())
                was_expired = expired.is_set()
                check(sync_client.get_me(), sync_user)
                made += 1
                after = after or was_expired
                count()
        except BaseException as exc:  # collected and asserted below
            with lock:
                errors.append(exc)

    def controller(loop_event: List[Any]) -> None:
        while time.monotonic() < deadline:
            with lock:
                if done[0] >= total_min // 3:
                    break
            time.sleep(0.005)
        local.advance_time(3600)  # every access token is now expired on the server
        expired.set()
        loop, event = loop_event
        loop.call_soon_threadsafe(event.set)

    async def async_part() -> None:
        client = AsyncFabricClient(base_url=local.base_url, timeout=30)
        try:
            await client.signup(async_email, PASSWORD)
            user = (await client.get_me())["principal_id"]
            aexpired = asyncio.Event()
            handoff[:] = [asyncio.get_running_loop(), aexpired]
            ready.set()

            async def task_worker() -> None:
                made, after = 0, False
                try:
                    while (made < per_task or not after) and time.monotonic() < deadline:
                        if made >= per_task and not aexpired.is_set():
                            await asyncio.wait_for(aexpired.wait(), deadline - time.monotonic())
                        was_expired = aexpired.is_set()
                        check(await client.get_me(), user)
                        made += 1
                        after = after or was_expired
                        count()
                except BaseException as exc:
                    with lock:
                        errors.append(exc)

            await asyncio.gather(*(task_worker() for _ in range(TASKS)))
            async_refreshes[0] = client._tokens.refresh_calls
        finally:
            await client.close()

    handoff: List[Any] = []
    ready = threading.Event()
    async_refreshes = [0]
    local.reset_stats()
    threads = [threading.Thread(target=thread_worker) for _ in range(THREADS)]
    ctl = threading.Thread(target=lambda: (ready.wait(30), controller(handoff)))
    try:
        for t in threads:
            t.start()
        ctl.start()
        asyncio.run(async_part())
        for t in [*threads, ctl]:
            t.join(max(1.0, deadline - time.monotonic()))
            assert not t.is_alive(), "a worker did not finish in time"
    finally:
        sync_client.close()
    refreshes = local.stats().get(REFRESH, 0)
    figures.calls = done[0]
    figures.faults = 2  # one expiry per session, hitting every call in flight
    # Attempts repeated after a 401 token_expired (the async session's first get_me aside).
    figures.retries = local.stats().get("GET /v1/me", 0) - done[0] - 1
    figures.duplicates = refreshes - 2
    figures.note(
        f"{THREADS} threads x >= {per_thread} calls on one FabricClient and {TASKS} tasks x >= "
        f"{per_task} calls on one AsyncFabricClient, each session's token expired mid-run: "
        f"{refreshes} refresh requests in all (sync {sync_client._tokens.refresh_calls}, "
        f"async {async_refreshes[0]}), {len(errors)} failed calls."
    )
    assert errors == [], errors[:3]
    assert wrong == [], wrong[:3]
    assert done[0] >= total_min
    assert sync_client._tokens.refresh_calls == 1
    assert async_refreshes[0] == 1
    assert refreshes == 2, f"expected one refresh per session, the server saw {refreshes}"
