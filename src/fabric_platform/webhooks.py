"""Verify the webhooks Fabric sends to your endpoint.

Fabric signs each delivery with the webhook's secret and sends the result as
``X-Fabric-Signature: sha256=<hex HMAC-SHA256 of the raw body>``. Verify against
the *raw* request body: re-serialising parsed JSON changes bytes and breaks the
signature.

Example::

    from fabric_platform.webhooks import construct_event
    from fabric_platform.errors import FabricSignatureError

    try:
        event = construct_event(request.body, request.headers.get("X-Fabric-Signature"), secret)
    except FabricSignatureError:
        return 400
    if event["kind"] == "workflow.run.completed":
        ...
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Dict, Optional, Union

from fabric_platform.errors import FabricSignatureError

__all__ = ["SIGNATURE_HEADER", "compute_signature", "construct_event", "verify_signature"]

SIGNATURE_HEADER = "X-Fabric-Signature"
_PREFIX = "sha256="
_HEX_DIGITS = frozenset("0123456789abcdef")
_DIGEST_HEX_LENGTH = 64


def _body_bytes(raw_body: Union[bytes, bytearray, memoryview, str]) -> bytes:
    if isinstance(raw_body, str):
        return raw_body.encode("utf-8")
    if isinstance(raw_body, (bytes, bytearray, memoryview)):
        return bytes(raw_body)
    raise TypeError(f"raw_body must be bytes or str, not {type(raw_body).__name__}")


def compute_signature(raw_body: Union[bytes, str], secret: str) -> str:
    """Compute the ``X-Fabric-Signature`` header value for a body.

    Args:
        raw_body: The exact request body (a str is encoded as UTF-8).
        secret: The webhook's signing secret.

    Returns:
        ``"sha256=<64 lowercase hex digits>"``.

    Raises:
        TypeError: ``raw_body`` is not bytes/str or ``secret`` is not a str.
        UnicodeEncodeError: A str argument holds lone surrogates (not encodable as UTF-8).
    """
    if not isinstance(secret, str):
        raise TypeError(f"secret must be a str, not {type(secret).__name__}")
    return _PREFIX + _hex_digest(_body_bytes(raw_body), secret)


def _hex_digest(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _problem(raw_body: object, signature: object, secret: object) -> Optional[str]:
    """Why the signature does not verify, or None when it does.

    The texts name the problem only: never the secret, never the expected signature.
    """
    if not isinstance(secret, str) or not secret:
        # An empty key makes every signature forgeable; most likely a missing setting.
        return "no webhook secret is configured"
    if not isinstance(raw_body, (bytes, bytearray, memoryview, str)):
        return "the webhook body must be the raw request body (bytes or str)"
    if signature is None or (isinstance(signature, str) and not signature.strip()):
        return f"the {SIGNATURE_HEADER} header is missing"
    if not isinstance(signature, str):
        return f"the {SIGNATURE_HEADER} header must be a str"
    value = signature.strip()
    if not value.startswith(_PREFIX):
        return f"the {SIGNATURE_HEADER} header is malformed: expected 'sha256=<hex digest>'"
    digest = value[len(_PREFIX) :].lower()
    if len(digest) != _DIGEST_HEX_LENGTH or not _HEX_DIGITS.issuperset(digest):
        return f"the {SIGNATURE_HEADER} header is malformed: expected {_DIGEST_HEX_LENGTH} hex digits after 'sha256='"
    try:
        expected = _hex_digest(_body_bytes(raw_body), secret)
    except UnicodeEncodeError:  # lone surrogates: cannot be what came over HTTP
        return "the webhook body or secret is not encodable as UTF-8"
    # compare_digest: the time taken must not reveal how many leading digits matched.
    if not hmac.compare_digest(digest, expected):
        return "the signature does not match the payload (wrong secret or altered body)"
    return None


_NOT_JSON = object()


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError:  # includes UnicodeDecodeError and JSONDecodeError
        return _NOT_JSON


def verify_signature(raw_body: Union[bytes, str], signature: Optional[str], secret: str) -> bool:
    """Check a webhook signature in constant time.

    Args:
        raw_body: The exact request body as received.
        signature: The ``X-Fabric-Signature`` header value (``None`` if absent).
        secret: The webhook's signing secret.

    Returns:
        True only for a well-formed header that matches. Missing or malformed headers,
        an empty secret and arguments of the wrong type all give False; this function
        never raises.
    """
    return _problem(raw_body, signature, secret) is None


def construct_event(raw_body: Union[bytes, str], signature: Optional[str], secret: str) -> Dict[str, Any]:
    """Verify a webhook delivery and return its event.

    Args:
        raw_body: The exact request body as received.
        signature: The ``X-Fabric-Signature`` header value (``None`` if absent).
        secret: The webhook's signing secret.

    Returns:
        The event JSON object (``{id, kind, organization_id, data, timestamp, ...}``).

    Raises:
        FabricSignatureError: The header is missing or malformed, the signature does not
            match, or the verified body is not a JSON object. The message says which;
            it never contains the secret.
    """
    problem = _problem(raw_body, signature, secret)
    if problem is not None:
        raise FabricSignatureError(problem)
    event = _parse_json(_body_bytes(raw_body))
    if event is _NOT_JSON:
        # Raised outside the except block on purpose: the decoder's exception keeps the
        # whole body (``.doc``) and would travel along as ``__context__``.
        raise FabricSignatureError("the webhook body is not valid UTF-8 JSON")
    if not isinstance(event, dict):
        raise FabricSignatureError(f"the webhook body is JSON but not an object (got {type(event).__name__})")
    return event
