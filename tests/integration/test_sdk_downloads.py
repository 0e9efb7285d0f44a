"""Downloads through the emulator: a 200 MB file with flat memory, every artifact of a
variants run, expired URLs refreshed, signed asset URLs, and nothing left behind on failure.

The emulator has no route serving an arbitrary-size run artifact, so the 200 MB file is an
asset uploaded from a generator (``upload_asset`` streams it; the emulator's upload limit
is raised for this test) and downloaded with ``download_asset(..., dest)``. Memory is
measured around the download only: the emulator runs in this process and holds the whole
upload while storing it.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import httpx
import pytest

from fabric_platform import DownloadProgress, FabricDownloadError
from fabric_platform.errors import FabricForbiddenError
from fabric_platform.testing import LocalFabric

BIG = 200 * 1024 * 1024
MEMORY_BUDGET = 32 * 1024 * 1024
_BLOCK = hashlib.shake_256(b"fabric-download-test").digest(1 << 20)


def _rss() -> int:
    """Resident set size in bytes (Linux); 0 where /proc is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _blocks(size: int) -> Iterator[bytes]:
    for _ in range(size // len(_BLOCK)):
        yield _BLOCK


@pytest.fixture(scope="module")
def local() -> Iterator[LocalFabric]:
    server = LocalFabric(speed=200.0, sse_keepalive=0.5, password_hash_iterations=1000)
    server.config.max_upload_body = BIG + 1024 * 1024
    with server:
        yield server


@pytest.fixture(scope="module")
def big_asset(local: LocalFabric) -> Dict[str, Any]:
    with local.client(timeout=300) as fabric:
        asset = fabric.upload_asset(_blocks(BIG), filename="big.bin")
    digest = hashlib.sha256()
    for block in _blocks(BIG):
        digest.update(block)
    assert asset["size_bytes"] == BIG and asset["sha256"] == digest.hexdigest()
    gc.collect()
    return asset  # type: ignore[no-any-return]


class RssProbe:
    """A progress callback that samples RSS every 32 chunks (reading /proc is not free)."""

    def __init__(self) -> None:
        self.base = _rss()
        self.peak = self.base
        self.calls = 0
        self.last: DownloadProgress = DownloadProgress("", 0, None)

    def __call__(self, progress: DownloadProgress) -> None:
        self.calls += 1
        self.last = progress
        if self.calls % 32 == 0:
            self.peak = max(self.peak, _rss())

    @property
    def growth(self) -> int:
        return max(self.peak, _rss()) - self.base


def test_a_200mb_download_keeps_memory_flat(
    local: LocalFabric, big_asset: Dict[str, Any], tmp_path: Path
) -> None:
    probe = RssProbe()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with local.client(timeout=120) as fabric:
            path = fabric.download_asset(
                big_asset["id"],
                tmp_path,
                expected_sha256=big_asset["sha256"],
                expected_size=big_asset["size_bytes"],
                on_progress=probe,
            )
        _, traced_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert path == tmp_path / "big.bin" and path.stat().st_size == BIG
    assert os.listdir(tmp_path) == ["big.bin"]
    assert probe.last == DownloadProgress("big.bin", BIG, BIG)
    print(
        f"\n200 MB sync download: tracemalloc peak {traced_peak / 2**20:.1f} MiB, RSS growth {probe.growth / 2**20:.1f} MiB"
    )
    assert traced_peak <= MEMORY_BUDGET
    assert probe.growth <= MEMORY_BUDGET


def test_a_200mb_async_download_keeps_memory_flat(
    local: LocalFabric, big_asset: Dict[str, Any], tmp_path: Path
) -> None:
    probe = RssProbe()

    async def main() -> Path:
        async with local.async_client(timeout=120) as fabric:
            return await fabric.assets.download(
                big_asset["id"], tmp_path / "copy.bin", expected_sha256=big_asset["sha256"], on_progress=probe
            )

    path = asyncio.run(main())
    assert path.stat().st_size == BIG and os.listdir(tmp_path) == ["copy.bin"]
    print(f"\n200 MB async download: RSS growth {probe.growth / 2**20:.1f} MiB")
    assert probe.growth <= MEMORY_BUDGET


def test_a_wrong_checksum_leaves_no_file(local: LocalFabric, tmp_path: Path) -> None:
    with local.client() as fabric:
        asset = fabric.upload_asset(b"hello world", filename="hello.txt")
        with pytest.raises(FabricDownloadError) as info:
            fabric.download_asset(asset["id"], tmp_path, expected_sha256="0" * 64)
        assert fabric.download_asset(asset["id"]) == b"hello world"
    assert info.value.reason == "sha256" and os.listdir(tmp_path) == []


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_all_artifacts_of_a_variants_run(local: LocalFabric, tmp_path: Path) -> None:
    with local.client() as fabric:
        output = fabric.workflows.runs.submit_and_get_output(
            "video/ai_shorts", input={"topic": "AI"}, variants=3
        )
        paths = fabric.download_all_artifacts(output, tmp_path / "run")
        by_id = fabric.workflows.runs.download_all_artifacts(output.run_id, tmp_path / "again")
    artifacts = output.all_artifacts
    assert [p.name for p in paths] == ["short.mp4", "short-1.mp4", "short-2.mp4"]
    assert [p.name for p in by_id] == [p.name for p in paths]
    # The emulator publishes size and SHA-256; the SDK checked them, and so do we.
    assert [_sha(p) for p in paths] == [a.sha256 for a in artifacts]
    assert [p.stat().st_size for p in paths] == [a.size_bytes for a in artifacts]
    assert sorted(os.listdir(tmp_path / "run")) == sorted(p.name for p in paths)


def test_async_download_all_artifacts_of_a_bundle(local: LocalFabric, tmp_path: Path) -> None:
    async def main() -> List[Path]:
        async with local.async_client() as fabric:
            output = await fabric.workflows.runs.submit_bundle(
                bundle=[
                    {"workflow": "video/ai_shorts", "input": {"topic": "AI"}},
                    {"workflow": "image/generate-post", "input": {"topic": "AI", "slides": 3}},
                ]
            )
            return await fabric.download_all_artifacts(output, tmp_path)

    paths = asyncio.run(main())
    assert len(paths) == 4 and paths[0].name == "short.mp4"
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths[1:])


