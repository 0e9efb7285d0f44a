"""The ``fabric_platform`` logger and the redaction that keeps secrets out of it.

Everything the pipeline logs or puts into an exception message passes through the helpers
here, so there is one list of what counts as secret. Redaction works on structure (header
names, JSON keys, query names) and, for free text such as a server's error message, by
scrubbing the literal secret values the current request carried.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

__all__ = [
    "REDACTED",
    "SECRET_FIELDS",
    "SECRET_HEADERS",
    "collect_secrets",
    "configure_from_env",
    "logger",
    "redact_body",
    "redact_headers",
    "redact_query",
    "scrub",
    "scrub_value",
]

logger = logging.getLogger("fabric_platform")
# A library must not print anything unless the application configures logging; without this
# handler Python's "last resort" handler would print our WARNINGs to stderr.
logger.addHandler(logging.NullHandler())

REDACTED = "[REDACTED]"

# Header names are compared lower-cased.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-fabric-signature",
    }
)

# JSON body fields (and query parameters) whose values are secrets, compared lower-cased.
# ``value`` is the write-only secret value of set_secret; ``code`` is a TOTP/recovery code;
# ``key`` is a freshly created API key; ``otpauth_uri`` embeds the TOTP seed.
SECRET_FIELDS = frozenset(
    {
        "password",
        "new_password",
        "current_password",
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "key",
        "api_key",
        "secret",
        "client_secret",
        "webhook_secret",
        "value",
        "code",
        "recovery_codes",
        "otpauth_uri",
        "authorization",
    }
)

# Scrubbing very short strings out of free text would mangle messages ("on" in "connection")
# while protecting nothing real: credentials, tokens and TOTP codes are all longer.
_MIN_SCRUB_LENGTH = 4

_ENV_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_handler_installed = False


def configure_from_env(environ: Mapping[str, str]) -> None:
    """Turn on logging to stderr when ``FABRIC_LOG`` is ``debug`` or ``info``.

    Idempotent: several clients created in one process install one handler.

    Args:
        environ: The environment to read ``FABRIC_LOG`` from.
    """
    global _handler_installed
    level = _ENV_LEVELS.get(environ.get("FABRIC_LOG", "").strip().lower())
    if level is None:
        return
    logger.setLevel(level)
    if not _handler_installed:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(asctime)s %(name)s %(levelname)s] %(message)s"))
        logger.addHandler(handler)
        _handler_installed = True


def redact_headers(headers: Iterable[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """Header pairs with secret values replaced.

    Args:
        headers: ``(name, value)`` pairs (e.g. ``httpx.Headers.items()``).

    Returns:
        The same pairs, secret header values replaced by ``[REDACTED]``.
    """
    return [(k, REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers]


def redact_body(value: Any) -> Any:
    """A deep copy of a JSON-like value with secret fields replaced, at any depth.

    Args:
        value: A decoded JSON value (dicts, lists, scalars).

    Returns:
        The value with every secret field's value replaced by ``[REDACTED]``.
    """
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and k.lower() in SECRET_FIELDS else redact_body(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact_body(v) for v in value]
    return value


def redact_query(params: Sequence[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """Query pairs with secret parameters (``?token=…``) replaced.

    Args:
        params: ``(name, value)`` pairs.

    Returns:
        The pairs, secret values replaced by ``[REDACTED]``.
    """
    return [(k, REDACTED if k.lower() in SECRET_FIELDS else v) for k, v in params]


def collect_secrets(*, headers: Mapping[str, str], body: Any, params: Sequence[Tuple[str, str]]) -> Set[str]:
    """The literal secret strings one request carries, for :func:`scrub`.

    Args:
        headers: The request headers (the credential is taken from ``Authorization``).
        body: The decoded JSON body, if any.
        params: The query pairs.

    Returns:
        The set of secret strings worth scrubbing from free text.
    """
    found: Set[str] = set()
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            found.add(value)
            # "Bearer <token>": the token alone may be echoed without the scheme.
            found.add(value.split(" ", 1)[-1])
    for name, value in params:
        if name.lower() in SECRET_FIELDS:
            found.add(value)
    _collect_body(body, found)
    return {s for s in found if len(s) >= _MIN_SCRUB_LENGTH}


def _collect_body(value: Any, found: Set[str]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(k, str) and k.lower() in SECRET_FIELDS:
                _collect_strings(v, found)
            else:
                _collect_body(v, found)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _collect_body(v, found)


def _collect_strings(value: Any, found: Set[str]) -> None:
    if isinstance(value, str):
        found.add(value)
    elif isinstance(value, Mapping):
        for v in value.values():
            _collect_strings(v, found)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _collect_strings(v, found)


def scrub(text: str, secrets: Optional[Iterable[str]]) -> str:
    """Replace every occurrence of the given secret strings in free text.

    Used on server error messages and transport exception texts before they become part of
    an exception message: a server that echoes a rejected password must not leak it into
    application logs.

    Args:
        text: The text to clean.
        secrets: Literal secret values (longest are replaced first).

    Returns:
        The text with each secret replaced by ``[REDACTED]``.
    """
    if not secrets or not text:
        return text
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def scrub_value(value: Any, secrets: Optional[Iterable[str]]) -> Any:
    """:func:`scrub` applied to every string inside a JSON-like value (e.g. error ``details``).

    Args:
        value: A decoded JSON value.
        secrets: Literal secret values.

    Returns:
        A copy with the secrets replaced.
    """
    if not secrets:
        return value
    secret_list = list(secrets)
    if isinstance(value, str):
        return scrub(value, secret_list)
    if isinstance(value, Mapping):
        return {k: scrub_value(v, secret_list) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_value(v, secret_list) for v in value]
    return value
