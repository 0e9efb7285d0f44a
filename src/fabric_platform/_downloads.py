"""Downloads streamed to disk: run artifacts (signed URLs) and assets (the API).

What every download guarantees, for the sync and the async client alike:

* **Flat memory.** The body is read chunk by chunk and written as it arrives; nothing
  holds the whole file, whatever its size.
* **All or nothing.** Bytes go to a hidden temp file in the destination folder (same file
  system, so the final rename is atomic); only a complete, verified file is renamed into
  place. Any failure — network, size or SHA-256 mismatch, Ctrl-C — removes the temp file.
* **Verified when possible.** The expected size and SHA-256 come from the caller, the
  artifact's metadata or the response headers; a mismatch raises
  :class:`~fabric_platform.errors.FabricDownloadError`. A body that grows past the
  expected size is abandoned at once instead of filling the disk.
* **Resumed when possible.** A connection lost mid-body is retried; when the server
  advertised ``Accept-Ranges: bytes`` the retry asks for the rest only (``Range`` +
  ``If-Range``), otherwise it starts over.
* **No credentials to signed URLs.** An artifact's ``download_url`` carries its own
  signature; the request has no ``Authorization``, ``X-Principal-Id`` or cookies, so a
  key can never leak to a CDN or a storage host.
* **Names cannot escape.** Server-supplied names pass through
  :func:`~fabric_platform._filenames.safe_filename`.

The decisions live in ``_download_plan`` (shared by both clients); this module holds the
temp file, the credential-free opener of signed URLs and the two I/O loops
(:func:`download_sync`, :func:`download_async`), which only move bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from pathlib import Path
from typing import (
    AsyncContextManager,
    AsyncIterator,
    Awaitable,
    Callable,
    ContextManager,
    Iterator,
    Mapping,
    Optional,
    Union,
)
from urllib.parse import urlsplit

import httpx

from ._download_plan import (
    DownloadProgress,
    PathLike,
    ProgressCallback,
    Target,
    Transfer,
    map_transport_error,
)
from ._envelope import build_api_error
from ._retry import Deadline, attempt_timeout, decide_retry, parse_retry_after
from .errors import FabricForbiddenError

__all__ = [
    "AsyncOpener",
    "DownloadProgress",
    "PartFile",
    "PathLike",
    "ProgressCallback",
    "SyncOpener",
    "download_async",
    "download_sync",
    "open_signed_async",
    "open_signed_sync",
]

# Headers that identify the caller; a signed URL must never see them, even when an
# application's own httpx client adds them by default.
_CREDENTIAL_HEADERS = ("authorization", "x-principal-id", "x-api-key", "cookie")
# Waits between attempts; module attributes so tests can make them instant.
_sleep: Callable[[float], None] = time.sleep
_asleep: Callable[[float], Awaitable[None]] = asyncio.sleep


# --------------------------------------------------------------------------- the temp file


class PartFile:
    """The hidden temp file a download is written to, next to its final path.

    Created with ``O_EXCL`` (never follows or clobbers an existing file) and the process
    umask (so the finished file has the permissions any new file would have).
    """

    def __init__(self, final: Path) -> None:
        self.final = final
        self.path: Optional[Path] = None
        self._fd: Optional[int] = None

    def open(self) -> None:
        """Create the folder if needed, then the temp file."""
        self.final.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        while True:
            candidate = self.final.with_name(f".{self.final.name}.{secrets.token_hex(6)}.part")
            try:
                self._fd = os.open(candidate, flags, 0o666)
            except FileExistsError:  # pragma: no cover - 48 random bits
                continue
            self.path = candidate
            return

    def write(self, chunk: bytes) -> None:
        """Append a chunk (os.write may write less than asked: loop until all is out)."""
        assert self._fd is not None
        view = memoryview(chunk)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def restart(self) -> None:
        """Discard what was written (the server is sending the file again from byte 0)."""
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)

    def commit(self) -> Path:
        """Flush to disk, then atomically replace the final path with the temp file."""
        assert self._fd is not None and self.path is not None
        fd, self._fd = self._fd, None
        try:
            # Without fsync a crash right after the rename can leave an empty final file.
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.path, self.final)
        self.path = None
        return self.final

    def discard(self) -> None:
        """Close and delete the temp file (idempotent, never raises)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self.path = None


