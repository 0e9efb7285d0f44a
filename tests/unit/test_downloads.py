"""Downloads against scripted servers (httpx.MockTransport): names, credentials, integrity,
atomicity, retries, resume, expired URLs, progress — sync and async.

The destination folder is always a subfolder of pytest's tmp_path, so "nothing escaped"
is checked by listing everything under tmp_path afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Dict, Iterator, List, Optional

import httpx
import pytest

from fabric_platform import AsyncFabricClient, DownloadProgress, FabricClient
from fabric_platform._async import transfers as async_transfers
from fabric_platform._sync import transfers as sync_transfers
from fabric_platform.errors import (
    FabricConnectionError,
    FabricDownloadError,
    FabricForbiddenError,
    FabricNotFoundError,
)
from fabric_platform.models import RunArtifact, RunOutput

BASE = "https://api.fabric.test"
CDN = "https://cdn.fabric.test"
BODY = bytes(range(256)) * 400  # 102,400 bytes
SHA = hashlib.sha256(BODY).hexdigest()
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def _instant_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_wait(_: float) -> None:
        return None

    monkeypatch.setattr(sync_transfers, "_sleep", lambda _: None)
    monkeypatch.setattr(async_transfers, "_sleep", no_wait)


def _client(handler: Handler, **http_kwargs: Any) -> FabricClient:
    http = httpx.Client(transport=httpx.MockTransport(handler), **http_kwargs)
    return FabricClient(base_url=BASE, api_key="fab_test_secret", organization_id="org-1", http_client=http)


def _aclient(handler: Handler, **http_kwargs: Any) -> AsyncFabricClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), **http_kwargs)
    return AsyncFabricClient(
        base_url=BASE, api_key="fab_test_secret", organization_id="org-1", http_client=http
    )


def _files(root: Path) -> List[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _artifact(**fields: Any) -> Dict[str, Any]:
    base = {"id": "art-1", "run_id": "run-1", "filename": "video.mp4", "download_url": f"{CDN}/a/art-1?sig=s"}
    base.update(fields)
    return base


class Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body sent in chunks that may end with a network error after ``fail_after`` bytes."""

    def __init__(self, data: bytes, *, chunk: int = 8192, fail_after: Optional[int] = None) -> None:
        self.data, self.chunk, self.fail_after = data, chunk, fail_after

    def _parts(self) -> Iterator[bytes]:
        limit = len(self.data) if self.fail_after is None else self.fail_after
        for i in range(0, limit, self.chunk):
            yield self.data[i : min(i + self.chunk, limit)]

    def __iter__(self) -> Iterator[bytes]:
        yield from self._parts()
        if self.fail_after is not None:
            raise httpx.ReadError("connection reset by peer")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self._parts():
            yield part
        if self.fail_after is not None:
            raise httpx.ReadError("connection reset by peer")


def _file_response(data: bytes = BODY, status: int = 200, **headers: str) -> httpx.Response:
    all_headers = {"content-type": "application/octet-stream", "content-length": str(len(data))}
    all_headers.update({k.replace("_", "-"): v for k, v in headers.items()})
    return httpx.Response(status, headers=all_headers, stream=Chunks(data))


# --------------------------------------------------------------------------- names


HOSTILE = [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\Windows\\System32\\evil.dll", "evil.dll"),
    ("/etc/cron.d/job", "job"),
    ("C:\\autoexec.bat", "autoexec.bat"),
    ("C:evil.txt", "evil.txt"),
    ("..", "art-1"),
    ("", "art-1"),
    ("   ", "art-1"),
    ("a\x00b\nc.png", "abc.png"),
    ("\u202egnp.exe", "gnp.exe"),
    ("CON", "_CON"),
    ("nul.txt", "_nul.txt"),
    (".bashrc", "bashrc"),
    ("x" * 400 + ".mp4", "x" * 196 + ".mp4"),
    ('re"port<1>:?.pdf', "re_port_1___.pdf"),
]


