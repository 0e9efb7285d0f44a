"""Server-Sent Events: ordering, exactly-once resume, keep-alives, terminal close, internals."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List

import httpx
import pytest
from conftest import Account, client_for, data, error, iter_sse, read_sse, sign_up, wait_until

from fabric_platform.testing import LocalFabric


def _run_jobs(account: Account, count: int) -> List[str]:
    ids = [
        data(
            account.client.post(
                "/v1/jobs", json={"modality": "text", "input": {"n": i}, "organization_id": account.org_id}
            )
        )["id"]
        for i in range(count)
    ]
    for job_id in ids:
        _wait_completed(account, job_id)
    return ids


def _wait_completed(account: Account, job_id: str) -> None:
    wait_until(lambda: data(account.client.get(f"/v1/jobs/{job_id}"))["status"] == "completed", what="job")


def _events(frames: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [json.loads(f["data"]) for f in frames if f["data"]]


def test_global_stream_is_ordered_and_scoped_to_the_callers_orgs(
    make_user: Callable[..., Account], owner: httpx.Client
) -> None:
    account = make_user()
    data(owner.post("/v1/jobs", json={"modality": "text", "input": {}}))  # someone else's event
    jobs = _run_jobs(account, 3)
    with account.client.stream("GET", "/v1/events/stream") as response:
        events = _events(read_sse(response, max_events=9))
    assert [int(e["id"]) for e in events] == sorted(int(e["id"]) for e in events)
    assert {e["organization_id"] for e in events} == {account.org_id}
    assert [e["kind"] for e in events if e.get("job_id") == jobs[0]] == [
        "job.created",
        "job.started",
        "job.completed",
    ]
    assert {e["job_id"] for e in events} == set(jobs)
    for e in events:
        assert set(e) >= {"id", "kind", "organization_id", "data", "timestamp"}


def test_last_event_id_resumes_exactly_after_that_event(make_user: Callable[..., Account]) -> None:
    account = make_user()
    _run_jobs(account, 4)
    with account.client.stream("GET", "/v1/events/stream") as response:
        everything = _events(read_sse(response, max_events=12))
    for cut in (0, 1, 5, 11):
        last_id = everything[cut]["id"]
        with account.client.stream(
            "GET", "/v1/events/stream", headers={"Last-Event-ID": last_id}
        ) as response:
            rest = _events(read_sse(response, max_events=12 - cut - 1)) if cut < 11 else []
        assert [e["id"] for e in rest] == [e["id"] for e in everything[cut + 1 :]]


def test_live_events_arrive_while_streaming(make_user: Callable[..., Account], fabric: LocalFabric) -> None:
    account = make_user()
    received: List[Dict[str, Any]] = []
    import threading

    def consume() -> None:
        with (
            client_for(fabric, account.tokens["access_token"]) as c,
            c.stream("GET", "/v1/events/stream") as response,
        ):
            received.extend(_events(read_sse(response, max_events=3)))

    consumer = threading.Thread(target=consume)
    consumer.start()
    wait_until(lambda: fabric.stats().get("GET /v1/events/stream", 0) >= 1, what="the stream to connect")
    _run_jobs(account, 1)
    consumer.join(10)
    assert [e["kind"] for e in received] == ["job.created", "job.started", "job.completed"]


def test_run_of_a_finished_job_stream_replays_then_closes(make_user: Callable[..., Account]) -> None:
    account = make_user()
    (job_id,) = _run_jobs(account, 1)
    with account.client.stream("GET", f"/v1/jobs/{job_id}/events") as response:
        events = _events(read_sse(response))
    assert [e["kind"] for e in events] == ["job.created", "job.started", "job.completed"]
    # Resuming after the terminal event: nothing more, and the stream ends at once.
    with account.client.stream(
        "GET", f"/v1/jobs/{job_id}/events", headers={"Last-Event-ID": events[-1]["id"]}
    ) as response:
        assert _events(read_sse(response)) == []
    with account.client.stream(
        "GET", f"/v1/jobs/{job_id}/events", headers={"Last-Event-ID": events[0]["id"]}
    ) as response:
        assert [e["id"] for e in _events(read_sse(response))] == [e["id"] for e in events[1:]]


def test_retry_line_and_keep_alive_comments(make_user: Callable[..., Account]) -> None:
    account = make_user()
    with account.client.stream("GET", "/v1/events/stream") as response:
        frames = []
        for frame in _frames_until(response, lambda fs: sum(1 for f in fs if f["comments"]) >= 2):
            frames.append(frame)
    assert frames[0]["retry"] == "1000"
    assert sum(1 for f in frames if "keep-alive" in f["comments"]) >= 2


def _frames_until(
    response: httpx.Response, done: Callable[[List[Dict[str, Any]]], bool]
) -> List[Dict[str, Any]]:
    frames: List[Dict[str, Any]] = []
    frame: Dict[str, Any] = {"data": [], "comments": []}
    for line in response.iter_lines():
        if line == "":
            frames.append(frame)
            if done(frames):
                return frames
            frame = {"data": [], "comments": []}
        elif line.startswith(":"):
            frame["comments"].append(line[1:].strip())
        else:
            field, _, value = line.partition(": ")
            frame[field] = value
    return frames


def test_include_internal(fabric: LocalFabric, make_user: Callable[..., Account]) -> None:
    account = make_user()
    fabric.emulator.events.publish(
        "workflow.node.started", organization_id=account.org_id, node_key="shim", internal=True
    )
    fabric.emulator.events.publish(
        "workflow.node.completed", organization_id=account.org_id, node_key="visible"
    )
    with account.client.stream("GET", "/v1/events/stream") as response:
        public = _events(read_sse(response, max_events=1))
    assert [e["node_key"] for e in public] == ["visible"]
    with account.client.stream("GET", "/v1/events/stream", params={"include_internal": "true"}) as response:
        everything = _events(read_sse(response, max_events=2))
    assert [e["node_key"] for e in everything] == ["shim", "visible"]
    error(account.client.get("/v1/events/stream", params={"include_internal": "maybe"}), 400)


def test_dropped_stream_resumes_without_loss_or_duplicates(fresh_fabric: LocalFabric) -> None:
    account = sign_up(fresh_fabric)
    _run_jobs(account, 4)  # 12 events
    fresh_fabric.drop_stream_after(events=5, times=2)
    received: List[Dict[str, Any]] = []
    drops = 0
    last_id = None
    connections = 0
    while len(received) < 12 and connections < 6:
        connections += 1
        headers = {"Last-Event-ID": last_id} if last_id else {}
        try:
            with account.client.stream("GET", "/v1/events/stream", headers=headers) as response:
                for frame in iter_sse(response):
                    if frame["data"]:
                        received.append(json.loads(frame["data"]))
                        last_id = frame["id"]
                        if len(received) == 12:
                            break
        except httpx.RemoteProtocolError:  # the server cut the connection mid-stream
            drops += 1
    assert drops == 2 and connections == 3
    ids = [e["id"] for e in received]
    assert len(ids) == 12 and len(set(ids)) == 12 and ids == sorted(ids, key=int)
    account.client.close()


def test_disable_streaming_answers_503(fresh_fabric: LocalFabric, fresh_owner: httpx.Client) -> None:
    job = data(fresh_owner.post("/v1/jobs", json={"modality": "text", "input": {}}))
    fresh_fabric.disable_streaming()
    for path in ("/v1/events/stream", f"/v1/jobs/{job['id']}/events"):
        response = fresh_owner.get(path)
        error(response, 503, "unavailable")
        assert response.headers["retry-after"]
    data(fresh_owner.get(f"/v1/jobs/{job['id']}"))  # polling still works
    fresh_fabric.disable_streaming(False)
    with fresh_owner.stream("GET", f"/v1/jobs/{job['id']}/events") as response:
        assert response.status_code == 200


@pytest.mark.parametrize("value", ["abc", "-1", "1.5"])
def test_bad_last_event_id_is_400(owner: httpx.Client, value: str) -> None:
    error(owner.get("/v1/events/stream", headers={"Last-Event-ID": value}), 400, "validation_error")
