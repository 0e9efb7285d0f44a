"""A tiny canned-response HTTP/1.1 server, run in its own process, for the benchmarks.

Why not the emulator: these benchmarks measure the *client's* CPU, so the server has to
live in another process and answer as cheaply and as identically as possible for the SDK
and its baseline. Only stdlib asyncio; listens on 127.0.0.1 only; keep-alive; exits by
itself when its parent closes stdin or after ``--max-seconds``.

Routes (anything else is a 404; a ``/lat-<ms>`` prefix delays the answer by <ms> ms):

* ``GET /v1/workflow-runs/<id>`` — a real run envelope captured from the emulator (969 B);
* ``GET /v1/workflow-runs/sse-<N>/events`` — ``retry:`` then N events of ~200 B JSON in
  the emulator's wire format, the last one ``workflow.run.completed``; sent with chunked
  transfer encoding in 64 KiB chunks (a busy stream: many events per read);
* ``GET /files/<N>`` — N bytes of deterministic data, ``Content-Length`` set, 256 KiB writes.

Usage (the parent reads the first line, ``PORT <n>``)::

    python bench/_servers.py [--max-seconds 900]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
from typing import Dict, Iterator, Tuple

RUN_ID = "7af544ba-4c55-4049-b804-88a490c00342"
RUN_BODY = (
    b'{"data":{"id":"7af544ba-4c55-4049-b804-88a490c00342","organization_id":"00000000-0000-0000-0000-'
    b'000000000010","team_id":null,"workflow_definition_id":null,"workflow_name":"research/trends",'
    b'"created_by":"18ea03a8-64d6-47c0-94f4-56f0d23c6262","status":"completed","progress":{"total_tasks'
    b'":2,"completed_tasks":2,"current_task":null,"percentage":100.0},"input":{"topic":"agents"},'
    b'"output":{"topic":"agents","trends":[{"title":"Surging regulation in agents","score":0.933},'
    b'{"title":"Fragmenting open-source projects in agents","score":0.863},{"title":"Maturing '
    b'pricing models in agents","score":0.771}]},"error":null,"variants":1,"priority":null,"metadata":'
    b'null,"parent_run_id":null,"parent_variant_index":null,"created_at":"2026-11-29T17:28:31.551879Z",'
    b'"started_at":"2026-11-29T17:28:31.565619Z","completed_at":"2026-11-29T17:28:31.756143Z",'
    b'"updated_at":"2026-11-29T17:28:31.756208Z"},"meta":{"request_id":"req_d4d5450741f04edaa9c25d77'
    b'ed8b2033","status":200},"error":null}'
)
RUN_HEADERS = [
    ("content-type", "application/json"),
    ("content-length", str(len(RUN_BODY))),
    ("x-request-id", "req_d4d5450741f04edaa9c25d77ed8b2033"),
]

_SSE_CHUNK = 64 * 1024
_FILE_WRITE = 256 * 1024
_NOT_FOUND = b'{"data":null,"meta":{},"error":{"code":"not_found","message":"no such route"}}'


def sse_event(n: int, kind: str = "workflow.run.progress") -> bytes:
    """Event number ``n`` exactly as the emulator encodes it (~200 B of JSON)."""
    doc = {
        "id": str(n),
        "kind": kind,
        "organization_id": "00000000-0000-0000-0000-000000000010",
        "run_id": RUN_ID,
        "data": {"completed_tasks": n % 7, "total_tasks": 7, "percentage": round(n % 7 / 7 * 100, 1)},
        "timestamp": "2026-11-29T17:28:31.551879Z",
    }
    payload = json.dumps(doc, separators=(",", ":"))
    return f"id: {n}\nevent: {kind}\ndata: {payload}\n\n".encode()


def sse_body(count: int) -> bytes:
    """``retry:`` then ``count`` events, the last one terminal."""
    parts = [b"retry: 1000\n\n"]
    parts.extend(sse_event(n) for n in range(1, count))
    parts.append(sse_event(count, "workflow.run.completed"))
    return b"".join(parts)


def file_block() -> bytes:
    """1 MiB of deterministic bytes; a file of N bytes repeats it."""
    import hashlib

    seed = hashlib.sha256(b"fabric-bench").digest()
    out = bytearray()
    counter = 0
    while len(out) < 1 << 20:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[: 1 << 20])


def _head(status: str, headers: list) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class CannedServer:
    def __init__(self) -> None:
        self._sse_cache: Dict[int, bytes] = {}
        self._block = file_block()
        self._run_response = _head("200 OK", RUN_HEADERS) + RUN_BODY

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                request_line, _, rest = head.partition(b"\r\n")
                parts = request_line.split(b" ")
                if len(parts) != 3:
                    return
                target = parts[1].decode("latin-1").split("?", 1)[0]
                length = 0
                for line in rest.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip() or b"0")
                if length:
                    await reader.readexactly(length)
                await self.respond(target, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Shutdown with the connection still open: end quietly (on 3.11 a cancelled
            # handler makes asyncio's stream callback log a spurious traceback).
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def respond(self, path: str, writer: asyncio.StreamWriter) -> None:
        if path.startswith("/lat-"):
            # /lat-<ms>/...: answer after <ms> milliseconds (a server with some service time;
            # requests on other connections proceed meanwhile).
            prefix, _, rest = path[1:].partition("/")
            await asyncio.sleep(int(prefix[4:]) / 1000.0)
            path = "/" + rest
        if path.startswith("/v1/workflow-runs/"):
            rest = path[len("/v1/workflow-runs/") :]
            if rest.endswith("/events") and rest.startswith("sse-"):
                await self.sse(int(rest[4:-7]), writer)
                return
            if "/" not in rest:
                writer.write(self._run_response)
                return
        if path.startswith("/files/"):
            await self.file(int(path[len("/files/") :]), writer)
            return
        writer.write(
            _head(
                "404 Not Found",
                [("content-type", "application/json"), ("content-length", str(len(_NOT_FOUND)))],
            )
            + _NOT_FOUND
        )

    async def sse(self, count: int, writer: asyncio.StreamWriter) -> None:
        body = self._sse_cache.get(count)
        if body is None:
            body = self._sse_cache[count] = sse_body(count)
        writer.write(
            _head(
                "200 OK",
                [
                    ("content-type", "text/event-stream"),
                    ("cache-control", "no-cache"),
                    ("transfer-encoding", "chunked"),
                ],
            )
        )
        view = memoryview(body)
        for start in range(0, len(body), _SSE_CHUNK):
            piece = view[start : start + _SSE_CHUNK]
            writer.write(b"%x\r\n" % len(piece))
            writer.write(piece)
            writer.write(b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def file(self, size: int, writer: asyncio.StreamWriter) -> None:
        writer.write(
            _head(
                "200 OK",
                [
                    ("content-type", "application/octet-stream"),
                    ("content-length", str(size)),
                    ("content-disposition", 'attachment; filename="big.bin"'),
                ],
            )
        )
        block = memoryview(self._block)
        left = size
        while left > 0:
            offset = (size - left) % len(block)
            piece = block[offset : offset + min(left, _FILE_WRITE, len(block) - offset)]
            writer.write(piece)
            left -= len(piece)
            await writer.drain()


def file_bytes(size: int) -> Iterator[bytes]:
    """The bytes ``GET /files/<size>`` sends (to compute the expected digest client-side)."""
    block = file_block()
    left = size
    while left > 0:
        offset = (size - left) % len(block)
        piece = block[offset : offset + min(left, _FILE_WRITE, len(block) - offset)]
        yield piece
        left -= len(piece)


async def _serve(max_seconds: float) -> None:
    server = CannedServer()
    srv = await asyncio.start_server(server.handle, "127.0.0.1", 0, backlog=2048, limit=1 << 20)
    port = srv.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()

    def watch_stdin() -> None:
        # The parent closing our stdin (or dying) ends the server.
        with contextlib.suppress(Exception):
            sys.stdin.buffer.read()
        loop.call_soon_threadsafe(lambda: stop.done() or stop.set_result(None))

    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        await asyncio.wait_for(stop, timeout=max_seconds)
    except asyncio.TimeoutError:
        pass
    srv.close()


@contextlib.contextmanager
def canned_server(max_seconds: float = 900.0) -> Iterator[Tuple[str, int]]:
    """Start the canned server in a child process; yields ``(base_url, pid)``."""
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--max-seconds", str(max_seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.startswith("PORT "):
            raise RuntimeError(f"canned server did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line[5:])}", proc.pid
    finally:
        with contextlib.suppress(Exception):
            assert proc.stdin is not None
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args()
    asyncio.run(_serve(args.max_seconds))


if __name__ == "__main__":
    main()