@pytest.mark.parametrize(("hostile", "expected"), HOSTILE, ids=[repr(h)[:20] for h, _ in HOSTILE])
def test_a_hostile_artifact_filename_stays_inside_the_destination(
    tmp_path: Path, hostile: str, expected: str
) -> None:
    dest = tmp_path / "deep" / "downloads"
    dest.mkdir(parents=True)
    with _client(lambda r: _file_response()) as fabric:
        path = fabric.download_artifact(_artifact(filename=hostile), dest)
    assert path == dest / expected
    assert path.read_bytes() == BODY
    assert _files(tmp_path) == [f"deep/downloads/{expected}"]


@pytest.mark.parametrize(
    "disposition",
    [
        'attachment; filename="../../../outside.txt"',
        "attachment; filename*=UTF-8''..%2F..%2Foutside.txt",
        'attachment; filename="/abs/outside.txt"',
        'attachment; filename="C:\\\\outside.txt"',
    ],
)
def test_a_hostile_content_disposition_stays_inside_the_destination(tmp_path: Path, disposition: str) -> None:
    dest = tmp_path / "in"
    dest.mkdir()
    with _client(lambda r: _file_response(content_disposition=disposition)) as fabric:
        path = fabric.download_artifact(f"{CDN}/x?sig=1", dest)
    assert path == dest / "outside.txt"
    assert _files(tmp_path) == ["in/outside.txt"]


def test_async_hostile_names_stay_inside(tmp_path: Path) -> None:
    async def main() -> Path:
        async with _aclient(lambda r: _file_response()) as fabric:
            return await fabric.download_artifact(_artifact(filename="../../../etc/shadow"), tmp_path)

    assert asyncio.run(main()) == tmp_path / "shadow"
    assert _files(tmp_path) == ["shadow"]


def test_dest_is_a_folder_or_a_file_path(tmp_path: Path) -> None:
    with _client(lambda r: _file_response()) as fabric:
        # an existing folder: the artifact's own name
        assert fabric.download_artifact(_artifact(), tmp_path) == tmp_path / "video.mp4"
        # a path that does not exist: that exact file (parents created)
        assert (
            fabric.download_artifact(_artifact(), tmp_path / "a" / "clip.bin") == tmp_path / "a" / "clip.bin"
        )
        # a trailing separator: a folder to create
        assert fabric.download_artifact(_artifact(), f"{tmp_path}/b/") == tmp_path / "b" / "video.mp4"
        # filename=: always a folder, and the name is sanitised too
        assert (
            fabric.download_artifact(_artifact(), tmp_path / "c", filename="../x.mp4")
            == tmp_path / "c" / "x.mp4"
        )
        # a URL without any name: its last path segment
        assert (
            fabric.download_artifact(f"{CDN}/files/report.pdf?sig=1", f"{tmp_path}/d/")
            == tmp_path / "d" / "report.pdf"
        )
    assert _files(tmp_path) == ["a/clip.bin", "b/video.mp4", "c/x.mp4", "d/report.pdf", "video.mp4"]


def test_download_overwrites_an_existing_file_atomically(tmp_path: Path) -> None:
    (tmp_path / "video.mp4").write_bytes(b"old")
    with _client(lambda r: _file_response()) as fabric:
        fabric.download_artifact(_artifact(), tmp_path)
    assert (tmp_path / "video.mp4").read_bytes() == BODY and _files(tmp_path) == ["video.mp4"]


# --------------------------------------------------------------------------- credentials


