"""``fabric webhooks listen --forward-to URL``: real webhook deliveries, to your laptop.

It follows the organization's event stream and POSTs each event to URL exactly as Fabric
delivers a webhook: the same JSON body, ``X-Fabric-Signature: sha256=<HMAC>``,
``X-Fabric-Event`` and ``X-Fabric-Delivery``. The signing secret it prints is what your
handler passes to ``fabric_platform.webhooks.verify_signature``. Only loopback targets are
allowed unless ``--allow-host`` names the host: events are data about your organization.

Only events from the moment it starts are forwarded (the stream begins with the log's
backlog; events stamped before the server's clock at start-up, to the second, are skipped).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import uuid
from datetime import datetime, timezone
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit

import click

from fabric_platform.cli._context import State, pass_state
from fabric_platform.cli._errors import EXIT_INTERRUPTED
from fabric_platform.cli._events import iterate, matches, open_stream

__all__ = ["check_target", "delivery", "webhooks"]

USER_AGENT = "Fabric-Webhooks/1 (fabric webhooks listen)"


def _loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_target(url: str, allow_hosts: Tuple[str, ...]) -> str:
    """The URL, once it is an http(s) URL to loopback or to an allowed host.

    Raises:
        click.BadParameter: Otherwise (nothing has been sent).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"expected an http(s) URL, got {url!r}", param_hint="'--forward-to'")
    host = parts.hostname
    allowed = {h.lower() for h in allow_hosts}
    if not _loopback(host) and host.lower() not in allowed:
        raise click.BadParameter(
            f"{host} is not a loopback address; add --allow-host {host} to forward there",
            param_hint="'--forward-to'",
        )
    return url


def delivery(event: Mapping[str, Any], secret: str) -> Tuple[bytes, Dict[str, str]]:
    """The body and headers of one delivery, byte for byte what the platform sends."""
    from fabric_platform.webhooks import SIGNATURE_HEADER, compute_signature

    body = json.dumps(dict(event), separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: compute_signature(body, secret),
        "X-Fabric-Event": str(event.get("kind", "")),
        "X-Fabric-Delivery": str(uuid.uuid4()),
    }
    return body, headers


def _parse_time(value: Any) -> Optional[datetime]:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _server_now(client: Any) -> datetime:
    """The server's clock (its Date header), so only events from now on are forwarded.

    The organization stream starts with the events already logged; those were delivered
    (or not) long ago and must not hit the handler again. The header has whole seconds, so
    the cut is made at the start of the current second.
    """
    from email.utils import parsedate_to_datetime

    try:
        answer = client.with_raw_response.health_check()
        date = answer.headers.get("date")
        if date:
            return parsedate_to_datetime(date)
    except Exception:
        pass
    return datetime.now(timezone.utc).replace(microsecond=0)


@click.group()
def webhooks() -> None:
    """Develop webhook handlers locally."""


@webhooks.command()
@click.option("--forward-to", "url", required=True, metavar="URL", help="Where to POST each event.")
@click.option(
    "--events", "kinds", multiple=True, metavar="PATTERN", help="Only kinds matching (glob, repeatable)."
)
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="HOST", help="Allow a non-loopback host.")
@click.option("--secret-env", metavar="VAR", help="Sign with the secret in this environment variable.")
@click.option("--limit", type=click.IntRange(1), help="Stop after N deliveries.")
@pass_state
def listen(
    state: State,
    url: str,
    kinds: Tuple[str, ...],
    allow_hosts: Tuple[str, ...],
    secret_env: Optional[str],
    limit: Optional[int],
) -> int:
    """Forward the organization's events to URL, signed like real deliveries."""
    import httpx

    target = check_target(url, allow_hosts)
    patterns = tuple(p.strip() for value in kinds for p in value.split(",") if p.strip())
    if secret_env:
        secret = state.environ.get(secret_env, "")
        if not secret:
            raise click.BadParameter(f"${secret_env} is empty or unset", param_hint="'--secret-env'")
    else:
        secret = "whsec_" + secrets.token_hex(24)
        # The one secret this tool prints on purpose: the handler under development needs it.
        click.echo(f"Signing secret: {secret}", err=True)
    since = _server_now(state.client())
    stream = open_stream(state, None, None)
    click.echo(f"Forwarding events to {target} (Ctrl-C to stop)", err=True)
    sent = 0
    # trust_env=False: a proxy from the environment must not carry the events elsewhere.
    with httpx.Client(timeout=10.0, follow_redirects=False, trust_env=False) as http:
        try:
            for event in iterate(stream):
                kind = str(event.get("kind", ""))
                if not matches(kind, patterns):
                    continue
                when = _parse_time(event.get("timestamp"))
                if when is not None and when < since:
                    continue  # from before the listener started
                body, headers = delivery(event, secret)
                try:
                    answer = http.post(target, content=body, headers=headers)
                    status: Any = answer.status_code
                except httpx.HTTPError as exc:
                    status = f"unreachable ({type(exc).__name__})"
                if state.json:
                    state.output.ndjson({"event_id": event.get("id"), "kind": kind, "status": status})
                else:
                    click.echo(f"{kind} {event.get('id', '')} -> {status}")
                sent += 1
                if limit is not None and sent >= limit:
                    break
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
    return 0
