"""Memory of a 64 MiB upload through the async transport: the SDK's vs httpx's default.

Each measurement is a fresh process that allocates the body, starts ``tracemalloc``, sends
the body with ``httpx.AsyncClient.post(content=...)`` to a sink on 127.0.0.1 (a thread
reading into one preallocated buffer, so it allocates nothing itself), and reports the
peak of traced memory above the start: the copies the client stack made of the body.
Processes alternate between the two transports.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import tracemalloc
from typing import Dict, List

from _common import Row, Summary, command, log, python, ratios

MIB = 1024 * 1024


def _serve(conn: socket.socket, view: memoryview) -> None:
    # Keep-alive: answer each request once its body (Content-Length) has arrived.
    pending = b""
    while True:
        while b"\r\n\r\n" not in pending:
            n = conn.recv_into(view)
            if not n:
                return
            pending += bytes(view[:n])
        header, _, rest = pending.partition(b"\r\n\r\n")
        length = 0
        for line in header.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        left = length - len(rest)
        pending = b""
        while left > 0:
            n = conn.recv_into(view, min(left, len(view)))
            if not n:
                return
            left -= n
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def _sink(listener: socket.socket) -> None:
    view = memoryview(bytearray(1024 * 1024))
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            _serve(conn, view)


def child(kind: str, size_mib: int) -> None:
    import httpx

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    threading.Thread(target=_sink, args=(listener,), daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/upload"
    body = os.urandom(size_mib * MIB)
    if kind == "sdk":
        from fabric_platform._aio_http import AsyncHTTP11Transport

        transport: httpx.AsyncBaseTransport = AsyncHTTP11Transport()
    else:
        transport = httpx.AsyncHTTPTransport()

    async def main() -> float:
        async with httpx.AsyncClient(transport=transport, timeout=60.0) as client:
            await client.get(url.replace("/upload", "/warm"))
            tracemalloc.start()
            start = tracemalloc.get_traced_memory()[0]
            response = await client.post(url, content=body)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert response.text == "ok"
            return (peak - start) / MIB

    print(json.dumps({"peak_mib": asyncio.run(main())}))


def _measure(kind: str, size_mib: int) -> float:
    out = subprocess.run(
        [python(), os.path.abspath(__file__), "--child", kind, str(size_mib)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return float(json.loads(out.stdout)["peak_mib"])


def run(smoke: bool) -> List[Row]:
    size, rounds = (4, 1) if smoke else (64, 5)
    res: Dict[str, List[float]] = {"sdk": [], "httpx": []}
    for i in range(rounds):
        for kind in ("sdk", "httpx") if i % 2 == 0 else ("httpx", "sdk"):
            res[kind].append(_measure(kind, size))
        log(
            f"  upload round {i + 1}/{rounds}: sdk +{res['sdk'][-1]:.1f} MiB, httpx +{res['httpx'][-1]:.1f} MiB"
        )
    sdk, base = Summary.of(res["sdk"]), Summary.of(res["httpx"])
    return [
        Row(
            name=f"upload memory: {size} MiB body, `httpx.AsyncClient.post` through the SDK's async transport "
            f"vs httpx's default (tracemalloc peak above the start; {rounds} fresh processes each)",
            sdk=sdk.fmt(".1f", "MiB"),
            baseline=base.fmt(".1f", "MiB"),
            result=f"{Summary.of(ratios(res['sdk'], res['httpx'])).fmt('.2f', '×')} httpx",
            target="≤ httpx's default",
            met=None if smoke else sdk.median <= base.median,
            command=command("upload", smoke),
        )
    ]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
