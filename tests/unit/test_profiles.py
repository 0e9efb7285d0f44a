"""The profiles file: reading (SDK, core dependencies only) and writing (command line)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from fabric_platform._config import ClientConfig
from fabric_platform._profiles import ProfileError, config_path, load_profiles, session_tokens
from fabric_platform.cli._profiles import forget_session, save_profile, save_tokens


def test_config_path_follows_xdg_and_defaults_to_dot_config(tmp_path: Path) -> None:
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "fabric" / "config.toml"
    assert config_path({"HOME": str(tmp_path)}) == tmp_path / ".config" / "fabric" / "config.toml"


def test_writes_are_0600_atomic_and_keep_other_profiles(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    save_profile("a", {"base_url": "http://127.0.0.1:1", "api_key": "fab_test_one"}, environ=env)
    path = save_profile("b", {"base_url": "http://127.0.0.1:2"}, environ=env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]  # no temporary left
    save_tokens("a", {"access_token": "at", "refresh_token": "rt", "expires_in": 60}, environ=env)
    profiles = load_profiles(path)
    assert profiles["b"] == {"base_url": "http://127.0.0.1:2"}
    assert profiles["a"]["api_key"] == "fab_test_one" and profiles["a"]["refresh_token"] == "rt"
    tokens = session_tokens(profiles["a"])
    assert tokens is not None and tokens["access_token"] == "at" and 0 < tokens["expires_in"] <= 60
    assert forget_session("a", environ=env) is True
    assert load_profiles(path)["a"] == {"base_url": "http://127.0.0.1:1"}
    assert forget_session("missing", environ=env) is False


def test_a_broken_file_is_named_without_quoting_its_contents(tmp_path: Path) -> None:
    path = tmp_path / "fabric" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[default]\napi_key = "fab_live_secretsecret\n')
    with pytest.raises(ProfileError) as raised:
        ClientConfig.from_env(profile="default", environ={"XDG_CONFIG_HOME": str(tmp_path)})
    assert str(path) in str(raised.value) and "secretsecret" not in str(raised.value)


def test_the_profile_session_is_used_unless_a_key_is_given(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    save_profile("p", {"base_url": "http://127.0.0.1:3", "api_key": "fab_test_k"}, environ=env)
    save_tokens("p", {"access_token": "at-1"}, environ=env)
    config = ClientConfig.from_env(profile="p", environ=env)
    assert config.session is not None and config.session["access_token"] == "at-1"
    assert "at-1" not in repr(config) and "at-1" not in str(config.safe_dict())
    explicit = ClientConfig.from_env(profile="p", api_key="fab_test_other", environ=env)
    assert explicit.session is None and explicit.api_key == "fab_test_other"
    from_env = ClientConfig.from_env(environ={**env, "FABRIC_PROFILE": "p"})
    assert from_env.profile == "p" and from_env.base_url == "http://127.0.0.1:3"
