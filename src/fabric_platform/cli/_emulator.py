"""``fabric emulator``: run the local Fabric emulator standalone until interrupted.

    fabric emulator --host 127.0.0.1 --port 8787 [--db PATH] [--speed X]

It prints the base URL, the seeded organization and its owner's API key, then serves until
Ctrl+C or SIGTERM (exit 0).
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Optional

import click

from fabric_platform._version import __version__

__all__ = ["emulator"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, default=8787, show_default=True, help="Port (0 picks a free one).")
@click.option("--db", metavar="PATH", default=None, help="SQLite file to keep state across restarts.")
@click.option(
    "--speed", type=float, default=1.0, show_default=True, help="Divide simulated work time by this."
)
@click.option(
    "--access-token-ttl",
    type=float,
    default=900.0,
    show_default=True,
    help="Access token lifetime in seconds.",
)
@click.option("--no-principal-header", is_flag=True, help="Refuse X-Principal-Id (API keys / tokens only).")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def emulator(
    host: str,
    port: int,
    db: Optional[str],
    speed: float,
    access_token_ttl: float,
    no_principal_header: bool,
    log_level: str,
) -> int:
    """Run the local Fabric emulator (a real HTTP server on HOST:PORT)."""
    if speed <= 0:
        raise click.BadParameter("must be positive", param_hint="'--speed'")
    try:
        from fabric_platform.testing._local import LocalFabric
    except ImportError as exc:  # the emulator extra is missing
        click.echo(
            f"The emulator needs extra packages ({exc.name}): pip install 'fabric-platform[emulator]'",
            err=True,
        )
        return 2
    fabric = LocalFabric(
        db_path=db,
        speed=speed,
        access_token_ttl=access_token_ttl,
        principal_header=not no_principal_header,
        host=host,
        port=port,
        # The standalone server is somebody's dev environment: use a realistic password cost.
        password_hash_iterations=200_000,
        log_level=log_level,
        access_log=True,
    )
    try:
        fabric.start()
    except OSError as exc:
        click.echo(f"Cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        return 1
    stop = threading.Event()

    def _request_stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    out = sys.stdout
    print(f"Fabric emulator {__version__} listening on {fabric.base_url}", file=out, flush=True)
    print(f"  organization_id: {fabric.organization_id}", file=out)
    print(f"  api_key:         {fabric.api_key}", file=out)
    print(f"  owner:           {fabric.owner['email']} / {fabric.owner['password']}", file=out)
    print(f"  database:        {db or 'in memory'}    speed: {speed:g}", file=out)
    print(
        "  controls:        /_emulator/seed, /_emulator/faults, /_emulator/outbox, /_emulator/clock/advance",
        file=out,
    )
    print("Press Ctrl+C to stop.", file=out, flush=True)
    try:
        while not stop.wait(0.5):
            if not fabric.running:
                click.echo("The emulator stopped unexpectedly.", err=True)
                return 1
    finally:
        fabric.stop()
    print("Stopped.", file=out, flush=True)
    return 0
