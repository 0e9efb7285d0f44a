"""Download memory: a 200 MB artifact streamed to disk, peak RSS growth of the client process.

The canned server (another process) serves ``/files/<N>``: N bytes with ``Content-Length``.
Each measurement runs in a fresh interpreter, which imports and warms up first (a 1 MB
download), then resets the kernel's peak-RSS mark (``/proc/self/clear_refs``) and records
``VmHWM − VmRSS before``: how much memory the download added at its peak.

* **SDK** — ``FabricClient.download_artifact(url, dest_dir, filename=..., expected_size=...,
  expected_sha256=...)``: the public API for a signed artifact URL (streamed to a
  temp file, verified, renamed into place).
* **raw** — ``httpx.Client.stream`` + ``iter_bytes()`` written to a file (no verification).

Rounds interleave SDK and raw processes. Throughput is reported for information.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from typing import Dict, List

from _common import BENCH_DIR, ROOT, Row, Summary, command, interleave, log, python, ratios
from _servers import canned_server, file_bytes

API_KEY = "fab_test_bench0000000000000000"

_CHILD = r"""
import json, os, re, sys, time
sys.path.insert(0, {bench!r})
import httpx
from fabric_platform import FabricClient

def status(field):
    return int(re.search(field + r":\s+(\d+)", open("/proc/self/status").read()).group(1)) * 1024

base, size, digest, dest, mode = {base!r}, {size}, {digest!r}, {dest!r}, {mode!r}
url = f"{{base}}/files/{{size}}"
if mode == "sdk":
    client = FabricClient(base_url=base, api_key={key!r})
    def fetch(u, name, n, sha):
        return client.download_artifact(u, dest, filename=name, expected_size=n, expected_sha256=sha)
else:
    client = httpx.Client(timeout=60.0)
    def fetch(u, name, n, sha):
        path = os.path.join(dest, name)
        with client.stream("GET", u) as response, open(path, "wb") as fh:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                fh.write(chunk)
        return path
warm = fetch(f"{{base}}/files/{{1 << 20}}", "warm.bin", 1 << 20, None)
os.remove(warm)
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset the peak-RSS mark (VmHWM) to the current RSS
before = status("VmRSS")
start = time.perf_counter()
path = fetch(url, "big.bin", size, digest if mode == "sdk" else None)
elapsed = time.perf_counter() - start
peak = status("VmHWM")
assert os.path.getsize(path) == size
os.remove(path)
print(json.dumps({{"growth": peak - before, "seconds": elapsed}}))
"""


def _measure(base: str, size: int, digest: str, mode: str) -> Dict[str, float]:
    dest = tempfile.mkdtemp(prefix="fabric-bench-dl-")
    try:
        code = _CHILD.format(
            bench=BENCH_DIR, base=base, size=size, digest=digest, dest=dest, mode=mode, key=API_KEY
        )
        out = subprocess.run(
            [python(), "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600, check=False
        )
        if out.returncode != 0:
            raise RuntimeError(f"download child ({mode}) failed:\n{out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def run(smoke: bool) -> List[Row]:
    size, rounds = (8 << 20, 1) if smoke else (200 << 20, 5)
    if not os.path.exists("/proc/self/clear_refs"):
        return [
            Row(
                name="download memory",
                sdk="",
                baseline="",
                result="not measured: needs Linux /proc/self/clear_refs",
                target="peak RSS growth ≤ 32 MB",
                met=None,
                command=command("download", smoke),
            )
        ]
    digest = hashlib.sha256()
    for piece in file_bytes(size):
        digest.update(piece)
    log(f"download: {size >> 20} MB, {rounds} interleaved rounds (fresh process each)")
    results: Dict[str, List[Dict[str, float]]] = {"sdk": [], "raw": []}
    with canned_server() as (base, _pid):

        def measure(mode: str) -> float:
            r = _measure(base, size, digest.hexdigest(), mode)
            results[mode].append(r)
            log(
                f"  {mode}: peak growth {r['growth'] / 2**20:.1f} MiB, {size / r['seconds'] / 2**20:.0f} MiB/s"
            )
            return r["growth"] / 2**20

        growth = interleave(rounds, {"sdk": lambda: measure("sdk"), "raw": lambda: measure("raw")})
    speed = {mode: [size / r["seconds"] / 2**20 for r in rs] for mode, rs in results.items()}
    speed_ratio = Summary.of(ratios(speed["sdk"], speed["raw"]))
    sdk_growth = Summary.of(growth["sdk"])
    return [
        Row(
            name=f"download memory: {size >> 20} MB artifact streamed to disk "
            f"(`download_artifact` with size + SHA-256 check; {rounds} fresh processes each)",
            sdk=f"peak RSS +{sdk_growth.fmt('.1f', 'MiB')}; {Summary.of(speed['sdk']).fmt('.0f', 'MiB/s')}",
            baseline=f"raw `httpx` stream to file: +{Summary.of(growth['raw']).fmt('.1f', 'MiB')}; "
            f"{Summary.of(speed['raw']).fmt('.0f', 'MiB/s')}",
            result=f"peak RSS growth {sdk_growth.median:.1f} MiB (max {sdk_growth.high:.1f}); "
            f"speed {speed_ratio.fmt('.2f', '×')} raw",
            target="peak RSS growth ≤ 32 MB",
            met=None if smoke else sdk_growth.high <= 32 * 1_000_000 / 2**20,
            command=command("download", smoke),
        )
    ]
