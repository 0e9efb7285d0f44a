"""Webhooks through the SDK: signed deliveries to a local receiver, retries, filters, rotation,
the loopback-only rule, and delivery that never holds up the request that caused the event."""

from __future__ import annotations

import json
import threading
from typing import Any, Dict, Iterator, List

import pytest
from conftest import unique, wait_until
from webhook_receiver import Receiver

from fabric_platform.testing import LocalFabric
from fabric_platform.webhooks import verify_signature


@pytest.fixture()
def org_client(fabric: LocalFabric) -> Iterator[Any]:
    """The seeded owner's client, defaulting to a fresh organization (no other test's events)."""
    with fabric.client() as owner:
        org = owner.create_organization(unique("wh"), "Webhook tests")
    with fabric.client(organization_id=org["id"], strict=True) as client:
        yield client


def _deliveries(client: Any, webhook_id: str) -> List[Dict[str, Any]]:
    return list(client.list_webhook_deliveries(webhook_id))


def _job(client: Any) -> Dict[str, Any]:
    return client.create_job("text", {"prompt": "hello webhooks"})


def test_delivery_is_signed_filtered_and_recorded(org_client: Any) -> None:
    org_id = org_client.organization_id
    secret = "whsec_" + unique("s")
    with Receiver() as hook:
        created = org_client.create_webhook(org_id, hook.url, ["job.completed"], secret=secret)
        assert created["secret"] == secret and created["event_filter"] == ["job.completed"]
        # Same organization, but a filter that never matches a text job: it must get nothing.
        other = org_client.create_webhook(org_id, hook.url, ["job.*"], resource_filter={"modality": "image"})
        job = _job(org_client)

        (request,) = hook.wait_for(1)
        assert request.headers["x-fabric-event"] == "job.completed"
        assert verify_signature(request.body, request.headers["x-fabric-signature"], secret)
        assert not verify_signature(request.body, request.headers["x-fabric-signature"], secret + "x")
        event = json.loads(request.body)
        assert event["kind"] == "job.completed" and event["job_id"] == job["id"]
        assert event["organization_id"] == org_id

        deliveries = wait_until(
            lambda: [d for d in _deliveries(org_client, created["id"]) if d["status"] != "pending"],
            what="the delivery record",
        )
        assert len(deliveries) == 1
        delivery = deliveries[0]
        assert delivery["id"] == request.headers["x-fabric-delivery"]
        assert delivery["status"] == "succeeded" and delivery["status_code"] == 200
        assert delivery["attempt"] == 1 and delivery["event_kind"] == "job.completed"
        assert delivery["event_id"] == event["id"]
        # job.created / job.started went nowhere (filter), and the image-only webhook was skipped.
        assert len(hook.received()) == 1
        assert _deliveries(org_client, other["id"]) == []
        assert "secret" not in org_client.get_webhook(created["id"])


def test_a_receiver_that_fails_twice_gets_three_attempts(org_client: Any) -> None:
    org_id = org_client.organization_id
    with Receiver(fail_first=2) as hook:
        created = org_client.create_webhook(org_id, hook.url, ["job.completed"])
        assert created["max_retries"] == 3
        _job(org_client)
        got = hook.wait_for(3)
        done = wait_until(
            lambda: [d for d in _deliveries(org_client, created["id"]) if d["status"] == "succeeded"],
            what="a successful delivery",
        )
        assert len(done) == 1
        attempts = sorted(_deliveries(org_client, created["id"]), key=lambda d: d["attempt"])
        assert [(d["attempt"], d["status"], d["status_code"]) for d in attempts] == [
            (1, "failed", 500),
            (2, "failed", 500),
            (3, "succeeded", 200),
        ]
        assert all(d["error_message"] for d in attempts[:2]) and attempts[2]["error_message"] is None
        # Each attempt is its own delivery (its own id), carrying the same signed body.
        assert [r.headers["x-fabric-delivery"] for r in got] == [d["id"] for d in attempts]
        assert len({r.body for r in got}) == 1
        assert all(verify_signature(r.body, r.headers["x-fabric-signature"], created["secret"]) for r in got)


def test_retries_stop_at_max_retries_and_the_failure_is_an_event(org_client: Any) -> None:
    org_id = org_client.organization_id
    with Receiver(fail_first=100, fail_status=503) as hook, Receiver() as watcher:
        failing = org_client.create_webhook(org_id, hook.url, ["job.completed"])
        org_client.update_webhook(failing["id"], max_retries=1)
        observer = org_client.create_webhook(org_id, watcher.url, ["webhook.delivery.failed"])
        _job(org_client)
        (notice,) = watcher.wait_for(1)
        event = json.loads(notice.body)
        assert event["kind"] == "webhook.delivery.failed"
        assert event["data"]["webhook_id"] == failing["id"] and event["data"]["attempts"] == 2
        assert verify_signature(notice.body, notice.headers["x-fabric-signature"], observer["secret"])
        attempts = _deliveries(org_client, failing["id"])
        assert sorted(d["attempt"] for d in attempts) == [1, 2]
        assert {d["status_code"] for d in attempts} == {503}
        assert len(hook.received()) == 2


