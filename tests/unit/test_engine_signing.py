"""Signed artifact download URLs: HMAC over id + expiry, checked against the emulator clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from fabric_platform.testing._infra.signing import SignatureInvalid, UrlSigner, download_path
from fabric_platform.testing._infra.store import Store

NOW = datetime(2026, 11, 29, 16, 0, tzinfo=timezone.utc)


def _query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_sign_and_verify_round_trip():
    signer = UrlSigner(b"k" * 32)
    url, expires_at = signer.sign("http://127.0.0.1:9/", "art-1", now=NOW, expires_in=60)
    assert url.startswith("http://127.0.0.1:9" + download_path("art-1") + "?")
    assert expires_at == "2026-11-29T16:01:00Z"
    q = _query(url)
    signer.verify("art-1", q["expires"], q["signature"], now=NOW + timedelta(seconds=59))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda q: ("art-2", q["expires"], q["signature"]),  # another artifact
        lambda q: ("art-1", str(int(q["expires"]) + 3600), q["signature"]),  # stretched expiry
        lambda q: ("art-1", q["expires"], q["signature"][:-1] + ("0" if q["signature"][-1] != "0" else "1")),
        lambda q: ("art-1", "soon", q["signature"]),
        lambda q: ("art-1", None, q["signature"]),
        lambda q: ("art-1", q["expires"], None),
        lambda q: ("art-1", q["expires"], "\u00b9" + q["signature"][1:]),  # non-ASCII must not crash
        lambda q: ("art-1", "-1908971029025912320", q["signature"]),
    ],
)
def test_tampered_urls_are_rejected(mutate):
    signer = UrlSigner(b"k" * 32)
    url, _ = signer.sign("http://x", "art-1", now=NOW, expires_in=60)
    with pytest.raises(SignatureInvalid):
        signer.verify(*mutate(_query(url)), now=NOW)


def test_expired_url_is_rejected():
    signer = UrlSigner(b"k" * 32)
    q = _query(signer.sign("http://x", "art-1", now=NOW, expires_in=60)[0])
    with pytest.raises(SignatureInvalid, match="expired"):
        signer.verify("art-1", q["expires"], q["signature"], now=NOW + timedelta(seconds=60))


def test_other_secret_rejects():
    q = _query(UrlSigner(b"k" * 32).sign("http://x", "a", now=NOW, expires_in=60)[0])
    with pytest.raises(SignatureInvalid):
        UrlSigner(b"j" * 32).verify("a", q["expires"], q["signature"], now=NOW)


def test_secret_persists_in_the_store(tmp_path):
    path = str(tmp_path / "db.sqlite")
    store = Store(path)
    q = _query(UrlSigner.from_store(store).sign("http://x", "a", now=NOW, expires_in=60)[0])
    store.close()
    again = Store(path)
    try:
        UrlSigner.from_store(again).verify("a", q["expires"], q["signature"], now=NOW)
    finally:
        again.close()


def test_short_secret_refused():
    with pytest.raises(ValueError):
        UrlSigner(b"short")
