"""The namespaced run helpers of AsyncFabricClient: ``fabric.workflows`` and ``.runs``.

These resource classes replace the generated namespaces of the same names, adding what takes
more than one request (``runs.submit_and_get_output``, ``runs.regenerate``) or more than a
request (downloads, waiting); ``.definitions`` is in ``definitions``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional

from fabric_platform_api import _ops as ops
from fabric_platform_api.async_client import WorkflowsNamespace, WorkflowsRunsNamespace

from fabric_platform._async.runs import AsyncClientRunsMixin

# Annotations only: the TypedDicts and the pydantic models load when something needs them.
from fabric_platform._compat_names import resources_loaded

if TYPE_CHECKING:
    from pathlib import Path

    from fabric_platform_api import types

    from fabric_platform._async.client import AsyncFabricClient
    from fabric_platform._async.definitions import AsyncDefinitionsResource
    from fabric_platform._core.download_plan import PathLike
    from fabric_platform.models import RunOutput

__all__ = ["AsyncRunsResource", "AsyncWorkflowsResource"]

ProgressCallback = Callable[[Mapping[str, Any]], None]


class AsyncRunsResource(WorkflowsRunsNamespace):
    """`fabric.workflows.runs`, plus submit/wait/output helpers."""

    _client: AsyncFabricClient

    async def submit(
        self, workflow_name: str, input: Optional[Dict[str, Any]] = None, **kwargs: Any
    ) -> types.Run:
        """Same as ``fabric.submit_run``.

        Args:
            workflow_name: The registry name (``research/trends``, ``video/ai_shorts`` …).
            input: The workflow input.
            **kwargs: Any other :meth:`~fabric_platform.AsyncFabricClient.submit_run`
                argument (``variants``, ``bundle``, ``regenerate``, ``validate`` …).

        Returns:
            The new run.

        Raises:
            ValueError: Bad submission arguments (checked before any request).
            FabricValidationError: The server rejected the submission.
        """
        return await self._client.submit_run(workflow_name, input, **kwargs)

    async def wait(
        self,
        run_id: str,
        *,
        poll_interval: float = 1.0,
        timeout: float = 300.0,
        on_progress: Optional[ProgressCallback] = None,
    ) -> types.Run:
        """Same as ``fabric.wait_for_run``: block until the run is terminal.

        Args:
            run_id: The run to wait for.
            poll_interval: Seconds between polls when the server cannot stream events.
            timeout: Seconds to wait in all.
            on_progress: Called with each ``workflow.run.progress`` event while streaming.

        Returns:
            The terminal run; a failed or cancelled run is returned, not raised.

        Raises:
            FabricTimeoutError: The run is not terminal after ``timeout`` seconds.
            FabricNotFoundError: No such run.
        """
        return await self._client.wait_for_run(run_id, poll_interval, timeout, on_progress=on_progress)

    async def submit_and_wait(
        self, workflow_name: str, input: Optional[Dict[str, Any]] = None, **kwargs: Any
    ) -> types.Run:
        """Submit, then wait for the terminal run (same as ``fabric.submit_and_wait``).

        Args:
            workflow_name: The registry name.
            input: The workflow input.
            **kwargs: ``timeout`` (seconds to wait, default 300) and any other
                ``submit_run`` argument.

        Returns:
            The terminal run; a failed or cancelled run is returned, not raised.

        Raises:
            FabricTimeoutError: The run is not terminal after ``timeout`` seconds.
            ValueError: Bad submission arguments (checked before any request).
        """
        return await self._client.submit_and_wait(workflow_name, input, **kwargs)

    async def get_output(self, run_id: str, *, expires_in: Optional[int] = None) -> RunOutput:
        """The run's typed :class:`~fabric_platform.models.RunOutput` (as ``fabric.get_run_output``).

        Args:
            run_id: The run.
            expires_in: Lifetime of the artifacts' download URLs in seconds (server
                default 3600, at most 86400).

        Returns:
            One ``outputs`` entry per variant or bundle entry, with signed artifact URLs.

        Raises:
            FabricNotFoundError: No such run.
        """
        return await self._client.get_run_output(run_id, expires_in)

    async def submit_and_get_output(
        self,
        workflow_name: str,
        input: Optional[Dict[str, Any]] = None,
        *,
        variants: Optional[int] = None,
        regenerate: Optional[Mapping[str, Any]] = None,
        timeout: float = 300.0,
        **kwargs: Any,
    ) -> RunOutput:
        """Submit, wait, and return the typed output (one entry per variant).

        Args:
            workflow_name: The registry name.
            input: The workflow input.
            variants: Run 1–10 parallel copies; the output has one entry each.
            regenerate: Lineage + prompt directive, as for ``submit_run``.
            timeout: Seconds to wait for the run to end.
            **kwargs: Any other ``submit_run`` argument (``metadata``, ``validate`` …).

        Returns:
            The run's :class:`~fabric_platform.models.RunOutput`, fetched once the run is
            terminal (a failed run has ``status`` and ``error`` set), with download URLs
            of the default lifetime.

        Raises:
            FabricTimeoutError: The run is not terminal after ``timeout`` seconds.
            ValueError: Bad submission arguments (checked before any request).
            TypeError: ``variants`` is not an int.
        """
        run = await self.submit(workflow_name, input, variants=variants, regenerate=regenerate, **kwargs)
        await self.wait(run["id"], timeout=timeout)
        return await self.get_output(run["id"])

    async def submit_bundle(
        self, bundle: List[Mapping[str, Any]], *, timeout: float = 300.0, **kwargs: Any
    ) -> RunOutput:
        """Run N different workflows in parallel from one submission; one output entry each.

        Args:
            bundle: ``[{"workflow": name, "input": {...}}, …]``; each entry's output entry
                carries its ``workflow_name`` (and ``kind`` when the workflow declares one).
            timeout: Seconds to wait for the bundle run to end.
            **kwargs: Other ``submit_run`` arguments (``metadata``, ``priority`` …);
                not ``variants``, which a bundle excludes.

        Returns:
            The run's :class:`~fabric_platform.models.RunOutput`, in bundle order.

        Raises:
            ValueError: An empty bundle, a malformed entry or ``variants`` given
                (checked before any request).
            FabricValidationError: The server rejected the bundle (more than 10 entries,
                or an unknown workflow).
            FabricTimeoutError: The run is not terminal after ``timeout`` seconds.
        """
        run = await self._client.submit_run(None, None, bundle=bundle, **kwargs)
        await self.wait(run["id"], timeout=timeout)
        return await self.get_output(run["id"])

    async def download_artifact(self, artifact_or_url: Any, dest: PathLike, **options: Any) -> Path:
        """Same as ``fabric.download_artifact``: one artifact streamed to disk.

        Args:
            artifact_or_url: A :class:`~fabric_platform.models.RunArtifact`, an artifact
                dict or a signed URL.
            dest: A folder to put the file in, or the file's path.
            **options: ``filename``, ``on_progress``, ``expected_sha256``,
                ``expected_size``, ``timeout``, as for ``fabric.download_artifact``.

        Returns:
            The path of the complete, verified file.

        Raises:
            FabricDownloadError: Size or SHA-256 mismatch (no file is left behind).
            ValueError: Bad arguments, or an artifact without any bytes to download.
        """
        return await self._client.download_artifact(artifact_or_url, dest, **options)

    async def download_all_artifacts(
        self, run_output_or_run_id: Any, dest_dir: PathLike, **options: Any
    ) -> List[Path]:
        """Same as ``fabric.download_all_artifacts``: every artifact of a run into a folder.

        Args:
            run_output_or_run_id: A :class:`~fabric_platform.models.RunOutput` (or its
                dict), or a run id whose output is fetched here.
            dest_dir: The folder (created if missing).
            **options: ``on_progress``, ``expires_in``, ``timeout``, as for
                ``fabric.download_all_artifacts``.

        Returns:
            The files written, in ``all_artifacts`` order.

        Raises:
            FabricDownloadError: Size or SHA-256 mismatch; files completed before it are kept.
        """
        return await self._client.download_all_artifacts(run_output_or_run_id, dest_dir, **options)

    async def regenerate(
        self,
        run_id: str,
        variant_index: int = 0,
        *,
        direction: Optional[str] = None,
        keep: Optional[List[str]] = None,
        extra_instructions: Optional[str] = None,
        **kwargs: Any,
    ) -> types.Run:
        """Re-submit a run's input as a variation of one of its variants (lineage recorded).

        Output-shaped fields are stripped first: typed workflows keep only the fields their
        input schema declares; untyped ones drop the known output fields. The new run
        records ``parent_run_id`` and ``parent_variant_index`` whichever workflow it is;
        the prompt hints take effect only in workflows that read them.

        Args:
            run_id: The run to vary (its workflow and input are read from the server).
            variant_index: Which of its variants the new run descends from.
            direction: A prompt hint: ``punchier``, ``deeper``, ``contrarian``,
                ``visual``, ``data-first`` or ``surprise``.
            keep: Input field names the variation should keep as they are.
            extra_instructions: Free-text guidance added to the prompt.
            **kwargs: Any other ``submit_run`` argument (``variants``, ``metadata`` …).

        Returns:
            The new run.

        Raises:
            FabricNotFoundError: No such run.
            ValueError: A negative ``variant_index`` or a malformed hint (checked before
                the new run is submitted).
        """
        parent = await self._client._call(ops.GET_WORKFLOW_RUN, {"run_id": run_id})
        name = parent["workflow_name"]
        schemas = await self._client._call(ops.GET_WORKFLOW_SCHEMAS, {"name": name})
        directive: Dict[str, Any] = {"parent_run_id": run_id, "parent_variant_index": variant_index}
        for key, value in (
            ("direction", direction),
            ("keep", keep),
            ("extra_instructions", extra_instructions),
        ):
            if value is not None:
                directive[key] = value
        from fabric_platform._core.run_rules import regenerate_input

        replay = regenerate_input(parent.get("input") or {}, schemas.get("input_schema"))
        return await self.submit(name, replay, regenerate=directive, **kwargs)


class AsyncWorkflowsResource(WorkflowsNamespace):
    """`fabric.workflows`, plus face swap and motion transfer."""

    _client: AsyncFabricClient

    @property
    def runs(self) -> AsyncRunsResource:
        return self._client._namespace(AsyncRunsResource)

    @property
    def definitions(self) -> AsyncDefinitionsResource:
        from fabric_platform._async.definitions import AsyncDefinitionsResource  # on first use

        return self._client._namespace(AsyncDefinitionsResource)

    async def face_swap(
        self,
        source_url: str,
        target_url: Optional[str] = None,
        persona_gallery_id: Optional[str] = None,
        persona_index: int = 0,
        *,
        wait: bool = True,
        timeout: float = 300.0,
    ) -> types.Run:
        # Documented once, on the flat method (the docstring is set below).
        if (target_url is None) == (persona_gallery_id is None):
            raise ValueError(
                "face_swap: pass exactly one of target_url and persona_gallery_id (the face to swap in)"
            )
        run = await self.runs.submit(
            "video/face-swap",
            _media_input(
                source_url=source_url,
                target_url=target_url,
                persona_gallery_id=persona_gallery_id,
                persona_index=persona_index if persona_gallery_id else None,
            ),
        )
        return await self.runs.wait(run["id"], timeout=timeout) if wait else run

    async def motion_transfer(
        self,
        driving_video_url: str,
        source_image_url: Optional[str] = None,
        persona_gallery_id: Optional[str] = None,
        persona_index: int = 0,
        motion_model: Optional[str] = None,
        prompt: Optional[str] = None,
        *,
        wait: bool = True,
        timeout: float = 600.0,
    ) -> types.Run:
        # Documented once, on the flat method (the docstring is set below).
        run = await self.runs.submit(
            "video/motion-transfer",
            _media_input(
                driving_video_url=driving_video_url,
                source_image_url=source_image_url,
                persona_gallery_id=persona_gallery_id,
                persona_index=persona_index if persona_gallery_id else None,
                motion_model=motion_model,
                prompt=prompt,
            ),
        )
        return await self.runs.wait(run["id"], timeout=timeout) if wait else run

    face_swap.__doc__ = AsyncClientRunsMixin.face_swap.__doc__
    motion_transfer.__doc__ = AsyncClientRunsMixin.motion_transfer.__doc__


def _media_input(**fields: Any) -> Dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


resources_loaded(AsyncWorkflowsResource, AsyncRunsResource)
