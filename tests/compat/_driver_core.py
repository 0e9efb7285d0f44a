"""Step runner for the compatibility drivers (runs inside a throwaway venv, never in ours).

The drivers import the *public* ``fabric_platform`` package installed in that venv, so nothing
here may import our SDK. Connection facts come in through the environment (never argv: the
API key is a secret); results go out as one JSON document on stdout.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import json
import os
import struct
import sys
import threading
import time
import traceback
from typing import Any, Callable, Dict, List, Optional

# Public methods that never make a request (local state and URL builders).
LOCAL_METHODS = {
    "close",
    "get_organization_id",
    "get_team_id",
    "get_user_id",
    "set_organization_id",
    "set_team_id",
    "set_user_id",
    "social_login_url",
    "auth.social_login_url",
}


def public_methods(client: Any) -> List[str]:
    """Every public method reachable from ``client``, namespaces as dotted paths."""
    found: List[str] = []

    def walk(obj: Any, prefix: str, seen: set) -> None:
        for name, member in inspect.getmembers(type(obj)):
            if name.startswith("_") or isinstance(member, property):
                continue
            if inspect.isfunction(member):
                found.append(prefix + name)
        for name, value in vars(obj).items():
            if name.startswith("_") or id(value) in seen:
                continue
            if type(value).__module__.startswith("fabric_platform."):
                seen.add(id(value))
                walk(value, prefix + name + ".", seen)

    walk(client, "", set())
    return sorted(found)


def totp_code(secret_b32: str, at: Optional[float] = None) -> str:
    """RFC 6238 code (SHA-1, 6 digits, 30 s) for a base32 secret."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def first_event(
    iterator_factory: Callable[[], Any], trigger: Optional[Callable[[], Any]] = None, timeout: float = 20.0
) -> Dict[str, Any]:
    """Read one event from an SSE iterator in a thread (optionally causing one), bounded in time."""
    box: Dict[str, Any] = {}

    def consume() -> None:
        stream = None
        try:
            stream = iterator_factory()
            for event in stream:
                box["event"] = event
                break
        except BaseException as exc:  # reported by the caller
            box["error"] = exc
        finally:
            close = getattr(stream, "close", None)
            if close is not None:  # give the connection back
                close()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    if trigger is not None:
        time.sleep(0.3)  # the stream must be open before the event it waits for
        trigger()
    thread.join(timeout)
    if "error" in box:
        raise box["error"]
    if "event" not in box:
        raise TimeoutError("no event within the time limit")
    return box["event"]


class Runner:
    """Runs named steps, records each method's first outcome, and reports coverage."""

    def __init__(self, version: str, client: Any) -> None:
        self.version = version
        self.methods = [m for m in public_methods(client) if m not in LOCAL_METHODS]
        self.local = [m for m in public_methods(client) if m in LOCAL_METHODS]
        self.results: Dict[str, Dict[str, Any]] = {}
        self.ctx: Dict[str, Any] = {}

    def run(self, name: str, fn: Callable[[], Any], *, expect: Optional[str] = None) -> Any:
        """Call ``fn`` as the test of method ``name``; ``expect`` names a deliberate error class."""
        print(f"step {name}", file=sys.stderr, flush=True)  # the last line names a hung step
        try:
            value = fn()
        except BaseException as exc:  # every failure is data for the table
            kind = type(exc).__name__
            if expect is not None and kind in expect.split("|"):
                self._record(name, True, f"expected {kind}")
                return None
            detail = f"{kind}: {str(exc)[:300]}"
            if not hasattr(exc, "status_code") and not kind.startswith("HTTP"):
                detail += " | " + traceback.format_exc(limit=3).replace("\n", " ")[-400:]
            self._record(name, False, detail)
            return None
        if expect is not None:
            self._record(name, False, f"expected {expect}, got success")
            return value
        self._record(name, True, "")
        return value

    def _record(self, name: str, ok: bool, detail: str) -> None:
        if name not in self.results:  # a method's first call is what a new user sees
            self.results[name] = {"ok": ok, "detail": detail}

    def report(self) -> None:
        # "name[case]" records a further case of a method (a deliberate negative, say).
        covered = {name.split("[", 1)[0] for name in self.results}
        uncovered = [m for m in self.methods if m not in covered]
        unknown = sorted(covered - set(self.methods))
        json.dump(
            {
                "version": self.version,
                "methods": self.methods,
                "results": self.results,
                "uncovered": uncovered,
                "unknown": unknown,
            },
            sys.stdout,
        )


def env(name: str) -> str:
    return os.environ["FABRIC_COMPAT_" + name]