# --------------------------------------------------------------------------- signed URLs


def _signed_request(
    client: Union[httpx.Client, httpx.AsyncClient],
    url: str,
    headers: Mapping[str, str],
    attempt: _Attempt,
    user_agent: str,
) -> httpx.Request:
    # Connecting shares the open deadline; each read of the body gets the full timeout (a
    # late successful attempt must not leave the whole download a sliver of time per read).
    left = attempt.per_attempt()
    request = client.build_request(
        "GET",
        url,
        headers={"User-Agent": user_agent, "Accept": "*/*", **headers},
        timeout=httpx.Timeout(attempt.timeout, connect=left, write=left, pool=left),
    )
    # An application's own http_client may carry default credentials or cookies; the
    # signature in the URL is the only authorization a signed URL needs.
    for name in _CREDENTIAL_HEADERS:
        request.headers.pop(name, None)
    return request


def _url_path(url: str) -> str:
    # For messages: the query string holds the signature.
    return urlsplit(url).path or url


class _Attempt:
    """Retry bookkeeping for opening a signed URL (connect failures, 5xx, 429)."""

    def __init__(self, url: str, timeout: float, max_retries: int) -> None:
        self.url = url
        self.path = _url_path(url)
        self.timeout = timeout
        self.max_retries = max_retries
        self.deadline = Deadline(timeout, time.monotonic)
        self.retries = 0

    def per_attempt(self) -> float:
        return attempt_timeout(self.timeout, self.deadline.remaining())

    def on_exception(self, exc: BaseException) -> float:
        decision = decide_retry(
            method="GET",
            outcome=exc,
            has_idempotency_key=False,
            retries_taken=self.retries,
            max_retries=self.max_retries,
            remaining=self.deadline.remaining(),
        )
        if not decision.retry:
            raise map_transport_error(exc, f"GET {self.path} failed") from exc
        self.retries += 1
        return decision.delay

    def on_error_response(self, response: httpx.Response) -> float:
        error = build_api_error(response, method="GET", path=self.path)
        decision = decide_retry(
            method="GET",
            outcome=response.status_code,
            has_idempotency_key=False,
            retries_taken=self.retries,
            max_retries=self.max_retries,
            remaining=self.deadline.remaining(),
            retry_after=parse_retry_after(response.headers.get("retry-after"), time.time()),
        )
        if not decision.retry:
            raise error
        self.retries += 1
        return decision.delay


@contextlib.contextmanager
def open_signed_sync(
    client: httpx.Client,
    url: str,
    *,
    headers: Mapping[str, str],
    timeout: float,
    max_retries: int,
    user_agent: str,
) -> Iterator[httpx.Response]:
    """Open a credential-free GET of a signed URL; yields the streaming 2xx response.

    Raises:
        FabricAPIError: A non-2xx answer after retries (403: signature invalid or expired).
        FabricConnectionError: No answer after retries.
    """
    attempt = _Attempt(url, timeout, max_retries)
    while True:
        request = _signed_request(client, url, headers, attempt, user_agent)
        try:
            # auth=None: not even the http_client's own auth; redirects (CDNs) are fine
            # to follow for a GET that carries no credentials.
            response = client.send(request, stream=True, auth=None, follow_redirects=True)
        except httpx.TransportError as exc:
            _sleep(attempt.on_exception(exc))
            continue
        if response.is_success:
            try:
                yield response
            finally:
                response.close()
            return
        try:
            response.read()
        finally:
            response.close()
        _sleep(attempt.on_error_response(response))


@contextlib.asynccontextmanager
async def open_signed_async(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: Mapping[str, str],
    timeout: float,
    max_retries: int,
    user_agent: str,
) -> AsyncIterator[httpx.Response]:
    """The asyncio twin of :func:`open_signed_sync`."""
    attempt = _Attempt(url, timeout, max_retries)
    while True:
        request = _signed_request(client, url, headers, attempt, user_agent)
        try:
            response = await client.send(request, stream=True, auth=None, follow_redirects=True)
        except httpx.TransportError as exc:
            await _asleep(attempt.on_exception(exc))
            continue
        if response.is_success:
            try:
                yield response
            finally:
                await response.aclose()
            return
        try:
            await response.aread()
        finally:
            await response.aclose()
        await _asleep(attempt.on_error_response(response))


