"""The exceptions the SDK raises. All of them subclass :class:`FabricError`.

HTTP errors map by status (wire contract §1)::

    FabricAPIError
    ├── FabricValidationError   400, 422
    ├── FabricAuthError         401
    ├── FabricForbiddenError    403
    ├── FabricNotFoundError     404
    ├── FabricConflictError     409
    ├── FabricRateLimitError    429  (.retry_after)
    └── FabricServerError       5xx

Transport failures are ``FabricConnectionError`` and ``FabricTimeoutError`` (also a
built-in ``TimeoutError``); a 2xx response that is not a JSON envelope is
``FabricResponseError``; ``strict=True`` drift is ``FabricResponseValidationError``; a
download whose size or SHA-256 does not match is ``FabricDownloadError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

if TYPE_CHECKING:
    import httpx

__all__ = [
    "FabricAPIError",
    "FabricAuthError",
    "FabricConflictError",
    "FabricConnectionError",
    "FabricDownloadError",
    "FabricError",
    "FabricForbiddenError",
    "FabricNotFoundError",
    "FabricRateLimitError",
    "FabricResponseError",
    "FabricResponseValidationError",
    "FabricServerError",
    "FabricSignatureError",
    "FabricTimeoutError",
    "FabricValidationError",
]


class FabricError(Exception):
    """Base class of every exception raised by fabric-platform."""


class FabricAPIError(FabricError):
    """The server answered with a non-2xx status.

    Attributes:
        status_code: The HTTP status.
        code: The envelope's ``error.code`` (or a code derived from the status).
        message: The server's human-readable message.
        request_id: The request id (``meta.request_id`` or the ``X-Request-Id`` header).
        details: The envelope's ``error.details``, if any.
        response: The raw ``httpx.Response`` (``e.response.json()`` works).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str,
        request_id: Optional[str] = None,
        details: Optional[Dict[str, Any]] = None,
        response: Optional[httpx.Response] = None,
        method: Optional[str] = None,
        path: Optional[str] = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.details = details
        self.response = response
        self.method = method
        self.path = path
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f"{self.method} {self.path} " if self.method and self.path else ""
        rid = f" (request_id={self.request_id})" if self.request_id else ""
        return f"{where}-> {self.status_code} {self.code}: {self.message}{rid}"


class FabricValidationError(FabricAPIError):
    """400/422: the request was malformed or failed validation; see ``details``."""


class FabricAuthError(FabricAPIError):
    """401: missing, invalid, revoked or expired credentials."""


class FabricForbiddenError(FabricAPIError):
    """403: the principal may not perform this action."""


class FabricNotFoundError(FabricAPIError):
    """404: no such resource is visible to the caller."""


class FabricConflictError(FabricAPIError):
    """409: a state conflict, or an Idempotency-Key reused with a different body."""


class FabricRateLimitError(FabricAPIError):
    """429: too many requests. ``retry_after`` is the server's hint in seconds (or None)."""

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class FabricServerError(FabricAPIError):
    """5xx: the server failed or is unavailable."""


class FabricConnectionError(FabricError):
    """The request never got an HTTP answer (DNS, refused, reset, TLS...)."""


class FabricTimeoutError(FabricConnectionError, TimeoutError):
    """A request, a wait or a stream ran out of time."""


class FabricResponseError(FabricError):
    """A 2xx response whose body is not valid JSON or not a Fabric envelope."""

    def __init__(self, message: str, *, response: Optional[httpx.Response] = None) -> None:
        self.response = response
        super().__init__(message)


class FabricResponseValidationError(FabricResponseError):
    """``strict=True``: a response did not match the spec's schema (server/SDK drift).

    Attributes:
        operation_id: The operation whose response failed validation.
        errors: One dict per problem: ``loc`` (path into ``data``), ``msg`` and ``type``
            (never the offending value, which may be a secret).
    """

    def __init__(
        self,
        message: str,
        *,
        response: Optional[httpx.Response] = None,
        operation_id: Optional[str] = None,
        errors: Optional[List[Dict[str, Any]]] = None,
    ) -> None:
        self.operation_id = operation_id
        self.errors = list(errors or [])
        super().__init__(message, response=response)


class FabricSignatureError(FabricError):
    """A webhook payload's signature is missing, malformed or does not match."""


class FabricDownloadError(FabricError):
    """A downloaded file failed its integrity check; nothing was written to the destination.

    Attributes:
        reason: ``"size"`` (byte count differs from the expected size), ``"sha256"``, or
            ``"range"`` (the server sent a part of the file that was not asked for).
        expected: The expected size (int) or hex digest (str).
        actual: What was received (for ``"size"``, possibly a lower bound: the download is
            abandoned as soon as it exceeds the expected size).
        destination: The path the file would have been written to.
    """

    def __init__(
        self, message: str, *, reason: str, expected: Any, actual: Any, destination: Optional[str] = None
    ) -> None:
        self.reason = reason
        self.expected = expected
        self.actual = actual
        self.destination = destination
        super().__init__(message)
