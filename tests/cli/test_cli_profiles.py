"""Global options, profiles (0600, precedence, shared with the SDK) and login/logout/whoami."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cli_support import Fab

from fabric_platform import FabricClient
from fabric_platform._profiles import ProfileError
from fabric_platform.testing import LocalFabric


def test_help_and_version_in_process_and_as_a_process(fab: Fab) -> None:
    helped = fab.run("--help")
    assert helped.exit_code == 0
    for command in ("runs", "workflows", "events", "webhooks", "api", "keys", "secrets", "emulator"):
        assert f"  {command} " in helped.stdout
    shown = fab.spawn("--version")
    assert shown.returncode == 0 and fabric_version() in shown.stdout


def fabric_version() -> str:
    import fabric_platform

    return fabric_platform.__version__


def test_login_prompts_saves_0600_and_whoami_uses_the_session(fab: Fab) -> None:
    owner = fab.local.owner
    fab.without("FABRIC_API_KEY")
    done = fab.spawn("login", "--email", owner["email"], input=owner["password"] + "\n")
    assert done.returncode == 0, done.stderr
    assert owner["password"] not in done.stdout + done.stderr
    mode = stat.S_IMODE(fab.config_file.stat().st_mode)
    assert mode == 0o600
    text = fab.config_file.read_text()
    assert "[default]" in text and "access_token" in text and owner["password"] not in text
    me = fab.json("whoami")
    assert me["profile"] == "default" and me["me"]["email"] == owner["email"]
    assert me["me"]["via"] == "access_token"
    out = fab.run("logout")
    assert out.exit_code == 0
    assert "access_token" not in fab.config_file.read_text()


def test_login_with_an_api_key_read_from_stdin_never_from_argv(fab: Fab) -> None:
    key = fab.local.api_key
    fab.without("FABRIC_API_KEY")
    done = fab.run("--profile", "ci", "login", "--api-key", input=key + "\n")
    assert done.exit_code == 0, done.stderr
    assert key not in done.stdout + done.stderr
    listed = fab.json("profiles")
    assert listed == [
        {
            "name": "ci",
            "base_url": fab.local.base_url,
            "organization_id": fab.local.organization_id,
            "api_key": key[:9] + "…",
            "session": "",
        }
    ]
    assert fab.json("--profile", "ci", "whoami")["me"]["via"] == "api_key"


def test_a_missing_profile_is_a_usage_error_naming_the_option_and_sends_nothing(fab: Fab) -> None:
    fab.local.reset_stats()
    done = fab.run("--profile", "nope", "whoami")
    assert done.exit_code == 2
    assert "'--profile'" in done.stderr and "no profile 'nope'" in done.stderr
    env_named = fab.spawn("whoami", env={"FABRIC_PROFILE": "nope"})
    assert env_named.returncode == 2 and "FABRIC_PROFILE" in env_named.stderr
    assert "Traceback" not in env_named.stderr
    assert fab.local.stats() == {}


def test_precedence_explicit_beats_env_beats_profile(
    fab: Fab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fab.config_file.parent.mkdir(parents=True)
    fab.config_file.write_text(
        f'[staging]\nbase_url = "{fab.local.base_url}"\napi_key = "{fab.local.api_key}"\n'
        'organization_id = "from-profile"\n'
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(fab.config_home))
    for name in ("FABRIC_BASE_URL", "FABRIC_API_KEY", "FABRIC_ORGANIZATION_ID", "FABRIC_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with FabricClient(profile="staging") as client:
        assert client.organization_id == "from-profile"
        assert client.get_me()["via"] == "api_key"
    monkeypatch.setenv("FABRIC_ORGANIZATION_ID", "from-env")
    monkeypatch.setenv("FABRIC_PROFILE", "staging")
    with FabricClient() as client:
        assert client.organization_id == "from-env" and client.base_url == fab.local.base_url
    with FabricClient(organization_id="explicit") as client:
        assert client.organization_id == "explicit"
    with pytest.raises(ProfileError, match="no profile 'prod'"):
        FabricClient(profile="prod")
    # The command line resolves the same way.
    fab.without("FABRIC_ORGANIZATION_ID", "FABRIC_BASE_URL", "FABRIC_API_KEY")
    assert fab.json("--profile", "staging", "whoami")["organization_id"] == "from-profile"
    shown = fab.json("--profile", "staging", "whoami", env={"FABRIC_ORGANIZATION_ID": "from-env"})
    assert shown["organization_id"] == "from-env"
    assert fab.json("--profile", "staging", "--org", "flag", "whoami")["organization_id"] == "flag"


def test_refreshed_tokens_are_written_back_to_the_profile(tmp_path: Path) -> None:
    with LocalFabric(access_token_ttl=60) as short:
        fab = Fab(short, tmp_path / "xdg").without("FABRIC_API_KEY")
        owner = short.owner
        assert fab.run("login", "--email", owner["email"], input=owner["password"] + "\n").exit_code == 0
        before = fab.config_file.read_text()
        short.advance_time(120)  # the access token has expired on the server's clock
        me = fab.json("whoami")
        assert me["me"]["email"] == owner["email"]
        after = fab.config_file.read_text()
        assert after != before and "refresh_token" in after
        assert stat.S_IMODE(fab.config_file.stat().st_mode) == 0o600


def test_json_and_debug_may_follow_the_subcommand(fab: Fab) -> None:
    import json

    after = fab.run("whoami", "--json")
    assert after.exit_code == 0 and json.loads(after.stdout)["me"]["via"] == "api_key"
    from fabric_platform.cli._app import hoist_flags

    assert hoist_flags(["runs", "list", "--json"]) == ["--json", "runs", "list"]
    assert hoist_flags(["api", "x", "--", "--json"]) == ["api", "x", "--", "--json"]
