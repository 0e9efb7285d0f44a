"""Emails the emulator "sends": stored, never delivered, readable by tests.

Each message is ``{id, kind, to, subject, link, token, created_at, ...}`` with ``kind`` one of
verification, magic_link, invitation, password_recovery. The token is in the message because
a test plays the user who clicks the link.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Dict, List, Optional

if TYPE_CHECKING:
    from .clock import Clock
    from .store import Store

KINDS = ("verification", "magic_link", "invitation", "password_recovery")
_SUBJECTS = {
    "verification": "Verify your email",
    "magic_link": "Your sign-in link",
    "invitation": "You have been invited",
    "password_recovery": "Reset your password",
}


class Outbox:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def send(self, kind: str, *, to: str, link: str, token: str, **extra: Any) -> Dict[str, Any]:
        if kind not in KINDS:
            raise ValueError(f"unknown email kind {kind!r}")
        message = {
            "id": str(uuid.uuid4()),
            "kind": kind,
            "to": to.lower(),
            "subject": _SUBJECTS[kind],
            "link": link,
            "token": token,
            "created_at": self._clock.now_iso(),
            **extra,
        }
        return self._store.insert("outbox", message)

    def messages(self, *, kind: Optional[str] = None, to: Optional[str] = None) -> List[Dict[str, Any]]:
        where: Dict[str, Any] = {}
        if kind:
            where["kind"] = kind
        if to:
            where["to"] = to.lower()
        return self._store.find("outbox", where=where or None)