def test_rotated_secret_signs_the_next_delivery(org_client: Any) -> None:
    org_id = org_client.organization_id
    with Receiver() as hook:
        created = org_client.create_webhook(
            org_id, hook.url, ["job.completed"], secret="whsec_before_rotation"
        )
        _job(org_client)
        (first,) = hook.wait_for(1)
        assert verify_signature(first.body, first.headers["x-fabric-signature"], "whsec_before_rotation")

        rotated = org_client.rotate_webhook_secret(org_id)["secret"]
        assert rotated and rotated != "whsec_before_rotation"
        _job(org_client)
        second = hook.wait_for(2)[1]
        assert verify_signature(second.body, second.headers["x-fabric-signature"], rotated)
        assert not verify_signature(
            second.body, second.headers["x-fabric-signature"], "whsec_before_rotation"
        )
        assert created["id"] in {w["id"] for w in org_client.list_webhooks(org_id)}


def test_webhooks_created_with_the_org_in_the_body_deliver_too(org_client: Any) -> None:
    with Receiver() as hook:
        created = org_client.webhooks.create_global(
            hook.url, ["job.completed"], org_id=org_client.organization_id
        )
        assert created["organization_id"] == org_client.organization_id
        job = _job(org_client)
        (request,) = hook.wait_for(1)
        assert json.loads(request.body)["job_id"] == job["id"]
        assert verify_signature(request.body, request.headers["x-fabric-signature"], created["secret"])


def test_delivery_never_blocks_the_request_that_caused_it(org_client: Any) -> None:
    release = threading.Event()
    with Receiver(hold=release) as hook:
        org_id = org_client.organization_id
        created = org_client.create_webhook(org_id, hook.url, ["job.created"])
        job = _job(org_client)  # returns although the receiver is still holding the delivery
        assert job["organization_id"] == org_id
        hook.wait_for(1)
        pending = _deliveries(org_client, created["id"])
        assert [d["status"] for d in pending] == ["pending"]
        release.set()
        wait_until(
            lambda: [d for d in _deliveries(org_client, created["id"]) if d["status"] == "succeeded"],
            what="the held delivery to finish",
        )


def test_non_loopback_urls_are_recorded_as_blocked_and_never_contacted(
    fabric: LocalFabric, org_client: Any
) -> None:
    dispatcher = fabric.emulator.webhook_dispatcher
    sent_before = dispatcher.requests_sent
    with Receiver() as local:
        blocked = org_client.create_webhook(
            org_client.organization_id, "https://hooks.example.com/fabric", ["job.completed"]
        )
        # A loopback webhook on the same event shows when the event has been dispatched.
        org_client.create_webhook(org_client.organization_id, local.url, ["job.completed"])
        _job(org_client)
        local.wait_for(1)
        (record,) = wait_until(
            lambda: [d for d in _deliveries(org_client, blocked["id"]) if d["status"] != "pending"],
            what="the blocked delivery record",
        )
        assert record["status"] == "failed" and record["status_code"] is None
        assert "blocked" in record["error_message"] and "hooks.example.com" in record["error_message"]
        assert record["attempt"] == 1  # not retried: nothing was ever sent
        # Real requests left the emulator (the loopback one), but none towards the blocked host.
        wait_until(lambda: dispatcher.requests_sent > sent_before, what="the loopback POST")
        assert dispatcher.requests_by_host["hooks.example.com"] == 0
        assert dispatcher.requests_by_host["127.0.0.1"] >= 1
        assert len(_deliveries(org_client, blocked["id"])) == 1


def test_bad_webhook_input_is_a_400_naming_the_field(org_client: Any) -> None:
    from fabric_platform import FabricValidationError

    org_id = org_client.organization_id
    with pytest.raises(FabricValidationError) as bad_kind:
        org_client.create_webhook(org_id, "http://127.0.0.1:9/x", ["job.finished"])
    assert "events" in str(bad_kind.value.message) and "job.finished" in bad_kind.value.message
    with pytest.raises(FabricValidationError) as bad_url:
        org_client.create_webhook(org_id, "ftp://127.0.0.1/x", ["job.completed"])
    assert "url" in bad_url.value.message
