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
import subprocess
import sys
import tracemalloc
from typing import Dict, List

from _common import ROOT, Row, Summary, command, log, python, ratios

MIB = 1024 * 1024


def child(kind: str, size_mib: int) -> None:
    sys.path.insert(0, ROOT)
    from tests.deployment._support import sink_server  # the sink of the upload test

    with sink_server() as base:
        print(json.dumps({"peak_mib": asyncio.run(_upload(kind, f"{base}upload", size_mib))}))


async def _upload(kind: str, url: str, size_mib: int) -> float:
    import httpx

    body = os.urandom(size_mib * MIB)
    if kind == "sdk":
        from fabric_platform._http.aio_http import AsyncHTTP11Transport

        transport: httpx.AsyncBaseTransport = AsyncHTTP11Transport()
    else:
        transport = httpx.AsyncHTTPTransport()

    async with httpx.AsyncClient(transport=transport, timeout=60.0) as client:
        await client.get(url.replace("/upload", "/warm"))
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        response = await client.post(url, content=body)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert response.text == "ok"
        return (peak - start) / MIB


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