# --------------------------------------------------------------------------- the I/O loops

# open(headers) -> a context manager yielding an open 2xx response.
SyncOpener = Callable[[Mapping[str, str]], ContextManager[httpx.Response]]
AsyncOpener = Callable[[Mapping[str, str]], AsyncContextManager[httpx.Response]]
# Called once when a signed URL answers 403 (expired): returns a fresh opener, or None.
SyncRefresh = Callable[[], Optional[SyncOpener]]
AsyncRefresh = Callable[[], Awaitable[Optional[AsyncOpener]]]

# Mid-body failures worth another attempt (connect failures were retried by the opener).
_MID_BODY = (httpx.TransportError,)


def _report(on_progress: Optional[ProgressCallback], name: str, transfer: Transfer) -> None:
    if on_progress is not None:
        on_progress(DownloadProgress(name, transfer.received, transfer.total))


def download_sync(
    opener: SyncOpener,
    *,
    target: Target,
    transfer: Transfer,
    url: Optional[str],
    on_progress: Optional[ProgressCallback],
    refresh: Optional[SyncRefresh] = None,
) -> Path:
    """Stream one file to disk (see the module docstring for the guarantees).

    Args:
        opener: Opens the response for a set of extra request headers (Range...).
        target: Decides the final path.
        transfer: Expectations and state.
        url: The URL, for a name when nothing better is known.
        on_progress: Called with :class:`DownloadProgress`.
        refresh: Gives a fresh opener once if the first one answers 403.

    Returns:
        The final path.

    Raises:
        FabricDownloadError: Size or SHA-256 mismatch.
        FabricAPIError / FabricConnectionError: The server refused or could not be reached.
        OSError: The file could not be written.
    """
    part: Optional[PartFile] = None
    try:
        while True:
            try:
                with opener(transfer.request_headers()) as response:
                    if part is None:
                        final = target.path_for(response.headers, url)
                        transfer.destination = str(final)
                        part = PartFile(final)
                        part.open()
                    if transfer.begin(response):
                        part.restart()
                    _report(on_progress, part.final.name, transfer)
                    for chunk in response.iter_bytes():
                        transfer.feed(chunk)
                        part.write(chunk)
                        _report(on_progress, part.final.name, transfer)
            except FabricForbiddenError:
                if refresh is None:
                    raise
                fresh, refresh = refresh(), None
                if fresh is None:
                    raise
                opener = fresh
                continue
            except _MID_BODY as exc:
                _sleep(transfer.after_failure(exc))
                continue
            transfer.verify()
            return part.commit()
    except BaseException:
        if part is not None:
            part.discard()
        raise


async def download_async(
    opener: AsyncOpener,
    *,
    target: Target,
    transfer: Transfer,
    url: Optional[str],
    on_progress: Optional[ProgressCallback],
    refresh: Optional[AsyncRefresh] = None,
) -> Path:
    """The asyncio twin of :func:`download_sync`.

    Chunks are written with plain ``os.write`` (a page-cache copy, microseconds); the calls
    that can block for long — creating the file, fsync + rename, cleanup — run in a thread.
    """
    loop = asyncio.get_running_loop()
    part: Optional[PartFile] = None
    try:
        while True:
            try:
                async with opener(transfer.request_headers()) as response:
                    if part is None:
                        final = target.path_for(response.headers, url)
                        transfer.destination = str(final)
                        part = PartFile(final)
                        await loop.run_in_executor(None, part.open)
                    if transfer.begin(response):
                        part.restart()
                    _report(on_progress, part.final.name, transfer)
                    async for chunk in response.aiter_bytes():
                        transfer.feed(chunk)
                        part.write(chunk)
                        _report(on_progress, part.final.name, transfer)
            except FabricForbiddenError:
                if refresh is None:
                    raise
                fresh, refresh = await refresh(), None
                if fresh is None:
                    raise
                opener = fresh
                continue
            except _MID_BODY as exc:
                await _asleep(transfer.after_failure(exc))
                continue
            transfer.verify()
            return await loop.run_in_executor(None, part.commit)
    except BaseException:
        if part is not None:
            part.discard()
        raise
