"""``fabric --help`` / ``--version`` load nothing heavy; a missing extra is one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cli_support import SRC, Fab

import fabric_platform.cli as cli_module

HEAVY = (
    "httpx",
    "rich",
    "pydantic",
    "fabric_platform_api",
    "fabric_platform._sync.client",
    "tomli_w",
    "asyncio",
)

_PROBE = """
import sys
from fabric_platform.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = [m for m in {heavy!r} if m in sys.modules]
sys.stderr.write("LOADED=" + ",".join(heavy) + "\\n")
"""


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_nothing_heavy(flag: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY), flag],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=SRC),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    loaded = done.stderr.strip().rsplit("LOADED=", 1)[1]
    assert loaded == "", f"{flag} imported {loaded}"


def test_without_click_fabric_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = cli_module.find_spec
    monkeypatch.setattr(cli_module, "find_spec", lambda name: None if name == "click" else real(name))
    with pytest.raises(SystemExit) as exited:
        cli_module.main(["--help"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'fabric-platform[cli]'" in err and "click" in err


def test_a_command_needing_the_rest_of_the_extra_says_so(fab: Fab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tomli_w", None)  # as if tomli-w were not installed
    fab.local.reset_stats()
    done = fab.run("--profile", "ci", "login", "--api-key", input=fab.local.api_key + "\n")
    assert done.exit_code == 2
    assert done.stderr.strip().splitlines() == [
        "Error: this command needs the command-line extra (tomli_w missing): pip install 'fabric-platform[cli]'"
    ]
    assert not fab.config_file.exists()
