"""One file's transfer: bytes received, SHA-256 so far, resume or restart, integrity verdict.

Shared by the sync and the async client's download loops (no I/O here): a loop feeds it
each response and chunk, and asks it what to request next, how long to wait after a
mid-body failure (the API calls' retry policy) and whether the file is complete and intact.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any, Dict, Optional

import httpx

from fabric_platform._core.retry import API_POLICY
from fabric_platform.errors import FabricConnectionError, FabricDownloadError, FabricError, FabricTimeoutError

__all__ = ["Transfer", "map_transport_error", "non_negative_int"]

# RFC 9530 Repr-Digest / RFC 3230 Digest: "sha-256=:<base64>:" or "SHA-256=<base64>".
_DIGEST = re.compile(r"sha-256=:?([A-Za-z0-9+/=]+):?", re.IGNORECASE)


def non_negative_int(value: Any) -> Optional[int]:
    """``value`` when it is a size (an int, not a bool, at least 0); else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _digest_header(headers: httpx.Headers) -> Optional[str]:
    for name in ("repr-digest", "digest"):
        match = _DIGEST.search(headers.get(name, ""))
        if match:
            try:
                raw = base64.b64decode(match.group(1), validate=True)
            except ValueError:
                continue
            if len(raw) == 32:
                return raw.hex()
    return None


def _content_range_start(value: Optional[str]) -> Optional[int]:
    match = re.match(r"\s*bytes\s+(\d+)-\d+/(?:\d+|\*)\s*$", value or "")
    return int(match.group(1)) if match else None


class Transfer:
    """One file's download state: offsets, hash, expectations, retry and resume decisions.

    Args:
        expected_size: Bytes the file must have, if known.
        expected_sha256: Its hex digest, if known.
        max_retries: Consecutive failures (without new bytes) tolerated mid-body.
    """

    def __init__(
        self,
        *,
        expected_size: Optional[int],
        expected_sha256: Optional[str],
        max_retries: int,
    ) -> None:
        self.expected_size = expected_size
        self.expected_sha256 = expected_sha256.lower() if expected_sha256 else None
        self.max_retries = max_retries
        self.received = 0
        self.total: Optional[int] = expected_size
        self.failures = 0
        self.high_water = 0
        self.destination: Optional[str] = None
        self._hash = hashlib.sha256()
        self._resumable = False
        self._validator: Optional[str] = None

    def request_headers(self) -> Dict[str, str]:
        """Headers for the next attempt: a Range request when resuming is possible.

        ``If-Range`` makes the server send the whole file (200) instead if it changed.
        """
        if self.received and self._resumable and self._validator:
            return {"Range": f"bytes={self.received}-", "If-Range": self._validator}
        return {}

    def begin(self, response: httpx.Response) -> bool:
        """Read a 2xx response's headers. Returns True when the body starts over at byte 0.

        Raises:
            FabricDownloadError: The server announces a size other than the expected one.
        """
        headers = response.headers
        encoded = headers.get("content-encoding", "identity").lower() not in ("", "identity")
        length = None if encoded else non_negative_int(_to_int(headers.get("content-length")))
        start = _content_range_start(headers.get("content-range"))
        restart = True
        if response.status_code == 206 and self.received and start == self.received:
            restart = False
            announced = None if length is None else self.received + length
        elif response.status_code == 206 and start != 0:
            # Part of a file we did not ask for: appending it would corrupt the download.
            self._mismatch("range", self.received, start)
        else:
            announced = length
        if restart:
            self.received = 0
            self._hash = hashlib.sha256()
        if self.expected_sha256 is None:
            self.expected_sha256 = _digest_header(headers) if not encoded else None
        if announced is not None:
            if self.expected_size is not None and announced != self.expected_size:
                self._mismatch("size", self.expected_size, announced)
            self.total = announced
        # Resume only with a strong validator to send as If-Range: without one, the rest
        # of a file that changed meanwhile could be spliced onto the start of the old one.
        self._validator = headers.get("etag") or headers.get("last-modified")
        self._resumable = (
            headers.get("accept-ranges", "").lower() == "bytes"
            and not encoded
            and bool(self._validator)
            and not (self._validator or "").startswith("W/")
        )
        return restart

    def feed(self, chunk: bytes) -> None:
        """Account for a chunk before it is written.

        Raises:
            FabricDownloadError: The body is already larger than the expected size.
        """
        self.received += len(chunk)
        self._hash.update(chunk)
        if self.expected_size is not None and self.received > self.expected_size:
            self._mismatch("size", self.expected_size, self.received)

    def verify(self) -> None:
        """Check the complete body against what was expected.

        Raises:
            FabricDownloadError: Size or SHA-256 differ.
        """
        if self.expected_size is not None and self.received != self.expected_size:
            self._mismatch("size", self.expected_size, self.received)
        if self.expected_sha256 is not None:
            actual = self._hash.hexdigest()
            if actual != self.expected_sha256:
                self._mismatch("sha256", self.expected_sha256, actual)

    def after_failure(self, error: BaseException) -> float:
        """A mid-body failure: the delay before retrying, or raise when out of retries.

        Failures only count while no byte beyond the furthest offset reached arrives, so a
        long download over a flaky link keeps going as long as it makes progress.
        """
        if self.received > self.high_water:
            self.high_water = self.received
            self.failures = 0
        self.failures += 1
        if self.failures > self.max_retries:
            raise map_transport_error(error, "the download failed") from error
        return API_POLICY.backoff(self.failures - 1)

    def _mismatch(self, reason: str, expected: Any, actual: Any) -> None:
        what = {"size": "size", "sha256": "SHA-256", "range": "byte range start"}[reason]
        unit = " bytes" if reason == "size" else ""
        raise FabricDownloadError(
            f"downloaded file {what} mismatch: expected {expected}{unit}, got {actual}{unit}"
            + (f" (nothing was written to {self.destination})" if self.destination else ""),
            reason=reason,
            expected=expected,
            actual=actual,
            destination=self.destination,
        )


def _to_int(value: Optional[str]) -> Optional[int]:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def map_transport_error(error: BaseException, what: str) -> FabricError:
    """The SDK's exception for a raw httpx failure (Fabric errors pass through)."""
    if isinstance(error, FabricError):
        return error
    if isinstance(error, httpx.TimeoutException):
        return FabricTimeoutError(f"{what}: {type(error).__name__}")
    return FabricConnectionError(f"{what}: {type(error).__name__}: {error}")


# --------------------------------------------------------------------------- planning (shared)
