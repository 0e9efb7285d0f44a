"""Webhook signature verification (wire contract §1, Webhooks)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, List

import pytest

from fabric_platform.errors import FabricSignatureError
from fabric_platform.webhooks import compute_signature, construct_event, verify_signature

SECRET = "whsec_Zq8-unmistakable-test-secret"
EVENT = {
    "id": "101",
    "kind": "workflow.run.completed",
    "organization_id": "00000000-0000-0000-0000-000000000010",
    "run_id": "5f0c6a55-3c1e-4f7e-9d2b-1a2b3c4d5e6f",
    "data": {"status": "completed", "note": "héllo"},
    "timestamp": "2026-11-29T16:00:00Z",
}
BODY = json.dumps(EVENT, ensure_ascii=False).encode("utf-8")


def independent_signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


GOOD = independent_signature(BODY, SECRET)


# --- compute / verify -----------------------------------------------------------


def test_compute_signature_is_hmac_sha256_hex_with_prefix() -> None:
    assert compute_signature(BODY, SECRET) == GOOD
    assert compute_signature(BODY.decode("utf-8"), SECRET) == GOOD


def test_good_signature_verifies_for_bytes_and_str_bodies() -> None:
    assert verify_signature(BODY, GOOD, SECRET) is True
    assert verify_signature(BODY.decode("utf-8"), GOOD, SECRET) is True
    assert verify_signature(bytearray(BODY), GOOD, SECRET) is True


def test_header_hex_case_and_surrounding_whitespace_are_tolerated() -> None:
    assert verify_signature(BODY, "sha256=" + GOOD[7:].upper(), SECRET) is True
    assert verify_signature(BODY, f"  {GOOD}\t", SECRET) is True


def test_changed_body_fails() -> None:
    assert verify_signature(BODY + b" ", GOOD, SECRET) is False
    assert verify_signature(BODY.replace(b"completed", b"failed"), GOOD, SECRET) is False


def test_reserialised_json_fails_because_bytes_differ() -> None:
    assert verify_signature(json.dumps(EVENT), GOOD, SECRET) is False


def test_wrong_secret_fails() -> None:
    assert verify_signature(BODY, GOOD, SECRET + "x") is False
    assert verify_signature(BODY, independent_signature(BODY, "other"), SECRET) is False


def test_missing_header_fails() -> None:
    assert verify_signature(BODY, None, SECRET) is False
    assert verify_signature(BODY, "", SECRET) is False


@pytest.mark.parametrize(
    "header",
    [
        GOOD[7:],  # no prefix
        "sha1=" + GOOD[7:],
        "SHA256=" + GOOD[7:],
        "sha256=" + "z" * 64,  # not hex
        "sha256=" + GOOD[7:-1],  # too short
        GOOD + "0",  # too long
        "sha256=",
        "sha256=" + "é" * 64,
    ],
    ids=["no-prefix", "sha1", "upper-prefix", "non-hex", "short", "long", "empty-digest", "non-ascii"],
)
def test_malformed_header_fails(header: str) -> None:
    assert verify_signature(BODY, header, SECRET) is False


@pytest.mark.parametrize(
    ("body", "signature", "secret"),
    [
        (None, GOOD, SECRET),
        (123, GOOD, SECRET),
        (BODY, 123, SECRET),
        (BODY, b"sha256=abc", SECRET),
        (BODY, GOOD, None),
        (BODY, GOOD, b"bytes-secret"),
        ("\ud800", GOOD, SECRET),  # lone surrogate: not encodable
        (BODY, GOOD, "\udfff"),
    ],
)
def test_bad_input_returns_false_instead_of_raising(body: Any, signature: Any, secret: Any) -> None:
    assert verify_signature(body, signature, secret) is False


def test_empty_secret_is_refused_even_with_a_matching_signature() -> None:
    # HMAC with an empty key is computable by anyone: treat it as misconfiguration.
    assert verify_signature(BODY, independent_signature(BODY, ""), "") is False


def test_verification_uses_constant_time_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: List[tuple] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert verify_signature(BODY, GOOD, SECRET) is True
    assert verify_signature(BODY, "sha256=" + "0" * 64, SECRET) is False
    assert len(calls) == 2


# --- construct_event ------------------------------------------------------------


def test_construct_event_returns_the_parsed_event() -> None:
    assert construct_event(BODY, GOOD, SECRET) == EVENT
    assert construct_event(BODY.decode("utf-8"), GOOD, SECRET) == EVENT


@pytest.mark.parametrize(
    ("body", "signature", "secret", "fragment"),
    [
        (BODY, None, SECRET, "missing"),
        (BODY, "", SECRET, "missing"),
        (BODY, GOOD[7:], SECRET, "malformed"),
        (BODY, "sha256=" + "g" * 64, SECRET, "hex digits"),
        (BODY, "sha256=abc", SECRET, "hex digits"),
        (BODY + b"\n", GOOD, SECRET, "does not match"),
        (BODY, GOOD, SECRET + "!", "does not match"),
        (BODY, GOOD, "", "no webhook secret"),
    ],
    ids=["none", "empty", "no-prefix", "non-hex", "short", "changed-body", "wrong-secret", "empty-secret"],
)
def test_construct_event_names_each_signature_failure(
    body: bytes, signature: Any, secret: str, fragment: str
) -> None:
    with pytest.raises(FabricSignatureError, match=fragment) as info:
        construct_event(body, signature, secret)
    assert SECRET not in str(info.value)
    assert GOOD[7:] not in str(info.value)  # nor the expected digest


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"[1, 2, 3]", "not an object"),
        (b'"just a string"', "not an object"),
        (b"null", "not an object"),
        (b"{not json", "not valid"),
        (b"\xff\xfe{}", "not valid"),
        (b"", "not valid"),
    ],
)
def test_construct_event_rejects_a_signed_body_that_is_not_a_json_object(body: bytes, fragment: str) -> None:
    signature = independent_signature(body, SECRET)
    assert verify_signature(body, signature, SECRET) is True
    with pytest.raises(FabricSignatureError, match=fragment) as info:
        construct_event(body, signature, SECRET)
    assert SECRET not in str(info.value)


def test_secret_never_appears_in_any_exception_text() -> None:
    # A body that embeds the secret must not leak it through an error message either.
    cases = [
        (BODY, None),
        (BODY, "garbage"),
        (BODY, "sha256=" + "0" * 64),
        (SECRET.encode(), independent_signature(SECRET.encode(), SECRET)),
        (b"[" + SECRET.encode() + b"]", independent_signature(b"[" + SECRET.encode() + b"]", SECRET)),
    ]
    for body, signature in cases:
        with pytest.raises(FabricSignatureError) as info:
            construct_event(body, signature, SECRET)
        text = f"{info.value!s} {info.value!r} {info.value.args!r}"
        assert SECRET not in text, text
        # No chained exception either (a JSONDecodeError would carry the body as .doc).
        assert info.value.__cause__ is None and info.value.__context__ is None
