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
  :func:`~fabric_platform._core.filenames.safe_filename`.

The decisions live in ``_core/download_plan.py`` (shared by both clients), the temp file in
``_part_file.py``, the credential-free requests in ``_http/signed_urls.py``; this module
holds the I/O loops, which only move bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import AsyncContextManager, AsyncIterator, Awaitable, Callable, Mapping, Optional

import httpx

from fabric_platform._blocking import run_blocking_async
from fabric_platform._core.download_plan import DownloadProgress, ProgressCallback, Target
from fabric_platform._core.download_transfer import Transfer
from fabric_platform._http.signed_urls import SignedAttempt, signed_request
from fabric_platform._part_file import PartFile
from fabric_platform.errors import FabricForbiddenError

__all__ = ["AsyncOpener", "AsyncRefresh", "download_async", "open_signed_async"]

# How to wait between attempts; a module attribute so tests can make it instant.
_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


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
    """Open a credential-free GET of a signed URL; yields the streaming 2xx response.

    Raises:
        FabricAPIError: A non-2xx answer after retries (403: signature invalid or expired).
        FabricConnectionError: No answer after retries.
    """
    attempt = SignedAttempt(url, timeout, max_retries)
    while True:
        request = signed_request(client, url, headers, attempt, user_agent)
        try:
            # auth=None: not even the http_client's own auth; redirects (CDNs) are fine
            # to follow for a GET that carries no credentials.
            response = await client.send(request, stream=True, auth=None, follow_redirects=True)
        except httpx.TransportError as exc:
            await _sleep(attempt.on_exception(exc))
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
        await _sleep(attempt.on_error_response(response))


# open(headers) -> a context manager yielding an open 2xx response.
AsyncOpener = Callable[[Mapping[str, str]], AsyncContextManager[httpx.Response]]
# Called once when a signed URL answers 403 (expired): returns a fresh opener, or None.
AsyncRefresh = Callable[[], Awaitable[Optional[AsyncOpener]]]

# Mid-body failures worth another attempt (connect failures were retried by the opener).
_MID_BODY = (httpx.TransportError,)


def _report(on_progress: Optional[ProgressCallback], name: str, transfer: Transfer) -> None:
    if on_progress is not None:
        on_progress(DownloadProgress(name, transfer.received, transfer.total))


async def download_async(
    opener: AsyncOpener,
    *,
    target: Target,
    transfer: Transfer,
    url: Optional[str],
    on_progress: Optional[ProgressCallback],
    refresh: Optional[AsyncRefresh] = None,
) -> Path:
    """Stream one file to disk (see the module docstring for the guarantees).

    Chunks are written with plain ``os.write`` (a page-cache copy, microseconds); for the
    async client the calls that can block for long — creating the file, fsync + rename —
    run in a worker thread.

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
                async with opener(transfer.request_headers()) as response:
                    if part is None:
                        final = target.path_for(response.headers, url)
                        transfer.destination = str(final)
                        part = PartFile(final)
                        await run_blocking_async(part.open)
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
                await _sleep(transfer.after_failure(exc))
                continue
            transfer.verify()
            return await run_blocking_async(part.commit)
    except BaseException:
        if part is not None:
            part.discard()
        raise
