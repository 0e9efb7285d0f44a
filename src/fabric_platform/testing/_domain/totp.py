"""HOTP (RFC 4226) and TOTP (RFC 6238), written out with hmac/hashlib.

Defaults match what authenticator apps expect from an ``otpauth://totp/`` URI: SHA-1,
6 digits, 30-second steps, base32 secrets without padding.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from typing import Optional
from urllib.parse import quote, urlencode

DIGITS = 6
PERIOD = 30
ALGORITHMS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def new_secret(nbytes: int = 20) -> str:
    """A random base32 secret (160 bits, the RFC 4226 recommendation), unpadded."""
    return base64.b32encode(secrets.token_bytes(nbytes)).decode("ascii").rstrip("=")


def decode_secret(secret_b32: str) -> bytes:
    cleaned = secret_b32.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS, algorithm: str = "SHA1") -> str:
    """RFC 4226 §5.3: HMAC the 8-byte big-endian counter, dynamic truncation, modulo 10^digits."""
    digest = hmac.new(key, struct.pack(">Q", counter), ALGORITHMS[algorithm]).digest()
    offset = digest[-1] & 0x0F
    code = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(code % (10**digits)).zfill(digits)


def time_step(unix_time: float, period: int = PERIOD) -> int:
    """RFC 6238 §4.2: T = floor((now - T0) / X) with T0 = 0."""
    return int(unix_time // period)


def totp(
    key: bytes, unix_time: float, digits: int = DIGITS, period: int = PERIOD, algorithm: str = "SHA1"
) -> str:
    return hotp(key, time_step(unix_time, period), digits, algorithm)


def match_step(
    key: bytes, code: str, unix_time: float, *, window: int = 1, digits: int = DIGITS, period: int = PERIOD
) -> Optional[int]:
    """The time step ``code`` is valid for (now ± ``window`` steps, for clock skew), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != digits or not code.isdigit():
        return None
    now = time_step(unix_time, period)
    for step in range(now - window, now + window + 1):
        if step >= 0 and hmac.compare_digest(hotp(key, step, digits), code):
            return step
    return None


def otpauth_uri(secret_b32: str, account: str, issuer: str = "Fabric") -> str:
    """``otpauth://totp/<issuer>:<account>?secret=…&issuer=…`` (the Key Uri Format)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {"secret": secret_b32, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": PERIOD}
    )
    return f"otpauth://totp/{label}?{query}"