def test_signed_urls_get_no_credentials_even_from_the_http_client(tmp_path: Path) -> None:
    seen: List[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _file_response()

    with _client(
        handler,
        headers={"Authorization": "Bearer app-default", "X-Principal-Id": "p-1"},
        cookies={"session": "cookie-secret"},
        auth=("user", "basic-secret"),
    ) as fabric:
        fabric.download_artifact(_artifact(), tmp_path)
    (request,) = seen
    assert request.url.host == "cdn.fabric.test"
    for header in ("authorization", "x-principal-id", "cookie", "x-api-key"):
        assert header not in request.headers, header
    assert "fab_test_secret" not in str(request.headers) and "secret" not in str(request.headers)
    assert request.headers["user-agent"].startswith("fabric-platform-python/")


def test_async_signed_urls_get_no_credentials(tmp_path: Path) -> None:
    seen: List[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _file_response()

    async def main() -> None:
        async with _aclient(handler, headers={"Authorization": "Bearer app-default"}) as fabric:
            await fabric.workflows.runs.download_artifact(_artifact(), tmp_path)

    asyncio.run(main())
    assert "authorization" not in seen[0].headers


def test_a_relative_download_url_is_resolved_against_the_api_without_credentials(tmp_path: Path) -> None:
    seen: List[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _file_response()

    with _client(handler) as fabric:
        fabric.download_artifact(
            _artifact(download_url="/v1/workflows/artifacts/art-1/download?sig=s"), tmp_path
        )
    assert str(seen[0].url) == f"{BASE}/v1/workflows/artifacts/art-1/download?sig=s"
    assert "authorization" not in seen[0].headers


def test_assets_are_downloaded_through_the_api_with_credentials(tmp_path: Path) -> None:
    seen: List[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _file_response(content_disposition='attachment; filename="photo.png"')

    with _client(handler) as fabric:
        path = fabric.assets.download("asset-1", tmp_path)
        assert fabric.download_asset("asset-1") == BODY  # no dest: the bytes, as the contract says
        raw = fabric.with_raw_response.download_asset("asset-1")
    assert path == tmp_path / "photo.png" and path.read_bytes() == BODY
    assert raw.data == BODY and raw.status_code == 200
    assert [r.url.path for r in seen] == ["/v1/assets/asset-1"] * 3
    assert all(r.headers["authorization"] == "Bearer fab_test_secret" for r in seen)


def test_an_artifact_without_url_falls_back_to_its_asset(tmp_path: Path) -> None:
    seen: List[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return _file_response()

    with _client(handler) as fabric:
        path = fabric.download_artifact(_artifact(download_url=None, asset_id="asset-9"), tmp_path)
        with pytest.raises(ValueError, match="no download_url"):
            fabric.download_artifact(_artifact(download_url=None), tmp_path)
    assert seen == ["/v1/assets/asset-9"] and path.name == "video.mp4"


# --------------------------------------------------------------------------- integrity


def test_size_and_sha256_from_the_artifact_are_checked(tmp_path: Path) -> None:
    with _client(lambda r: _file_response()) as fabric:
        ok = fabric.download_artifact(_artifact(size_bytes=len(BODY), sha256=SHA), tmp_path)
        assert ok.read_bytes() == BODY
        with pytest.raises(FabricDownloadError) as info:
            fabric.download_artifact(_artifact(sha256="0" * 64, filename="bad.mp4"), tmp_path)
    assert info.value.reason == "sha256" and info.value.actual == SHA
    assert info.value.destination == str(tmp_path / "bad.mp4")
    assert _files(tmp_path) == ["video.mp4"], "a failed download leaves nothing behind"


def test_metadata_and_digest_headers_count_as_expectations(tmp_path: Path) -> None:
    import base64

    digest = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    lying = _client(lambda r: _file_response(repr_digest=f"sha-256=:{digest}:"))
    with lying as fabric, pytest.raises(FabricDownloadError, match="SHA-256"):
        fabric.download_artifact(_artifact(), tmp_path)
    with _client(lambda r: _file_response()) as fabric, pytest.raises(FabricDownloadError) as info:
        fabric.download_artifact(_artifact(metadata={"size_bytes": 5}), tmp_path)
    assert info.value.reason == "size" and info.value.expected == 5
    assert _files(tmp_path) == []


def test_an_announced_size_mismatch_fails_before_the_body(tmp_path: Path) -> None:
    with _client(lambda r: _file_response()) as fabric, pytest.raises(FabricDownloadError) as info:
        fabric.download_artifact(f"{CDN}/x?sig=1", tmp_path, expected_size=10)
    assert (info.value.expected, info.value.actual) == (10, len(BODY))
    assert _files(tmp_path) == []


def test_a_body_growing_past_the_expected_size_is_abandoned_at_once(tmp_path: Path) -> None:
    endless = Chunks(b"\0" * (50 * 8192))
    written: List[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=endless)  # no Content-Length

    with _client(handler) as fabric, pytest.raises(FabricDownloadError):
        fabric.download_artifact(
            f"{CDN}/x?sig=1",
            tmp_path,
            expected_size=10_000,
            on_progress=lambda p: written.append(p.downloaded),
        )
    assert max(written) <= 10_000 and _files(tmp_path) == []


def test_expectations_are_validated_before_any_request(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    with _client(handler) as fabric:
        with pytest.raises(ValueError, match="expected_sha256"):
            fabric.download_artifact(_artifact(), tmp_path, expected_sha256="abc")
        with pytest.raises(ValueError, match="expected_size"):
            fabric.download_artifact(_artifact(), tmp_path, expected_size=-1)
        with pytest.raises(TypeError):
            fabric.download_artifact(42, tmp_path)
        with pytest.raises(ValueError, match="need dest"):
            fabric.download_asset("asset-1", filename="x.bin")


def test_bytes_downloads_are_verified_too() -> None:
    with _client(lambda r: _file_response()) as fabric:
        assert fabric.download_asset("a", expected_sha256=SHA, expected_size=len(BODY)) == BODY
        with pytest.raises(FabricDownloadError):
            fabric.download_asset("a", expected_size=1)


def test_an_interrupted_download_leaves_no_partial_file(tmp_path: Path) -> None:
    def stop(progress: DownloadProgress) -> None:
        if progress.downloaded > 50_000:
            raise KeyboardInterrupt

    with _client(lambda r: _file_response()) as fabric, pytest.raises(KeyboardInterrupt):
        fabric.download_artifact(_artifact(), tmp_path, on_progress=stop)
    assert _files(tmp_path) == []


def test_async_mismatch_leaves_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        async with _aclient(lambda r: _file_response()) as fabric:
            await fabric.download_artifact(_artifact(sha256="f" * 64), tmp_path)

    with pytest.raises(FabricDownloadError):
        asyncio.run(main())
    assert _files(tmp_path) == []


# --------------------------------------------------------------------------- retries and resume


class Server:
    """Answers a signed URL; the first ``drops`` responses break after ``at`` bytes."""

    def __init__(
        self, *, drops: int, at: int = 30_000, ranges: bool = False, honour_range: bool = True
    ) -> None:
        self.drops, self.at, self.ranges, self.honour_range = drops, at, ranges, honour_range
        self.requests: List[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        headers = {"content-type": "application/octet-stream"}
        if self.ranges:
            headers.update({"accept-ranges": "bytes", "etag": '"v1"'})
        start, status = 0, 200
        wanted = request.headers.get("range")
        if wanted and self.honour_range and request.headers.get("if-range") == '"v1"':
            start, status = int(wanted.split("=")[1].rstrip("-")), 206
            headers["content-range"] = f"bytes {start}-{len(BODY) - 1}/{len(BODY)}"
        data = BODY[start:]
        headers["content-length"] = str(len(data))
        fail = self.at if len(self.requests) <= self.drops else None
        return httpx.Response(status, headers=headers, stream=Chunks(data, fail_after=fail))


def test_a_dropped_connection_starts_over_without_range_support(tmp_path: Path) -> None:
    server = Server(drops=2)
    with _client(server) as fabric:
        path = fabric.download_artifact(_artifact(sha256=SHA), tmp_path)
    assert path.read_bytes() == BODY
    assert [r.headers.get("range") for r in server.requests] == [None, None, None]


def test_a_dropped_connection_resumes_with_range_when_the_server_supports_it(tmp_path: Path) -> None:
    server = Server(drops=2, ranges=True, at=40_000)
    progress: List[DownloadProgress] = []
    with _client(server) as fabric:
        path = fabric.download_artifact(_artifact(sha256=SHA), tmp_path, on_progress=progress.append)
    assert path.read_bytes() == BODY
    assert [r.headers.get("range") for r in server.requests] == [None, "bytes=40000-", "bytes=80000-"]
    assert [r.headers.get("if-range") for r in server.requests[1:]] == ['"v1"', '"v1"']
    assert progress[-1] == DownloadProgress("video.mp4", len(BODY), len(BODY))
    assert [p.downloaded for p in progress] == sorted(p.downloaded for p in progress)


def test_a_server_that_ignores_range_sends_it_all_again(tmp_path: Path) -> None:
    server = Server(drops=1, ranges=True, honour_range=False)
    with _client(server) as fabric:
        path = fabric.download_artifact(_artifact(sha256=SHA), tmp_path)
    assert path.read_bytes() == BODY and server.requests[1].headers.get("range") == "bytes=30000-"


def test_async_resume(tmp_path: Path) -> None:
    server = Server(drops=1, ranges=True)

    async def main() -> Path:
        async with _aclient(server) as fabric:
            return await fabric.download_artifact(_artifact(sha256=SHA), tmp_path)

    assert asyncio.run(main()).read_bytes() == BODY
    assert server.requests[1].headers.get("range") == "bytes=30000-"


def test_a_download_that_never_gets_further_gives_up(tmp_path: Path) -> None:
    server = Server(drops=100)
    with _client(server) as fabric, pytest.raises(FabricConnectionError):
        fabric.download_artifact(_artifact(), tmp_path)
    assert len(server.requests) == 3  # the first attempt and max_retries=2 more
    assert _files(tmp_path) == []


def test_transient_statuses_are_retried_and_others_raise(tmp_path: Path) -> None:
    answers = [httpx.Response(503, headers={"retry-after": "0"}), _file_response()]
    with _client(lambda r: answers.pop(0)) as fabric:
        assert fabric.download_artifact(_artifact(), tmp_path).read_bytes() == BODY
    gone = _client(lambda r: httpx.Response(404, text="<html>gone</html>"))
    with gone as fabric, pytest.raises(FabricNotFoundError) as info:
        fabric.download_artifact(f"{CDN}/x?signature=topsecret", tmp_path)
    assert "topsecret" not in str(info.value)


def test_an_expired_signed_url_is_refreshed_once(tmp_path: Path) -> None:
    seen: List[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.host}{request.url.path}?{request.url.query.decode()}")
        if request.url.host == "api.fabric.test":
            fresh = [_artifact(download_url=f"{CDN}/a/art-1?sig=fresh")]
            return httpx.Response(200, json={"data": fresh, "meta": {"status": 200}, "error": None})
        if request.url.params["sig"] == "old":
            return httpx.Response(
                403, json={"data": None, "error": {"code": "forbidden", "message": "expired"}}
            )
        return _file_response()

    with _client(handler) as fabric:
        path = fabric.download_artifact(_artifact(download_url=f"{CDN}/a/art-1?sig=old"), tmp_path)
    assert path.read_bytes() == BODY
    assert seen == [
        "cdn.fabric.test/a/art-1?sig=old",
        "api.fabric.test/v1/workflows/runs/run-1/artifacts?",
        "cdn.fabric.test/a/art-1?sig=fresh",
    ]


def test_a_bare_expired_url_cannot_be_refreshed(tmp_path: Path) -> None:
    with _client(lambda r: httpx.Response(403)) as fabric, pytest.raises(FabricForbiddenError):
        fabric.download_artifact(f"{CDN}/x?sig=old", tmp_path)


# --------------------------------------------------------------------------- all artifacts


def _output() -> Dict[str, Any]:
    def art(i: int, name: str, url: bool = True) -> Dict[str, Any]:
        return {
            "id": f"art-{i}",
            "run_id": "run-1",
            "filename": name,
            "variant_index": i,
            "download_url": f"{CDN}/{i}?sig=s" if url else None,
        }

    return {
        "run_id": "run-1",
        "status": "completed",
        "variants": 3,
        "outputs": [
            {"variant_index": 0, "output": {}, "artifacts": [art(0, "short.mp4")]},
            {
                "variant_index": 1,
                "output": {},
                "artifacts": [art(1, "short.mp4"), art(9, "notes.txt", url=False)],
            },
            {"variant_index": 2, "output": {}, "artifacts": [art(2, "SHORT.mp4"), art(3, "../thumb.png")]},
        ],
    }


def _by_path(request: httpx.Request) -> httpx.Response:
    if request.url.host == "api.fabric.test":
        return httpx.Response(200, json={"data": _output(), "meta": {"status": 200}, "error": None})
    return _file_response(request.url.path.encode() * 10)


def test_download_all_artifacts_names_every_file_uniquely(tmp_path: Path) -> None:
    progress: List[str] = []
    with _client(_by_path) as fabric:
        paths = fabric.download_all_artifacts(
            RunOutput.model_validate(_output()),
            tmp_path / "run",
            on_progress=lambda p: progress.append(p.name),
        )
        again = fabric.workflows.runs.download_all_artifacts("run-1", tmp_path / "run")
    names = ["short.mp4", "short-1.mp4", "SHORT-2.mp4", "thumb.png"]
    assert [p.name for p in paths] == names and again == paths  # same run, same names
    assert [p.read_bytes() for p in paths] == [f"/{i}".encode() * 10 for i in (0, 1, 2, 3)]
    assert _files(tmp_path) == sorted(f"run/{n}" for n in names)
    assert set(progress) == set(names)


def test_async_download_all_artifacts(tmp_path: Path) -> None:
    async def main() -> List[Path]:
        async with _aclient(_by_path) as fabric:
            return await fabric.download_all_artifacts("run-1", tmp_path)

    assert [p.name for p in asyncio.run(main())] == ["short.mp4", "short-1.mp4", "SHORT-2.mp4", "thumb.png"]


def test_run_artifact_models_and_dicts_are_both_accepted(tmp_path: Path) -> None:
    model = RunArtifact.model_validate(_artifact(sha256=SHA))
    with _client(lambda r: _file_response()) as fabric:
        assert fabric.download_artifact(model, tmp_path).read_bytes() == BODY
        assert fabric.download_artifact(json.loads(model.model_dump_json()), f"{tmp_path}/x/").exists()


def test_the_temp_file_is_hidden_and_next_to_the_target(tmp_path: Path) -> None:
    seen: List[List[str]] = []

    def look(progress: DownloadProgress) -> None:
        seen.append(os.listdir(tmp_path))

    with _client(lambda r: _file_response()) as fabric:
        fabric.download_artifact(_artifact(), tmp_path, on_progress=look)
    (during,) = {tuple(s) for s in seen}
    assert len(during) == 1 and during[0].startswith(".video.mp4.") and during[0].endswith(".part")
    assert os.listdir(tmp_path) == ["video.mp4"]


def test_a_range_nobody_asked_for_is_refused(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _file_response(BODY[100:], status=206, content_range=f"bytes 100-{len(BODY) - 1}/{len(BODY)}")

    with _client(handler) as fabric, pytest.raises(FabricDownloadError) as info:
        fabric.download_artifact(_artifact(), tmp_path)
    assert info.value.reason == "range" and _files(tmp_path) == []
