"""Signed download URLs for run artifacts.

A download URL must work without credentials (it is handed to browsers, ffmpeg, `curl`), so
the only thing protecting it is a MAC: HMAC-SHA256 over ``"<artifact id>:<expires>"`` with a
secret that belongs to this emulator instance. ``expires`` is a Unix timestamp taken from the
emulator clock, so ``LocalFabric.advance_time`` makes URLs expire the way wall time would.

The secret is persisted in the store (when one is given) so that URLs issued before a restart
of a file-backed emulator keep working afterwards, as they would against the real service.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timezone
from typing import Any, Optional, Tuple
from urllib.parse import quote, urlencode

__all__ = [
    "DEFAULT_EXPIRES_IN",
    "MAX_EXPIRES_IN",
    "SignatureInvalid",
    "UrlSigner",
    "download_path",
]

DEFAULT_EXPIRES_IN = 3600
MAX_EXPIRES_IN = 86400

# Where the secret lives in the store's meta table.
_SECRET_KEY = "artifact_download_signing_secret"


class SignatureInvalid(Exception):
    """The URL's signature does not match, is malformed, or has expired (the route answers 403)."""


def download_path(artifact_id: str) -> str:
    """The path the signed URLs point at (served without authentication)."""
    return f"/v1/workflows/artifacts/{quote(artifact_id, safe='')}/download"


def _to_iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class UrlSigner:
    """Issues and checks signed artifact URLs."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("signing secret must be at least 16 bytes")
        self._secret = secret

    @classmethod
    def from_store(cls, store: Any) -> UrlSigner:
        """Load this emulator's secret from the store, creating it on first use."""
        secret = store.get_meta(_SECRET_KEY)
        if secret is None:
            secret = secrets.token_hex(32)
            store.set_meta(_SECRET_KEY, secret)
        return cls(bytes.fromhex(secret))

    def signature(self, artifact_id: str, expires: int) -> str:
        message = f"{artifact_id}:{int(expires)}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def sign(self, base_url: str, artifact_id: str, *, now: datetime, expires_in: int) -> Tuple[str, str]:
        """Return ``(absolute url, expires_at as RFC 3339)`` for ``expires_in`` seconds from ``now``."""
        expires = int(now.timestamp()) + int(expires_in)
        query = urlencode({"expires": expires, "signature": self.signature(artifact_id, expires)})
        return f"{base_url.rstrip('/')}{download_path(artifact_id)}?{query}", _to_iso(expires)

    def verify(
        self, artifact_id: str, expires: Optional[str], signature: Optional[str], *, now: datetime
    ) -> None:
        """Raise :class:`SignatureInvalid` unless the pair was issued by us and is still valid."""
        if not expires or not signature:
            raise SignatureInvalid("the download URL is missing its signature")
        try:
            expires_ts = int(expires)
        except ValueError:
            raise SignatureInvalid("the download URL's expiry is malformed") from None
        expected = self.signature(artifact_id, expires_ts).encode()
        # Constant-time comparison (the signature is the only secret-derived thing on the wire),
        # on bytes: compare_digest refuses non-ASCII str, and a URL may carry anything.
        given = signature.lower().encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(expected, given):
            raise SignatureInvalid("the download URL's signature does not match")
        if now.timestamp() >= expires_ts:
            raise SignatureInvalid("the download URL has expired")
