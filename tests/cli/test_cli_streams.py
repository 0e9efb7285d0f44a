"""events tail, webhooks listen, Ctrl-C while watching, api, the admin groups, secrets."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Dict, List

from cli_support import Fab

from fabric_platform.testing import LocalFabric
from fabric_platform.webhooks import verify_signature


def _popen(fab: Fab, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "fabric_platform", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=fab.process_env(),
    )


def _close(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def _wait_for_line(stream: Any, needle: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if needle in line:
            return line
        if not line:
            break
    raise AssertionError(f"{needle!r} never printed")


def test_ctrl_c_stops_watching_with_130_and_never_cancels(fab: Fab) -> None:
    with fab.local.client() as client:
        held = client.run_workflow(
            client.upsert_workflow(name="cli-gate", nodes=[{"key": "gate", "type": "approval"}])
        )
    proc = _popen(fab, "runs", "watch", held)
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not fab.local.stats().get(
            "GET /v1/workflow-runs/{run_id}/events"
        ):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        assert "goes on" in proc.stderr.read()
    finally:
        _close(proc)
    with fab.local.client() as client:
        assert client.get_run(held)["status"] == "waiting"


def test_events_tail_prints_ndjson_for_a_run(fab: Fab) -> None:
    run = fab.json("runs", "submit", "research/trends", "-i", "topic=x", "--wait")
    done = fab.spawn("--json", "events", "tail", "--run", run["id"], "--events", "workflow.run.*")
    assert done.returncode == 0
    events = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = [e["kind"] for e in events]
    assert kinds[-1] == "workflow.run.completed" and all(k.startswith("workflow.run.") for k in kinds)
    assert all(e["run_id"] == run["id"] for e in events)
    plain = fab.run("events", "tail", "--run", run["id"], "--limit", "1")
    assert plain.exit_code == 0 and len(plain.stdout.splitlines()) == 1


class _Receiver(BaseHTTPRequestHandler):
    received: List[Dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append({"body": body, "headers": dict(self.headers)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_webhooks_listen_forwards_signed_deliveries(tmp_path: Path) -> None:
    # A fresh emulator: the listener forwards events from the second it starts on (the
    # server's clock has whole seconds), and the module's emulator has events from just before.
    with LocalFabric(speed=50) as local:
        _listen_and_check(Fab(local, tmp_path / "xdg"))


def _listen_and_check(fab: Fab) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    proc = _popen(
        fab, "webhooks", "listen", "--forward-to", url, "--events", "workflow.run.completed", "--limit", "1"
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        secret = _wait_for_line(proc.stderr, "Signing secret:").split(":", 1)[1].strip()
        _wait_for_line(proc.stderr, "Forwarding events")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not fab.local.stats().get("GET /v1/events/stream"):
            time.sleep(0.05)
        run = fab.json("runs", "submit", "research/trends", "-i", "topic=x", "--wait")
        assert proc.wait(timeout=30) == 0
        assert "workflow.run.completed" in proc.stdout.read()
    finally:
        _close(proc)
        server.shutdown()
        server.server_close()
    (delivery,) = _Receiver.received
    assert verify_signature(delivery["body"], delivery["headers"]["X-Fabric-Signature"], secret)
    event = json.loads(delivery["body"])
    assert event["kind"] == "workflow.run.completed" and event["run_id"] == run["id"]
    assert delivery["headers"]["X-Fabric-Event"] == "workflow.run.completed"


def test_webhooks_listen_refuses_non_loopback_targets(fab: Fab) -> None:
    fab.local.reset_stats()
    refused = fab.run("webhooks", "listen", "--forward-to", "http://example.com/hook")
    assert refused.exit_code == 2 and "'--forward-to'" in refused.stderr and "--allow-host" in refused.stderr
    assert fab.local.stats() == {}


def test_api_calls_operations_by_flat_and_namespaced_name(fab: Fab) -> None:
    from fabric_platform_api.operations import OPERATIONS

    listing = fab.run("api", "--help")
    assert listing.exit_code == 0 and f"{len(OPERATIONS)} operations" in listing.stdout
    listed = [
        line.split()[1]
        for line in listing.stdout.splitlines()
        if line.startswith("  ") and len(line.split()) > 2
    ]
    assert {op.ns for op in OPERATIONS.values()} <= set(listed)  # every operation is listed
    assert "get_run" in listing.stdout and "workflows.runs.get" in listing.stdout
    job = fab.json("api", "create_job", "--modality", "text", "--input", '{"prompt": "hi"}')
    assert job["input"] == {"prompt": "hi"}
    same = fab.json("api", "jobs.get", "--job-id", job["id"])
    assert same["id"] == job["id"]
    from_stdin = fab.json(
        "api", "create_job", "--modality", "text", "--input", "-", input='{"prompt": "piped"}'
    )
    assert from_stdin["input"] == {"prompt": "piped"}
    process = fab.spawn("--json", "api", "health_check")
    assert process.returncode == 0 and json.loads(process.stdout)["status"] == "ok"
    helped = fab.run("api", "get_run", "--help")
    assert "--run-id" in helped.stdout and "(required)" in helped.stdout
    fab.local.reset_stats()
    missing = fab.run("api", "create_job", "--modality", "text")
    assert missing.exit_code == 2 and "'--input'" in missing.stderr
    bad_json = fab.run("api", "create_job", "--modality", "text", "--input", "{nope")
    assert bad_json.exit_code == 2 and "'--input'" in bad_json.stderr
    assert fab.local.stats() == {}


def test_every_operation_has_derived_options(fab: Fab) -> None:
    from fabric_platform_api.operations import OPERATIONS

    from fabric_platform.cli._api import find_operation, operation_params

    client = fab.local.client()
    try:
        for op in OPERATIONS.values():
            assert find_operation(op.ns) is op
            if op.flat:
                assert find_operation(op.flat) is op
            operation_params(op, client)  # raises when a method cannot be found or inspected
    finally:
        client.close()
    assert len(OPERATIONS) >= 178


def test_admin_groups(fab: Fab) -> None:
    keys = fab.json("keys", "list")
    assert keys and all("key" not in k for k in keys)
    created = fab.json("keys", "create", "cli-test")
    assert created["key"].startswith("fab_")
    assert created["id"] in [k["id"] for k in fab.json("keys", "list")]
    assert fab.run("keys", "disable", created["id"]).exit_code == 0
    assert fab.run("keys", "delete", created["id"]).exit_code == 0
    job = fab.json("jobs", "create", "text", "-i", "prompt=hi")
    assert fab.json("jobs", "get", job["id"])["id"] == job["id"]
    assert fab.run("jobs", "list").exit_code == 0
    orgs = fab.json("orgs", "list")
    assert fab.local.organization_id in [o["id"] for o in orgs]
    assert fab.json("orgs", "get")["id"] == fab.local.organization_id
    assert fab.json("orgs", "members")
    assert fab.json("usage")["organization_id"] == fab.local.organization_id
    assert isinstance(fab.json("usage", "--daily"), list)
    with fab.local.client() as client:
        wf = client.upsert_workflow(name="cli-sched", nodes=[{"key": "t", "type": "transform", "config": {}}])
    schedule = fab.json("schedules", "create", wf, "0 9 * * 1-5")
    assert schedule["id"] in [s["id"] for s in fab.json("schedules", "list", wf)]
    assert fab.run("schedules", "trigger", schedule["id"]).exit_code == 0
    assert isinstance(fab.json("schedules", "history", schedule["id"]), list)
    assert fab.run("schedules", "delete", schedule["id"]).exit_code == 0


def test_secret_values_never_reach_output_argv_or_logs(fab: Fab) -> None:
    value = "sk-cli-very-secret-value-42"
    done = fab.spawn("--debug", "secrets", "set", "CLI_SECRET", input=value + "\n")
    assert done.returncode == 0, done.stderr
    assert value not in done.stdout and value not in done.stderr
    listed = fab.json("secrets", "list")
    assert "CLI_SECRET" in listed and value not in json.dumps(listed)
    # The value travels on stdin: the command has no option or argument that takes it.
    from fabric_platform.cli._admin import secrets_set

    assert [p.name for p in secrets_set.params] == ["name"]
    assert fab.run("secrets", "delete", "CLI_SECRET").exit_code == 0
    assert "CLI_SECRET" not in fab.json("secrets", "list")


def test_completion_scripts(fab: Fab) -> None:
    for shell, marker in (("bash", "complete "), ("zsh", "compdef"), ("fish", "complete ")):
        done = fab.run("completion", shell)
        assert done.exit_code == 0 and marker in done.stdout and "_FABRIC_COMPLETE" in done.stdout
    completed = fab.spawn(
        env={"_FABRIC_COMPLETE": "bash_complete", "COMP_WORDS": "fabric ru", "COMP_CWORD": "1"}
    )
    assert "runs" in completed.stdout


def test_events_tail_reconnects_after_a_dropped_stream(fab: Fab) -> None:
    run = fab.json("runs", "submit", "research/trends", "-i", "topic=x", "--wait")
    whole = fab.run("--json", "events", "tail", "--run", run["id"])
    expected = [json.loads(line)["id"] for line in whole.stdout.splitlines()]
    fab.local.drop_stream_after(2)  # the next stream is cut after two events
    resumed = fab.run("--json", "events", "tail", "--run", run["id"])
    assert resumed.exit_code == 0
    resumed_ids = [json.loads(line)["id"] for line in resumed.stdout.splitlines()]
    assert resumed_ids == expected  # nothing lost, nothing repeated
    assert len(expected) > 2


def test_webhooks_listen_in_process_signs_with_a_secret_from_the_environment(tmp_path: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    secret = "whsec_from_the_environment_0123456789"
    try:
        with LocalFabric(speed=50) as local:
            fab = Fab(local, tmp_path / "xdg")
            fab.env["CLI_HOOK_SECRET"] = secret
            url = f"http://127.0.0.1:{server.server_address[1]}/hook"
            results: List[Any] = []
            listener = threading.Thread(
                target=lambda: results.append(
                    fab.run(
                        "webhooks",
                        "listen",
                        "--forward-to",
                        url,
                        "--secret-env",
                        "CLI_HOOK_SECRET",
                        "--events",
                        "job.*",
                        "--limit",
                        "1",
                    )
                )
            )
            listener.start()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not local.stats().get("GET /v1/events/stream"):
                time.sleep(0.05)
            with local.client() as client:
                job = client.create_job("text", {"prompt": "hi"})
            listener.join(30)
            assert not listener.is_alive()
    finally:
        server.shutdown()
        server.server_close()
    (result,) = results
    assert result.exit_code == 0 and secret not in result.stdout + result.stderr
    (delivery,) = _Receiver.received
    assert verify_signature(delivery["body"], delivery["headers"]["X-Fabric-Signature"], secret)
    event = json.loads(delivery["body"])
    assert event["kind"].startswith("job.") and event["job_id"] == job["id"]


def test_login_in_process_and_logout_as_a_process(fab: Fab) -> None:
    owner = fab.local.owner
    fab.without("FABRIC_API_KEY")
    done = fab.run("--profile", "dev", "login", "--email", owner["email"], input=owner["password"] + "\n")
    assert done.exit_code == 0 and owner["password"] not in done.stdout + done.stderr
    assert fab.json("--profile", "dev", "whoami")["me"]["via"] == "access_token"
    out = fab.spawn("--profile", "dev", "logout")
    assert out.returncode == 0 and "Logged out" in out.stdout
    assert "access_token" not in fab.config_file.read_text()
    wrong = fab.run("--profile", "dev", "login", "--email", owner["email"], input="not-the-password\n")
    assert (
        wrong.exit_code == 1 and wrong.stderr.startswith("Error: ") and "not-the-password" not in wrong.stderr
    )


def test_forwarding_targets_loopback_or_allowed_hosts_only() -> None:
    import click
    import pytest

    from fabric_platform.cli._webhooks_listen import check_target

    for url in (
        "http://localhost:3000/h",
        "http://127.0.0.1:1/",
        "http://[::1]:8080/x",
        "https://127.5.6.7/",
    ):
        assert check_target(url, ()) == url
    assert check_target("https://dev.example.com/h", ("dev.example.com",)) == "https://dev.example.com/h"
    for url in ("http://10.0.0.1/h", "http://example.com/h", "ftp://127.0.0.1/x", "127.0.0.1:80"):
        with pytest.raises(click.BadParameter):
            check_target(url, ())
