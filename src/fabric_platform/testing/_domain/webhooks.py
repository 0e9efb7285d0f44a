"""Webhook deliveries: every public event POSTed, signed, to the organization's matching webhooks.

The dispatcher subscribes to the event bus; for each event it picks the webhooks that want it
(``event_filter`` kinds, fnmatch patterns such as ``workflow.run.*`` or ``*``, and
``resource_filter``) and starts one background task per webhook, so the request that caused
the event never waits for a receiver.

Each attempt is its own delivery record (its id is the ``X-Fabric-Delivery`` header): ``pending``
while in flight, then ``succeeded`` (2xx) or ``failed`` with the status code or the network
error. A failed attempt is retried after an exponential backoff (1 s, 2 s, 4 s … at speed 1,
scaled like all simulated time) until ``max_retries`` retries are used up; then a
``webhook.delivery.failed`` event is published (never delivered to the webhook that failed,
which would loop). The body is the same bytes on every attempt; the secret is read again for
each attempt, so a rotation takes effect for the next one.

Loopback only: the emulator never connects anywhere else. A URL whose host is not a loopback
address (or ``localhost``) and not in ``Config.webhook_allow_hosts`` is not contacted: its
delivery is recorded as ``failed`` with an ``error_message`` saying it was blocked, and it is
not retried. Redirects are not followed and proxy settings from the environment are ignored,
for the same reason.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import logging
import ssl
import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Tuple, get_args
from urllib.parse import urlsplit

from fabric_platform_api import models as _models

if TYPE_CHECKING:
    from .._state import Emulator

log = logging.getLogger(__name__)

WEBHOOKS = "webhooks"
DELIVERIES = "webhook_deliveries"
FAILED_KIND = "webhook.delivery.failed"
DEFAULT_MAX_RETRIES = 3
MAX_RETRIES_LIMIT = 10
BACKOFF_BASE = 1.0  # seconds of simulated time before the first retry
BACKOFF_CAP = 60.0
ATTEMPT_TIMEOUT = 10.0  # real seconds one POST may take
USER_AGENT = "Fabric-Webhooks/1 (fabric-platform emulator)"

# Event kinds come from the spec (the Event schema's `kind` enum), not a second list here;
# filters must name one of these or match one.
EVENT_KINDS: Tuple[str, ...] = get_args(_models.Event.model_fields["kind"].annotation)
assert FAILED_KIND in EVENT_KINDS, "the spec's Event.kind enum lost webhook.delivery.failed"

_TLS: Optional[ssl.SSLContext] = None


def _tls() -> ssl.SSLContext:
    # Loading the CA bundle is the expensive part of an httpx client; do it once.
    global _TLS
    if _TLS is None:
        _TLS = ssl.create_default_context()
    return _TLS


def unknown_kinds(patterns: Iterable[str]) -> List[str]:
    """The filter entries that match no event kind (typos, mostly)."""
    return [p for p in patterns if not any(fnmatch.fnmatchcase(kind, p) for kind in EVENT_KINDS)]


def blocked_reason(url: str, allow_hosts: Iterable[str]) -> Optional[str]:
    """Why the emulator will not contact ``url`` (None when it may: loopback or allowed)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return "blocked: the URL cannot be parsed"
    if parts.scheme not in ("http", "https"):
        return f"blocked: only http and https URLs are delivered (got {parts.scheme or 'none'!r})"
    if not host:
        return "blocked: the URL has no host"
    if host in {h.lower() for h in allow_hosts}:
        return None
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return (
        f"blocked: the emulator only delivers to loopback addresses; {host!r} is not one "
        "(start it with webhook_allow_hosts=[...] to allow a host)"
    )


def backoff_seconds(attempt: int) -> float:
    """Simulated seconds to wait after failed attempt ``attempt`` (1-based)."""
    return float(min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1))))


