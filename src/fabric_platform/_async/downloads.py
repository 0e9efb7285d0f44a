"""Download methods of AsyncFabricClient: run artifacts and assets, streamed to disk.

Flat methods (``download_artifact``, ``download_all_artifacts``, ``download_asset``) live on
:class:`AsyncClientDownloadsMixin`; ``fabric.assets.download`` on
:class:`AsyncAssetsResource`; ``fabric.workflows.runs.download_*`` delegate here from
``workflows``. Every decision is in ``_core/download_plan.py`` (shared by both clients),
the byte moving in ``transfers``; this module only wires them to the client.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncContextManager, List, Mapping, Optional, Union, overload

import httpx
from fabric_platform_api import _ops as ops
from fabric_platform_api.async_client import AssetsNamespace

from fabric_platform._async.base import AsyncBaseClient
from fabric_platform._client_base import single_request

# The download machinery (and the models, which import pydantic) loads on the first
# download, not with the client: see the imports inside the methods.
if TYPE_CHECKING:
    from fabric_platform._async.client import AsyncFabricClient
    from fabric_platform._async.transfers import AsyncOpener
    from fabric_platform._core.download_plan import PathLike, ProgressCallback
    from fabric_platform.models import RunOutput

__all__ = ["AsyncAssetsResource", "AsyncClientDownloadsMixin"]


class AsyncClientDownloadsMixin(AsyncBaseClient):
    """Flat download methods of :class:`~fabric_platform.AsyncFabricClient`."""

    @property
    def assets(self) -> AsyncAssetsResource:
        """`fabric.assets`: list, upload, download (to memory or streamed to disk), signed URLs."""
        return self._namespace(AsyncAssetsResource)

    async def download_artifact(
        self,
        artifact_or_url: Any,
        dest: PathLike,
        *,
        filename: Optional[str] = None,
        on_progress: Optional[ProgressCallback] = None,
        expected_sha256: Optional[str] = None,
        expected_size: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> Path:
        """Download a run artifact to disk, streamed, verified, written atomically.

        The artifact's signed ``download_url`` is fetched without credentials (the URL's
        signature is its authorization); if it has expired (403), a fresh one is fetched
        once. An artifact without URL but with an ``asset_id`` is downloaded through the
        API instead.

        Args:
            artifact_or_url: A :class:`~fabric_platform.models.RunArtifact`, an artifact
                dict (``list_run_artifacts``) or a signed URL.
            dest: A folder (existing, or ending with a separator, or with ``filename``
                given) to put the file in under a sanitised name; else the file's path.
            filename: Name to use inside the ``dest`` folder (sanitised like any name).
            on_progress: Called with a :class:`~fabric_platform.DownloadProgress` when
                the response starts and after each chunk.
            expected_sha256: Hex digest the file must have (default: the artifact's).
            expected_size: Size in bytes the file must have (default: the artifact's).
            timeout: Seconds for connecting and for each read (default: the client's).

        Returns:
            The path of the complete file.

        Raises:
            FabricDownloadError: Size or SHA-256 mismatch (no file is left behind).
            FabricAPIError: The server refused (e.g. FabricForbiddenError: URL expired).
            FabricConnectionError: The server could not be reached, after retries.
            ValueError: Bad arguments, or an artifact without any bytes to download.
        """
        from fabric_platform._async.transfers import download_async
        from fabric_platform._core.download_plan import fresh_url, plan_artifact

        plan = plan_artifact(
            artifact_or_url,
            dest,
            filename=filename,
            expected_sha256=expected_sha256,
            expected_size=expected_size,
            base_url=self._config.base_url,
            max_retries=self._config.max_retries,
        )
        wait = self._config.timeout if timeout is None else timeout
        if plan.url is None:
            assert plan.source.asset_id is not None
            opener = self._asset_opener(plan.source.asset_id, wait)
            return await download_async(
                opener, target=plan.target, transfer=plan.transfer, url=None, on_progress=on_progress
            )
        source = plan.source

        async def refresh() -> Optional[AsyncOpener]:
            # Signed URLs expire (an hour by default): ask the API for the current one.
            if not (source.artifact_id and source.run_id):
                return None
            listed = await self._call(ops.LIST_RUN_ARTIFACTS, {"run_id": source.run_id})
            from fabric_platform._core.api_response import ApiResponse

            data = listed.data if isinstance(listed, ApiResponse) else listed
            url = fresh_url(data, source.artifact_id, self._config.base_url)
            return None if url is None else self._signed_opener(url, wait)

        return await download_async(
            self._signed_opener(plan.url, wait),
            target=plan.target,
            transfer=plan.transfer,
            url=plan.url,
            on_progress=on_progress,
            refresh=refresh,
        )

    async def download_all_artifacts(
        self,
        run_output_or_run_id: Union[RunOutput, Mapping[str, Any], str],
        dest_dir: PathLike,
        *,
        on_progress: Optional[ProgressCallback] = None,
        expires_in: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> List[Path]:
        """Download every artifact of a run (all variants / bundle entries) into a folder.

        Names are the artifacts' own, sanitised; duplicates (each variant of
        ``video/ai_shorts`` makes a ``short.mp4``) become ``short.mp4``, ``short-1.mp4``…
        in output order, so downloading the same run again overwrites the same files.

        Args:
            run_output_or_run_id: A :class:`~fabric_platform.models.RunOutput` (or its
                dict), or a run id (its output is fetched, with fresh URLs).
            dest_dir: The folder (created if missing).
            on_progress: As for :meth:`download_artifact`, called for each file.
            expires_in: Lifetime of the URLs when the output is fetched here.
            timeout: Seconds for connecting and for each read (default: the client's).

        Returns:
            The files written, in ``all_artifacts`` order (artifacts recorded without any
            bytes are skipped).

        Raises:
            As :meth:`download_artifact`; files completed before a failure are kept.
        """
        from fabric_platform._core.download_plan import batch

        output = await self._run_output(run_output_or_run_id, expires_in)
        # One file after the other: predictable progress, and one connection per run.
        return [
            await self.download_artifact(
                artifact, dest_dir, filename=name, on_progress=on_progress, timeout=timeout
            )
            for artifact, name in batch(output)
        ]

    @overload
    async def download_asset(
        self,
        asset_id: str,
        dest: None = None,
        *,
        filename: None = None,
        on_progress: None = None,
        expected_sha256: Optional[str] = None,
        expected_size: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> bytes: ...

    @overload
    async def download_asset(
        self,
        asset_id: str,
        dest: PathLike,
        *,
        filename: Optional[str] = None,
        on_progress: Optional[ProgressCallback] = None,
        expected_sha256: Optional[str] = None,
        expected_size: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> Path: ...

    @single_request
    async def download_asset(
        self,
        asset_id: str,
        dest: Optional[PathLike] = None,
        *,
        filename: Optional[str] = None,
        on_progress: Optional[ProgressCallback] = None,
        expected_sha256: Optional[str] = None,
        expected_size: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> Any:
        """Download an asset's bytes: into memory, or streamed to a file with ``dest``.

        `GET /v1/assets/{asset_id}` · also `fabric.assets.download(...)`

        Args:
            asset_id: The asset id.
            dest: None to get the bytes; else a folder or file path as for
                :meth:`download_artifact` (the name comes from ``Content-Disposition``).
            filename: Name inside the ``dest`` folder (needs ``dest``).
            on_progress: Progress callback (needs ``dest``).
            expected_sha256: Hex digest the bytes must have.
            expected_size: Size the bytes must have.
            timeout: Seconds (default: the client's).

        Returns:
            ``bytes`` without ``dest``; the file's path with it.

        Raises:
            FabricDownloadError: Size or SHA-256 mismatch (no file is left behind).
            FabricNotFoundError: No such asset.
            ValueError: ``filename``/``on_progress`` without ``dest``.
        """
        return await self._download_asset(
            asset_id,
            dest,
            filename=filename,
            on_progress=on_progress,
            expected_sha256=expected_sha256,
            expected_size=expected_size,
            timeout=timeout,
        )

    async def _download_asset(
        self,
        asset_id: str,
        dest: Optional[PathLike],
        *,
        filename: Optional[str],
        on_progress: Optional[ProgressCallback],
        expected_sha256: Optional[str],
        expected_size: Optional[int],
        timeout: Optional[float],
    ) -> Any:
        # download_asset without its overloads: bytes (or their ApiResponse) or a path.
        from fabric_platform._async.transfers import download_async
        from fabric_platform._core.api_response import ApiResponse
        from fabric_platform._core.download_plan import plan_asset, verify_bytes

        if dest is None:
            if filename is not None or on_progress is not None:
                raise ValueError("filename and on_progress need dest (a folder or a file path)")
            result = await self._call(ops.DOWNLOAD_ASSET, {"asset_id": asset_id})
            data = result.data if isinstance(result, ApiResponse) else result
            verify_bytes(data, expected_size=expected_size, expected_sha256=expected_sha256)
            return result
        plan = plan_asset(
            asset_id,
            dest,
            filename=filename,
            expected_sha256=expected_sha256,
            expected_size=expected_size,
            max_retries=self._config.max_retries,
        )
        wait = self._config.timeout if timeout is None else timeout
        return await download_async(
            self._asset_opener(asset_id, wait),
            target=plan.target,
            transfer=plan.transfer,
            url=None,
            on_progress=on_progress,
        )

    # -- openers -------------------------------------------------------------------------------

    def _signed_opener(self, url: str, timeout: float) -> AsyncOpener:
        from fabric_platform._async.transfers import open_signed_async
        from fabric_platform._http.requests import USER_AGENT

        client = self._transport.http_client
        assert isinstance(client, httpx.AsyncClient)

        def open_url(headers: Mapping[str, str]) -> AsyncContextManager[httpx.Response]:
            return open_signed_async(
                client,
                url,
                headers=headers,
                timeout=timeout,
                max_retries=self._config.max_retries,
                user_agent=USER_AGENT,
            )

        return open_url

    def _asset_opener(self, asset_id: str, timeout: float) -> AsyncOpener:
        prepared = self._prepare(ops.DOWNLOAD_ASSET, {"asset_id": asset_id})

        def open_asset(headers: Mapping[str, str]) -> AsyncContextManager[httpx.Response]:
            return self._transport.open_stream(prepared, headers=headers, timeout=timeout)

        return open_asset

    async def _run_output(
        self, value: Union[RunOutput, Mapping[str, Any], str], expires_in: Optional[int]
    ) -> RunOutput:
        from fabric_platform._core.api_response import ApiResponse
        from fabric_platform._core.run_rules import run_output
        from fabric_platform.models import RunOutput

        if isinstance(value, RunOutput):
            return value
        if isinstance(value, Mapping):
            return run_output(value)
        if isinstance(value, str) and value:
            result = await self._call(ops.GET_RUN_OUTPUT, {"run_id": value, "expires_in": expires_in})
            return run_output(result.data if isinstance(result, ApiResponse) else result)
        raise TypeError(f"expected a RunOutput, its dict or a run id, got {type(value).__name__}")


class AsyncAssetsResource(AssetsNamespace):
    """`fabric.assets`, with ``download`` able to stream to disk."""

    _client: AsyncFabricClient

    @single_request
    async def download(
        self,
        asset_id: str,
        dest: Optional[PathLike] = None,
        *,
        filename: Optional[str] = None,
        on_progress: Optional[ProgressCallback] = None,
        expected_sha256: Optional[str] = None,
        expected_size: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> Any:
        """Same as ``fabric.download_asset``: bytes, or with ``dest`` the file's path.

        Args:
            asset_id: The asset id.
            dest: None to get the bytes in memory; else a folder (the name comes from
                ``Content-Disposition``) or the file's path, streamed and written atomically.
            filename: Name inside the ``dest`` folder (needs ``dest``).
            on_progress: Called with a :class:`~fabric_platform.DownloadProgress` per
                chunk (needs ``dest``).
            expected_sha256: Hex digest the bytes must have.
            expected_size: Size in bytes the bytes must have.
            timeout: Seconds for connecting and for each read (default: the client's).

        Returns:
            ``bytes`` without ``dest``; the path of the complete file with it.

        Raises:
            FabricDownloadError: Size or SHA-256 mismatch (no file is left behind).
            FabricNotFoundError: No such asset.
            ValueError: ``filename``/``on_progress`` without ``dest``, an empty
                ``asset_id`` or a malformed expectation.
        """
        return await self._client._download_asset(
            asset_id,
            dest,
            filename=filename,
            on_progress=on_progress,
            expected_sha256=expected_sha256,
            expected_size=expected_size,
            timeout=timeout,
        )
