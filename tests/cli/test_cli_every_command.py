"""Every command, against the emulator, both in-process (Click's runner) and as a process.

Each entry is run twice with ``--json`` and its output parsed; the pair must agree on the
shape (the same keys, or both lists).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest
from cli_support import Fab

from fabric_platform.testing import LocalFabric

Setup = Callable[[Fab, Dict[str, str]], None]


def _ids(fab: Fab, ids: Dict[str, str]) -> None:
    with fab.local.client() as client:
        run = client.submit_and_wait("research/trends", {"topic": "x"})
        ids["run"] = run["id"]
        gate = client.upsert_workflow(name="cli-every-gate", nodes=[{"key": "gate", "type": "approval"}])
        # Cancelling is done twice (in-process, then as a process): one waiting run each.
        ids["held_a"] = client.run_workflow(gate)
        ids["held_b"] = client.run_workflow(gate)
        ids["job"] = client.create_job("text", {"prompt": "hi"})["id"]
        ids["wf"] = client.upsert_workflow(
            name="cli-every", nodes=[{"key": "t", "type": "transform", "config": {}}]
        )
        ids["schedule"] = client.create_schedule(ids["wf"], "0 9 * * *")["id"]
        ids["key"] = client.create_api_key("cli-every", fab.local.organization_id)["id"]
        client.set_secret("CLI_EVERY", "value-for-the-listing")
        ids["asset"] = client.upload_asset(b"asset bytes " * 1000, "notes.txt")["id"]
        (fab.config_home.parent / "upload.bin").write_bytes(b"\x00\x01" * 5000)
        ids["upload"] = str(fab.config_home.parent / "upload.bin")


# (command line with {placeholders}, stdin)
COMMANDS: List[Tuple[str, str]] = [
    ("whoami", ""),
    ("profiles", ""),
    ("workflows list", ""),
    ("workflows schema research/trends", ""),
    ("runs submit research/trends -i topic=x", ""),
    ("runs submit research/trends -i topic=x --wait", ""),
    ("runs watch {run}", ""),
    ("runs get {run}", ""),
    ("runs list", ""),
    ("runs log {run}", ""),
    ("runs output {run}", ""),
    ("runs download {run} --dir {tmp}", ""),
    ("runs cancel {held}", ""),
    ("events tail --run {run}", ""),
    ("assets list", ""),
    ("assets upload {upload}", ""),
    ("assets download {asset} --dir {tmp}", ""),
    ("api get_run --run-id {run}", ""),
    ("api workflows.runs.log --run-id {run}", ""),
    ("keys list", ""),
    ("keys create cli-every-2", ""),
    ("keys rotate {key}", ""),
    ("secrets list", ""),
    ("secrets set CLI_EVERY_2", "s3cret-value\n"),
    ("jobs list", ""),
    ("jobs get {job}", ""),
    ("jobs create text -i prompt=hi", ""),
    ("schedules list {wf}", ""),
    ("schedules history {schedule}", ""),
    ("schedules trigger {schedule}", ""),
    ("orgs list", ""),
    ("orgs get", ""),
    ("orgs members", ""),
    ("usage", ""),
    ("usage --daily", ""),
]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with LocalFabric(speed=50) as local:
        fab = Fab(local, tmp_path_factory.mktemp("xdg"))
        ids: Dict[str, str] = {}
        _ids(fab, ids)
        yield fab, ids


def _shape(value: Any) -> Any:
    return sorted(value) if isinstance(value, dict) else type(value).__name__


def _argv(line: str, ids: Dict[str, str], tmp: Path, which: str) -> List[str]:
    return line.format(tmp=str(tmp), held=ids[f"held_{which}"], **ids).split()


@pytest.mark.parametrize(("line", "stdin"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_command_in_process_and_as_a_process(prepared: Any, tmp_path: Path, line: str, stdin: str) -> None:
    fab, ids = prepared
    argv = _argv(line, ids, tmp_path / "a", "a")
    inner = fab.run("--json", *argv, input=stdin or None)
    assert inner.exit_code == 0, inner.stderr
    outer = fab.spawn("--json", *_argv(line, ids, tmp_path / "b", "b"), input=stdin or None)
    assert outer.returncode == 0, outer.stderr
    if line.startswith("events tail"):  # NDJSON: one object per line
        inner_docs = [json.loads(x) for x in inner.stdout.splitlines()]
        outer_docs = [json.loads(x) for x in outer.stdout.splitlines()]
        assert inner_docs and [e["id"] for e in inner_docs] == [e["id"] for e in outer_docs]
        return
    if not inner.stdout.strip():  # confirmations only (secrets set): nothing on stdout
        assert not outer.stdout.strip()
        return
    assert _shape(json.loads(inner.stdout)) == _shape(json.loads(outer.stdout))
    if line.startswith("runs cancel"):
        assert json.loads(inner.stdout)["status"] == json.loads(outer.stdout)["status"] == "cancelled"
