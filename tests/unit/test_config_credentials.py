"""A key that could never be sent is refused when the client is built, without showing it."""

from __future__ import annotations

import pytest

from fabric_platform import AsyncFabricClient, FabricClient


@pytest.mark.parametrize("cls", [FabricClient, AsyncFabricClient])
@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("", "api_key is empty"),
        ("   ", "api_key is empty"),
        ("fab_live_secret…", "non-ASCII character (U+2026) at position 15"),
        ("fab_live_secret\n", "whitespace at position 15"),
        ("fab live_secret", "whitespace at position 3"),
    ],
)
def test_unsendable_api_key_is_a_value_error_that_hides_the_key(cls: type, key: str, says: str) -> None:
    with pytest.raises(ValueError, match="api_key") as info:
        cls(base_url="http://127.0.0.1:9", api_key=key)
    assert says in str(info.value)
    assert "secret" not in str(info.value)


def test_unsendable_key_from_the_environment_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FABRIC_API_KEY", "fab_live_secret…")
    with pytest.raises(ValueError, match="non-ASCII") as info:
        FabricClient(base_url="http://127.0.0.1:9")
    assert "secret" not in str(info.value)


def test_a_well_formed_key_is_accepted() -> None:
    client = FabricClient(base_url="http://127.0.0.1:9", api_key="fab_test_0123456789abcdef")
    client.close()
