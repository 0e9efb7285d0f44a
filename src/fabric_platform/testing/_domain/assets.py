"""Asset bytes on disk, and the signed URLs that download them without credentials.

Metadata lives in the store (kind ``assets``); the bytes live in files, one per asset, so a
large upload costs disk rather than database or memory, and downloads stream from the file.
A file-backed emulator keeps them next to its database (``<db>.assets/``) so they survive a
restart; an in-memory one uses a temporary directory removed when the emulator goes away.

Signed URLs point at ``GET /v1/assets/{id}`` itself (no extra endpoint) with ``expires`` (Unix
time on the emulator clock) and ``signature`` = HMAC-SHA256 of ``"asset:<id>:<expires>"`` under
the emulator's persistent signing key. ``advance_time`` makes them expire like wall time would.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import tempfile
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Tuple
from urllib.parse import urlencode

from .._infra.http import ApiError

if TYPE_CHECKING:
    from .._state import Emulator

ASSETS = "assets"
DEFAULT_TTL = 3600
MAX_TTL = 7 * 24 * 3600


class AssetFiles:
    def __init__(self, emulator: Emulator) -> None:
        db_path = emulator.config.db_path
        if db_path:
            self.root = Path(f"{db_path}.assets")
            self.root.mkdir(parents=True, exist_ok=True)
        else:
            self.root = Path(tempfile.mkdtemp(prefix="fabric-emulator-assets-"))
            # Removed when the emulator is collected or the process exits, whichever first.
            weakref.finalize(emulator, shutil.rmtree, str(self.root), True)

    def path(self, asset_id: str) -> Path:
        return self.root / asset_id

    def write(self, asset_id: str, data: bytes) -> Tuple[int, str]:
        """Store the bytes (atomically: a partial file is never visible); (size, sha256)."""
        target = self.path(asset_id)
        fd, tmp = tempfile.mkstemp(dir=str(self.root), prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return len(data), hashlib.sha256(data).hexdigest()

    def delete(self, asset_id: str) -> None:
        try:
            self.path(asset_id).unlink()
        except FileNotFoundError:
            pass


def files_of(emulator: Emulator) -> AssetFiles:
    if emulator.asset_files is None:
        emulator.asset_files = AssetFiles(emulator)
    return emulator.asset_files


def _signature(emulator: Emulator, asset_id: str, expires: int) -> str:
    message = f"asset:{asset_id}:{int(expires)}".encode()
    return hmac.new(emulator.signing_key, message, hashlib.sha256).hexdigest()


def signed_url(emulator: Emulator, base_url: str, asset_id: str, ttl: int) -> Tuple[str, str]:
    """(absolute URL, expires_at) for ``ttl`` seconds from now on the emulator clock."""
    expires = int(emulator.clock.now().timestamp()) + int(ttl)
    query = urlencode({"expires": expires, "signature": _signature(emulator, asset_id, expires)})
    expires_at = datetime.fromtimestamp(expires, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{base_url.rstrip('/')}/v1/assets/{asset_id}?{query}", expires_at


def check_signed(emulator: Emulator, asset_id: str, expires: Optional[str], signature: Optional[str]) -> None:
    """Raise 403 unless (expires, signature) was issued for this asset and has not expired."""
    try:
        expires_ts = int(expires or "")
    except ValueError:
        raise ApiError(403, "forbidden", "The signed URL is malformed.") from None
    expected = _signature(emulator, asset_id, expires_ts)
    # Constant time: the signature is the only secret-derived value on the wire. Bytes, because
    # compare_digest refuses non-ASCII str (a garbage signature must be a 403, not a crash).
    given = (signature or "").lower().encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(expected.encode("ascii"), given):
        raise ApiError(403, "forbidden", "The signed URL's signature does not match.")
    if emulator.clock.now().timestamp() >= expires_ts:
        raise ApiError(403, "forbidden", "The signed URL has expired.")