def test_an_expired_url_is_refreshed(local: LocalFabric, tmp_path: Path) -> None:
    with local.client() as fabric:
        run = fabric.submit_and_wait(
            "video/face-swap", {"source_url": "https://e/s.jpg", "target_url": "https://e/t.png"}
        )
        stale = fabric.get_run_output(run["id"], expires_in=60).all_artifacts[0]
        local.advance_time(3600)
        with pytest.raises(FabricForbiddenError):  # a bare URL cannot be refreshed
            fabric.download_artifact(stale.download_url, tmp_path)
        path = fabric.download_artifact(stale, tmp_path)  # the artifact knows its run
    assert path.name == "face_swap.png" and _sha(path) == stale.sha256


def test_signed_asset_urls_download_without_credentials(local: LocalFabric, tmp_path: Path) -> None:
    with local.client() as fabric:
        asset = fabric.upload_asset(b"\x00\x01" * 5000, filename="data.bin")
        signed = fabric.asset_signed_url(asset["id"])
        path = fabric.download_artifact(signed["url"], tmp_path, expected_sha256=asset["sha256"])
    assert path.name == "data.bin" and path.stat().st_size == 10000


def _within(folder: Path) -> Callable[[Path], bool]:
    return lambda p: p.resolve().parent == folder.resolve()


def test_server_names_stay_inside_the_folder(local: LocalFabric, tmp_path: Path) -> None:
    with local.client() as fabric:
        asset = fabric.upload_asset(b"x", filename="..\\..\\..\\evil.sh")
        path = fabric.download_asset(asset["id"], tmp_path)
    assert _within(tmp_path)(path) and os.listdir(tmp_path) == [path.name]


class _Cut(httpx.SyncByteStream):
    """A response body that breaks (like a reset connection) after ``at`` bytes."""

    def __init__(self, inner: Any, at: int) -> None:
        self.inner, self.at = inner, at

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for chunk in self.inner:
            if sent + len(chunk) >= self.at:
                yield chunk[: self.at - sent]
                raise httpx.ReadError("connection reset (injected)")
            sent += len(chunk)
            yield chunk

    def close(self) -> None:
        self.inner.close()


class CuttingTransport(httpx.HTTPTransport):
    """The real network, except that the first ``cuts`` file bodies break half-way."""

    def __init__(self, cuts: int, at: int) -> None:
        super().__init__()
        self.cuts, self.at = cuts, at
        self.seen: List[Tuple[Optional[str], int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if "/download" in request.url.path or request.url.path.startswith("/v1/assets/"):
            self.seen.append((request.headers.get("range"), response.status_code))
            if self.cuts > 0:
                self.cuts -= 1
                response.stream = _Cut(response.stream, self.at)
        return response


def test_an_asset_download_cut_half_way_resumes_with_range(local: LocalFabric, tmp_path: Path) -> None:
    data = hashlib.shake_256(b"resume").digest(3 * 1024 * 1024)
    transport = CuttingTransport(cuts=2, at=1024 * 1024)
    with local.client() as setup:
        asset = setup.upload_asset(data, filename="resume.bin")
    with httpx.Client(transport=transport) as http, local.client(http_client=http) as fabric:
        path = fabric.download_asset(asset["id"], tmp_path, expected_sha256=asset["sha256"])
    assert path.read_bytes() == data
    # The emulator serves assets with Accept-Ranges and an ETag: each retry asks for the rest.
    assert transport.seen == [(None, 200), ("bytes=1048576-", 206), ("bytes=2097152-", 206)]


def test_an_artifact_download_cut_half_way_starts_over(local: LocalFabric, tmp_path: Path) -> None:
    with local.client() as setup:
        output = setup.workflows.runs.submit_and_get_output("video/ai_shorts", input={"topic": "cut"})
    artifact = output.all_artifacts[0]
    transport = CuttingTransport(cuts=1, at=4096)
    with httpx.Client(transport=transport) as http, local.client(http_client=http) as fabric:
        path = fabric.download_artifact(artifact, tmp_path)
    assert _sha(path) == artifact.sha256
    # The artifact route advertises no ranges: the retry fetches the whole file again.
    assert transport.seen == [(None, 200), (None, 200)]
