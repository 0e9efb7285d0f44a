"""runs / workflows: submit, watch (exit codes), get/list/cancel/log/output/download; bad input."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import Fab, run_in_pty


def _posts(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if k.startswith("POST")}


def test_submit_wait_json_in_process_and_as_a_process(fab: Fab) -> None:
    run = fab.json(
        "runs",
        "submit",
        "research/trends",
        "-i",
        "topic=AI agents",
        "-i",
        "depth=2",
        "--variants",
        "2",
        "--wait",
    )
    assert run["status"] == "completed" and run["variants"] == 2
    assert run["input"]["topic"] == "AI agents" and run["input"]["depth"] == 2
    done = fab.spawn("--json", "runs", "get", run["id"])
    assert done.returncode == 0 and json.loads(done.stdout)["id"] == run["id"]
    plain = fab.spawn("runs", "submit", "research/trends", "-i", "topic=x", "--wait")
    assert plain.returncode == 0
    assert "100.0%" in plain.stderr and "completed" in plain.stderr


def test_list_log_output_cancel_and_workflows(fab: Fab) -> None:
    run = fab.json("runs", "submit", "research/trends", "-i", "topic=x", "--wait")
    listed = fab.json("runs", "list", "--limit", "50")
    assert run["id"] in [r["id"] for r in listed]
    table = fab.run("runs", "list")
    assert table.stdout.splitlines()[0].split("\t")[:3] == ["id", "workflow_name", "status"]
    log = fab.json("runs", "log", run["id"])
    assert log["run_id"] == run["id"] and log["entries"]
    assert "run created" in fab.run("runs", "log", run["id"]).stdout
    output = fab.json("runs", "output", run["id"])
    assert output["run_id"] == run["id"] and len(output["outputs"]) == 1
    names = [w["name"] for w in fab.json("workflows", "list")]
    assert "research/trends" in names
    schema = fab.json("workflows", "schema", "research/trends")
    assert "topic" in json.dumps(schema["input_schema"])
    with fab.local.client() as client:
        held = client.run_workflow(
            client.upsert_workflow(name="cli-list-gate", nodes=[{"key": "g", "type": "approval"}])
        )
    assert fab.json("runs", "cancel", held)["status"] == "cancelled"
    again = fab.run("runs", "cancel", held)  # already over: the API's conflict, one line, exit 1
    assert again.exit_code == 1 and again.stderr.startswith("Error: conflict")


def test_watch_exits_1_when_the_run_fails_or_is_cancelled(fab: Fab) -> None:
    with fab.local.client() as client:
        boom = client.upsert_workflow(
            name="cli-boom", nodes=[{"key": "boom", "type": "fail", "config": {"message": "quota exceeded"}}]
        )
        held = client.upsert_workflow(name="cli-held", nodes=[{"key": "gate", "type": "approval"}])
        failed_run = client.run_workflow(boom)
        held_run = client.run_workflow(held)
    watched = fab.run("runs", "watch", failed_run)
    assert watched.exit_code == 1 and "failed" in watched.stderr and "quota exceeded" in watched.stderr
    assert fab.json("runs", "cancel", held_run)["status"] == "cancelled"
    cancelled = fab.spawn("runs", "watch", held_run)
    assert cancelled.returncode == 1 and "cancelled" in cancelled.stderr


def test_download_writes_verified_files_with_progress(fab: Fab, tmp_path: Path) -> None:
    result = fab.json(
        "runs", "submit", "video/ai_shorts", "-i", "topic=x", "--download", str(tmp_path / "out")
    )
    assert result["run"]["status"] == "completed"
    files = [Path(p) for p in result["files"]]
    assert files and all(p.exists() and p.stat().st_size > 0 for p in files)
    again = fab.spawn("runs", "download", result["run"]["id"], "--dir", str(tmp_path / "again"))
    assert again.returncode == 0 and "downloading short.mp4" in again.stderr
    assert (tmp_path / "again" / "short.mp4").read_bytes() == files[0].read_bytes()
    assert not [p for p in (tmp_path / "again").iterdir() if p.name.startswith(".")]


def test_bad_input_is_a_usage_error_naming_the_option_and_submits_nothing(fab: Fab) -> None:
    fab.local.reset_stats()
    malformed = fab.run("runs", "submit", "research/trends", "-i", "topic")
    assert malformed.exit_code == 2 and "'-i' / '--input'" in malformed.stderr
    unknown = fab.spawn("runs", "submit", "no/such-workflow", "-i", "topic=x")
    assert unknown.returncode == 2 and "'WORKFLOW'" in unknown.stderr and "unknown workflow" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    both = fab.run("runs", "submit", "--bundle", "-", "--variants", "2", input="[]")
    assert both.exit_code == 2 and "'--bundle'" in both.stderr
    direction = fab.run("runs", "submit", "research/trends", "--direction", "punchier")
    assert direction.exit_code == 2 and "'--direction'" in direction.stderr
    assert _posts(fab.local.stats()) == {}


def test_api_errors_are_one_line_with_the_request_id(fab: Fab) -> None:
    missing = fab.spawn("runs", "get", "00000000-0000-0000-0000-000000000000")
    assert missing.returncode == 1
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: not found") and "request_id=req_" in lines[0]
    debug = fab.spawn("--debug", "runs", "get", "00000000-0000-0000-0000-000000000000")
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_a_terminal_sees_the_progress_bar_reach_100_percent(fab: Fab) -> None:
    code, text = run_in_pty(
        fab, ["runs", "submit", "research/trends", "-i", "topic=x", "--variants", "2", "--wait"]
    )
    assert code == 0
    assert "\x1b[" in text  # a live, redrawn display, not plain lines
    assert "variant 0" in text and "variant 1" in text
    assert "100%" in text and "completed" in text


def test_a_terminal_sees_byte_progress_of_a_download(fab: Fab, tmp_path: Path) -> None:
    run = fab.json("runs", "submit", "video/ai_shorts", "-i", "topic=x", "--wait")
    code, text = run_in_pty(fab, ["runs", "download", run["id"], "--dir", str(tmp_path)])
    assert code == 0 and (tmp_path / "short.mp4").exists()
    size_kb = f"{(tmp_path / 'short.mp4').stat().st_size / 1000:.1f}"
    assert f"{size_kb}/{size_kb} kB" in text  # downloaded/total, with speed and time left beside it
    assert "short.mp4" in text


def test_tables_and_colour_on_a_terminal_and_no_color_honoured(fab: Fab) -> None:
    code, coloured = run_in_pty(fab, ["workflows", "list"])
    assert code == 0 and "research/trends" in coloured and "┃" in coloured  # a Rich table
    assert "\x1b[1m" in coloured  # bold header
    code, plain = run_in_pty(fab, ["workflows", "list"], env={"NO_COLOR": "1"})
    assert code == 0 and "┃" in plain and "\x1b[1m" not in plain and "\x1b[3" not in plain
    piped = fab.spawn("workflows", "list")
    assert "\x1b[" not in piped.stdout and piped.stdout.splitlines()[0].startswith("name\t")
