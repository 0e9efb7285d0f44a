"""Unit tests of emulator building blocks: TOTP, cron, webhook rules, audit names."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fabric_platform.testing._domain import totp as _totp
from fabric_platform.testing._domain.audit import action_for, singular
from fabric_platform.testing._domain.scheduler import check_cron, check_timezone, next_fire
from fabric_platform.testing._domain.webhooks import (
    _filter_matches,
    backoff_seconds,
    blocked_reason,
    unknown_kinds,
)
from fabric_platform.testing._infra.http import ApiError

RFC_KEY = b"12345678901234567890"


# --------------------------------------------------------------------------- TOTP (RFC 4226 / 6238)
def test_hotp_matches_rfc_4226_appendix_d() -> None:
    expected = [
        "755224",
        "287082",
        "359152",
        "969429",
        "338314",
        "254676",
        "287922",
        "162583",
        "399871",
        "520489",
    ]
    assert [_totp.hotp(RFC_KEY, counter) for counter in range(10)] == expected


@pytest.mark.parametrize(
    ("unix_time", "sha1", "sha256", "sha512"),
    [
        (59, "94287082", "46119246", "90693936"),
        (1111111109, "07081804", "68084774", "25091201"),
        (1111111111, "14050471", "67062674", "99943326"),
        (1234567890, "89005924", "91819424", "93441116"),
        (2000000000, "69279037", "90698825", "38618901"),
        (20000000000, "65353130", "77737706", "47863826"),
    ],
)
def test_totp_matches_rfc_6238_appendix_b(unix_time: int, sha1: str, sha256: str, sha512: str) -> None:
    assert _totp.totp(RFC_KEY, unix_time, digits=8) == sha1
    key256 = b"12345678901234567890123456789012"
    assert _totp.totp(key256, unix_time, digits=8, algorithm="SHA256") == sha256
    key512 = b"1234567890123456789012345678901234567890123456789012345678901234"
    assert _totp.totp(key512, unix_time, digits=8, algorithm="SHA512") == sha512


def test_totp_window_and_format() -> None:
    secret = _totp.new_secret()
    key = _totp.decode_secret(secret)
    now = 1_700_000_015.0
    code = _totp.totp(key, now)
    assert _totp.match_step(key, code, now) == _totp.time_step(now)
    assert _totp.match_step(key, _totp.totp(key, now - 30), now) == _totp.time_step(now) - 1  # skew
    assert _totp.match_step(key, _totp.totp(key, now - 90), now) is None
    assert _totp.match_step(key, "12345", now) is None and _totp.match_step(key, "abcdef", now) is None
    uri = _totp.otpauth_uri(secret, "ada@example.com")
    assert uri.startswith("otpauth://totp/Fabric:ada@example.com?") and f"secret={secret}" in uri


# --------------------------------------------------------------------------- cron
@pytest.mark.parametrize(
    ("expression", "needle"),
    [
        ("60 * * * *", "minute field '60'"),
        ("* 25 * * *", "hour field"),
        ("* * 0 * *", "day-of-month field"),
        ("* * * 13 *", "month field"),
        ("* * * * 8", "day-of-week field"),
        ("* * * *", "expected 5 fields"),
        ("* * * * * *", "got 6"),
        ("@sometimes", "unknown nickname"),
        ("", "non-empty"),
    ],
)
def test_invalid_cron_names_the_problem(expression: str, needle: str) -> None:
    with pytest.raises(ApiError) as err:
        check_cron(expression)
    assert err.value.status == 400 and needle in err.value.message
    assert err.value.details == {
        "errors": [{"path": "cron_expression", "message": err.value.message.split(": ", 1)[1]}]
    }


def test_valid_cron_and_timezones() -> None:
    assert check_cron("  0   9 * * 1-5 ") == "0 9 * * 1-5"
    assert check_cron("@Hourly") == "@hourly"
    assert check_timezone("Asia/Tokyo") == "Asia/Tokyo"
    with pytest.raises(ApiError):
        check_timezone("Nowhere/Special")
    after = datetime(2026, 1, 5, 8, 59, 59, tzinfo=timezone.utc)
    assert next_fire("0 9 * * 1-5", "UTC", after) == "2026-01-05T09:00:00.000000Z"
    # Autumn DST in New York: 01:30 happens twice on 2026-11-01; cron fires once.
    after = datetime(2026, 11, 1, 4, 0, tzinfo=timezone.utc)  # 00:00 EDT
    assert next_fire("30 1 * * *", "America/New_York", after) == "2026-11-01T05:30:00.000000Z"


# --------------------------------------------------------------------------- webhooks
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/h", "http://localhost/h", "https://[::1]:9/h", "http://127.8.9.10/h"]
)
def test_loopback_urls_are_allowed(url: str) -> None:
    assert blocked_reason(url, ()) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/h",
        "http://10.0.0.1/h",
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1.nip.io/h",
        "http://localhost.example.com/h",
        "ftp://127.0.0.1/h",
        "file:///etc/passwd",
    ],
)
def test_other_urls_are_blocked(url: str) -> None:
    reason = blocked_reason(url, ())
    assert reason is not None and reason.startswith("blocked")


def test_allow_hosts_opt_in() -> None:
    assert blocked_reason("https://hooks.example.com/x", ("hooks.example.com",)) is None
    assert blocked_reason("https://other.example.com/x", ("hooks.example.com",)) is not None


def test_filters_and_backoff() -> None:
    context = {"workflow_name": "video/ai_shorts", "run_id": "r1", "status": "completed"}
    assert _filter_matches({"workflow_name": "video/ai_shorts"}, context)
    assert _filter_matches({"workflow_name": "video/*", "status": ["failed", "completed"]}, context)
    assert not _filter_matches({"workflow_name": "research/*"}, context)
    assert not _filter_matches({"team_id": "t1"}, context)
    assert unknown_kinds(["job.*", "*", "workflow.run.completed", "job.finished"]) == ["job.finished"]
    assert [backoff_seconds(a) for a in (1, 2, 3, 10)] == [1.0, 2.0, 4.0, 60.0]


# --------------------------------------------------------------------------- audit
def test_audit_action_names() -> None:
    assert (
        singular("galleries") == "gallery"
        and singular("api_keys") == "api_key"
        and singular("status") == "status"
    )
    assert action_for("createJob", "POST", "/v1/jobs") == "job.create"
    assert action_for("submitRun", "POST", "/v1/workflows/run") == "workflow.run.submit"
    assert action_for("createApiKey", "POST", "/v1/api-keys") == "api_key.create"
    assert action_for(None, "POST", "/v1/unknown") == "post /v1/unknown"