class Dispatcher:
    """One per emulator (``emulator.webhook_dispatcher``)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        # Real HTTP requests made so far (in all, and per host): lets tests prove that a blocked
        # URL was never contacted.
        self.requests_sent = 0
        self.requests_by_host: Counter[str] = Counter()
        self._subscribed = False

    def start(self) -> None:
        if not self._subscribed:
            self.emulator.events.subscribe(self.on_event)
            self._subscribed = True
        self._resume()

    # ------------------------------------------------------------------ matching
    def on_event(self, event: Dict[str, Any]) -> None:
        org_id = event.get("organization_id")
        if not org_id or self.emulator.closing:
            return
        hooks = self.emulator.store.find(WEBHOOKS, org_id=org_id, where={"active": True})
        context: Optional[Dict[str, Any]] = None
        for hook in hooks:
            if event["kind"] == FAILED_KIND and (event.get("data") or {}).get("webhook_id") == hook["id"]:
                continue
            if not any(fnmatch.fnmatchcase(event["kind"], p) for p in hook.get("event_filter") or []):
                continue
            if hook.get("resource_filter"):
                if context is None:
                    context = self._context(event)
                if not _filter_matches(hook["resource_filter"], context):
                    continue
            self.emulator.spawn(self._deliver(hook["id"], event, 1), name=f"webhook {hook['id']}")

    def _context(self, event: Dict[str, Any]) -> Dict[str, Any]:
        """What a resource_filter is matched against: the event, its data, and its resource."""
        store = self.emulator.store
        resource: Dict[str, Any] = {}
        if event.get("run_id"):
            run = store.get("workflow_runs", event["run_id"]) or {}
            resource = {
                k: run.get(k) for k in ("workflow_name", "workflow_definition_id", "team_id", "created_by")
            }
        elif event.get("job_id"):
            job = store.get("jobs", event["job_id"]) or {}
            resource = {k: job.get(k) for k in ("modality", "provider", "model", "created_by")}
        context = dict(resource)
        context.update(event.get("data") or {})
        context.update({k: v for k, v in event.items() if k != "data"})
        return context

    # ------------------------------------------------------------------ delivering
    async def _deliver(self, webhook_id: str, event: Dict[str, Any], first_attempt: int) -> None:
        emulator, store = self.emulator, self.emulator.store
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")
        attempt = first_attempt
        while True:
            hook = store.get(WEBHOOKS, webhook_id)
            if hook is None or not hook.get("active") or emulator.closing:
                return  # deleted or deactivated meanwhile: stop retrying
            max_retries = int(hook.get("max_retries", DEFAULT_MAX_RETRIES))
            record = self._record(hook, event, attempt)
            reason = blocked_reason(hook["url"], emulator.config.webhook_allow_hosts)
            if reason is not None:
                self._finish(record, "failed", None, reason)
                self._announce_failure(hook, event, attempt, reason)
                return  # nothing was sent; retrying would not change that
            status, error = await self._post(hook, record["id"], event["kind"], body)
            if status is not None and 200 <= status < 300:
                self._finish(record, "succeeded", status, None)
                return
            self._finish(record, "failed", status, error)
            if attempt > max_retries:
                self._announce_failure(hook, event, attempt, error)
                return
            await emulator.clock.sleep(backoff_seconds(attempt))
            attempt += 1

    def _record(self, hook: Dict[str, Any], event: Dict[str, Any], attempt: int) -> Dict[str, Any]:
        doc = {
            "id": str(uuid.uuid4()),
            "webhook_id": hook["id"],
            "organization_id": hook["organization_id"],
            "event_id": str(event.get("id", "")),
            "event_kind": event["kind"],
            "status": "pending",
            "status_code": None,
            "error_message": None,
            "attempt": attempt,
            "url": hook["url"],
            "created_at": self.emulator.clock.now_iso(),
            "completed_at": None,
        }
        return self.emulator.store.insert(DELIVERIES, doc)

    def _finish(self, record: Dict[str, Any], status: str, code: Optional[int], error: Optional[str]) -> None:
        self.emulator.store.update(
            DELIVERIES,
            record["id"],
            status=status,
            status_code=code,
            error_message=error,
            completed_at=self.emulator.clock.now_iso(),
        )

    async def _post(
        self, hook: Dict[str, Any], delivery_id: str, kind: str, body: bytes
    ) -> Tuple[Optional[int], Optional[str]]:
        import hashlib
        import hmac

        import httpx

        secret = str(hook.get("_secret") or "")
        signature = "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Fabric-Signature": signature,
            "X-Fabric-Event": kind,
            "X-Fabric-Delivery": delivery_id,
        }
        started = time.monotonic()
        try:
            # trust_env=False: an HTTP(S)_PROXY from the environment would route off the machine.
            async with httpx.AsyncClient(
                timeout=ATTEMPT_TIMEOUT, follow_redirects=False, trust_env=False, verify=_tls()
            ) as client:
                self.requests_sent += 1
                self.requests_by_host[(urlsplit(hook["url"]).hostname or "").lower()] += 1
                response = await client.post(hook["url"], content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"unreachable: {type(exc).__name__}: {exc}"[:500]
        finally:
            log.debug("webhook POST %s took %.3fs", hook["url"], time.monotonic() - started)
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"the endpoint answered HTTP {response.status_code}"

    def _announce_failure(
        self, hook: Dict[str, Any], event: Dict[str, Any], attempts: int, error: Optional[str]
    ) -> None:
        self.emulator.events.publish(
            FAILED_KIND,
            organization_id=hook["organization_id"],
            data={
                "webhook_id": hook["id"],
                "event_id": str(event.get("id", "")),
                "event_kind": event["kind"],
                "attempts": attempts,
                "error": error,
            },
        )

    # ------------------------------------------------------------------ restarts
    def _resume(self) -> None:
        """Attempts cut short by a stop count as failed; their retries carry on."""
        store = self.emulator.store
        for record in store.find(DELIVERIES, where={"status": "pending"}):
            self._finish(record, "failed", None, "interrupted by an emulator restart")
            hook = store.get(WEBHOOKS, record["webhook_id"])
            if hook is None or record["attempt"] > int(hook.get("max_retries", DEFAULT_MAX_RETRIES)):
                continue
            try:
                event_id = int(record["event_id"])
            except ValueError:
                continue
            found = store.events_after(event_id - 1, limit=1)
            if found and found[0]["id"] == record["event_id"]:
                self.emulator.spawn(
                    self._deliver(hook["id"], found[0], record["attempt"] + 1), name=f"webhook {hook['id']}"
                )


def _filter_matches(resource_filter: Dict[str, Any], context: Dict[str, Any]) -> bool:
    """Every key must match: equal to the value, or one of the values when a list is given."""
    for key, wanted in resource_filter.items():
        actual = context.get(key)
        if isinstance(wanted, list):
            if actual not in wanted:
                return False
        elif isinstance(wanted, str) and any(c in wanted for c in "*?["):
            if not isinstance(actual, str) or not fnmatch.fnmatchcase(actual, wanted):
                return False
        elif actual != wanted:
            return False
    return True


def dispatcher_of(emulator: Emulator) -> Dispatcher:
    if emulator.webhook_dispatcher is None:
        emulator.webhook_dispatcher = Dispatcher(emulator)
    return emulator.webhook_dispatcher
