"""ApiResponse: one successful call's data with its status, headers and request id."""

from __future__ import annotations

from typing import Any, Dict, Optional

import httpx

__all__ = ["ApiResponse"]


class ApiResponse:
    """The outcome of one successful call, with what ``with_raw_response`` exposes.

    Attributes:
        data: The envelope's ``data`` (raw ``bytes`` for download operations).
        status_code: The HTTP status of the final attempt.
        headers: Its response headers.
        request_id: ``meta.request_id`` or the ``X-Request-Id`` header.
        retries_taken: Attempts repeated by the retry policy (0 = first attempt succeeded).
        elapsed: Seconds the whole call took, waits and retries included.
        http_response: The final ``httpx.Response`` (body already read; connection released).
        meta: The envelope's ``meta`` (``total`` for offset pages, ``next_cursor``, ...).
        idempotency_key: The ``Idempotency-Key`` sent, if any.
    """

    # A plain class rather than a dataclass: @dataclass compiles its methods at import time,
    # and with the dataclasses module that was ~2 ms of every `import fabric_platform` (the
    # import rows of BENCHMARKS.md).
    __slots__ = (
        "data",
        "elapsed",
        "headers",
        "http_response",
        "idempotency_key",
        "meta",
        "request_id",
        "retries_taken",
        "status_code",
    )
    _FIELDS = (
        "data",
        "status_code",
        "headers",
        "request_id",
        "retries_taken",
        "elapsed",
        "http_response",
        "meta",
        "idempotency_key",
    )

    def __init__(
        self,
        data: Any,
        status_code: int,
        headers: httpx.Headers,
        request_id: Optional[str],
        retries_taken: int,
        elapsed: float,
        http_response: httpx.Response,
        meta: Optional[Dict[str, Any]] = None,
        idempotency_key: Optional[str] = None,
    ) -> None:
        self.data = data
        self.status_code = status_code
        self.headers = headers
        self.request_id = request_id
        self.retries_taken = retries_taken
        self.elapsed = elapsed
        self.http_response = http_response
        self.meta: Dict[str, Any] = {} if meta is None else meta
        self.idempotency_key = idempotency_key

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS)
        return f"ApiResponse({fields})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApiResponse):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value (as a dataclass)
