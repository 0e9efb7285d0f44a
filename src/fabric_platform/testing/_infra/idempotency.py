"""Idempotency-Key bookkeeping: the first successful response to a key, replayed on retries.

A record is scoped per principal (so two users may pick the same key) and keyed by
``Idempotency-Key``; it remembers a fingerprint of the request (method, path, query, body)
and the response. Within the TTL (24 h of emulator time) the same key with the same
fingerprint replays the stored response; another fingerprint is 409 ``idempotency_key_reused``.

Answers of token rotations (``POST /v1/auth/token/refresh``, ``/v1/oauth/token``) are
replayed for one minute only: long enough for a client whose answer was lost to get it
again, short enough that a stolen, already spent refresh token meets reuse detection (401,
family revoked) instead of a replay of the live token pair for a day.

Only 2xx responses are stored: a failed attempt (401, 429, 5xx, …) leaves the key free, so
the retry that follows does the work. While the first request is still running, a concurrent
retry waits for it instead of doing the work twice.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from .clock import iso, parse_iso

if TYPE_CHECKING:
    from .clock import Clock
    from .store import Store

KIND = "idempotency_keys"


@dataclass
class StoredResponse:
    status: int
    headers: List[Tuple[str, str]]
    body: bytes


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotencyKeys:
    def __init__(self, store: Store, clock: Clock, ttl_seconds: float = 24 * 3600) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl_seconds
        self._in_flight: Dict[str, asyncio.Event] = {}

    @staticmethod
    def record_id(scope: str, key: str) -> str:
        return hashlib.sha256(f"{scope}\x00{key}".encode()).hexdigest()

    def lookup(self, record_id: str, fp: str) -> Tuple[str, Optional[StoredResponse]]:
        """("replay", response) | ("conflict", None) | ("new", None)."""
        record = self._store.get(KIND, record_id)
        if record is None or parse_iso(record["expires_at"]) <= self._clock.now():
            return "new", None
        if record["fingerprint"] != fp:
            return "conflict", None
        return "replay", StoredResponse(
            status=record["status"],
            headers=[(k, v) for k, v in record["headers"]],
            body=base64.b64decode(record["body"]),
        )

    async def wait_if_in_flight(self, record_id: str) -> None:
        while record_id in self._in_flight:
            await self._in_flight[record_id].wait()

    def begin(self, record_id: str) -> None:
        self._in_flight[record_id] = asyncio.Event()

    def finish(
        self, record_id: str, fp: str, response: Optional[StoredResponse], *, ttl: Optional[float] = None
    ) -> None:
        """End the in-flight attempt; store ``response`` when it is a success.

        ``ttl`` shortens the replay window (seconds) for answers that must not be handed out
        for a day, such as freshly rotated tokens.
        """
        try:
            if response is not None and 200 <= response.status < 300:
                self._store.put(
                    KIND,
                    {
                        "id": record_id,
                        "fingerprint": fp,
                        "status": response.status,
                        "headers": [list(h) for h in response.headers],
                        "body": base64.b64encode(response.body).decode(),
                        "created_at": self._clock.now_iso(),
                        "expires_at": iso(
                            self._clock.now() + timedelta(seconds=self._ttl if ttl is None else ttl)
                        ),
                    },
                )
        finally:
            event = self._in_flight.pop(record_id, None)
            if event is not None:
                event.set()
