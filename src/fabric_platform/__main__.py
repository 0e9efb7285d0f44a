"""Command line: ``fabric-platform emulator`` runs the local Fabric emulator standalone.

    fabric-platform emulator --host 127.0.0.1 --port 8787 [--db PATH] [--speed X]

It prints the base URL, the seeded organization and its owner's API key, then serves until
interrupted (Ctrl+C or SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import List, Optional

from ._version import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fabric-platform", description="fabric-platform command line")
    parser.add_argument("--version", action="version", version=f"fabric-platform {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    emulator = commands.add_parser("emulator", help="run the local Fabric emulator (a real HTTP server)")
    emulator.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    emulator.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 picks a free one)")
    emulator.add_argument(
        "--db", metavar="PATH", default=None, help="SQLite file to keep state across restarts"
    )
    emulator.add_argument(
        "--speed", type=float, default=1.0, help="divide simulated work time by this (default 1)"
    )
    emulator.add_argument(
        "--access-token-ttl", type=float, default=900.0, help="access token lifetime in seconds (default 900)"
    )
    emulator.add_argument(
        "--no-principal-header", action="store_true", help="refuse X-Principal-Id (API keys / tokens only)"
    )
    emulator.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    return parser


def _run_emulator(args: argparse.Namespace) -> int:
    try:
        from .testing._local import LocalFabric
    except ImportError as exc:  # the emulator extra is missing
        print(
            f"The emulator needs extra packages ({exc.name}): pip install 'fabric-platform[emulator]'",
            file=sys.stderr,
        )
        return 2
    if args.speed <= 0:
        print("--speed must be positive", file=sys.stderr)
        return 2
    fabric = LocalFabric(
        db_path=args.db,
        speed=args.speed,
        access_token_ttl=args.access_token_ttl,
        principal_header=not args.no_principal_header,
        host=args.host,
        port=args.port,
        # The standalone server is somebody's dev environment: use a realistic password cost.
        password_hash_iterations=200_000,
        log_level=args.log_level,
        access_log=True,
    )
    try:
        fabric.start()
    except OSError as exc:
        print(f"Cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def _request_stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    print(f"Fabric emulator {__version__} listening on {fabric.base_url}", flush=True)
    print(f"  organization_id: {fabric.organization_id}")
    print(f"  api_key:         {fabric.api_key}")
    print(f"  owner:           {fabric.owner['email']} / {fabric.owner['password']}")
    print(f"  database:        {args.db or 'in memory'}    speed: {args.speed:g}")
    print(
        "  controls:        /_emulator/seed, /_emulator/faults, /_emulator/outbox, /_emulator/clock/advance"
    )
    print("Press Ctrl+C to stop.", flush=True)
    try:
        while not stop.wait(0.5):
            if not fabric.running:
                print("The emulator stopped unexpectedly.", file=sys.stderr)
                return 1
    finally:
        fabric.stop()
    print("Stopped.", flush=True)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "emulator":
        return _run_emulator(args)
    parser.print_help()
    return 0 if args.command is None else 2


if __name__ == "__main__":
    sys.exit(main())
