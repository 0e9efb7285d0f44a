"""The flat run methods of AsyncFabricClient that go beyond "send this request, return data".

``submit_run``, ``wait_for_run``, ``run_workflow``, ``face_swap`` … live on
:class:`AsyncClientRunsMixin`; their namespaced twins (``fabric.workflows.runs.*``) are in
``workflows``. The rules themselves are in ``_core/run_rules.py`` (shared by both clients);
``waiting`` watches a run until it ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, Mapping, Optional

from fabric_platform_api import _ops as ops

from fabric_platform._async.base import AsyncBaseClient
from fabric_platform._client_base import single_request

# Annotations only: the TypedDicts and the pydantic models load when something needs them,
# not with the client (`get_run_output` builds a RunOutput through `run_output`).
if TYPE_CHECKING:
    from fabric_platform_api import types

    from fabric_platform._async.workflows import AsyncWorkflowsResource, ProgressCallback
    from fabric_platform.models import RunOutput

__all__ = ["AsyncClientRunsMixin"]


class AsyncClientRunsMixin(AsyncBaseClient):
    """Flat run methods of :class:`~fabric_platform.AsyncFabricClient`."""

    @property
    def workflows(self) -> AsyncWorkflowsResource:
        """`fabric.workflows`: definitions, named runs, registry, face swap, motion transfer."""
        from fabric_platform._async.workflows import AsyncWorkflowsResource  # on first use

        return self._namespace(AsyncWorkflowsResource)

    async def run_workflow(
        self,
        workflow_id: str,
        context: Optional[Dict[str, Any]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        environment: Optional[Any] = None,
        priority: Optional[int] = None,
        *,
        idempotency_key: Optional[str] = None,
    ) -> str:
        """Create and start a run of a workflow definition.

        Args:
            workflow_id: The definition's id (from ``upsert_workflow``).
            context: The run's input context.
            metadata: Free-form metadata stored on the run.
            environment: Deployment environment hint.
            priority: Scheduling priority.
            idempotency_key: Makes the create step safe to repeat.

        Returns:
            The new run's id.
        """
        return (
            await self.workflows.definitions.run(
                workflow_id,
                context,
                metadata=metadata,
                environment=environment,
                priority=priority,
                idempotency_key=idempotency_key,
            )
        )["id"]

    async def wait_for_run(
        self,
        run_id: str,
        poll_interval: float = 1.0,
        timeout: float = 300.0,
        *,
        on_progress: Optional[ProgressCallback] = None,
    ) -> types.Run:
        """Block until a run is terminal (completed, failed or cancelled) and return it.

        Watches the run's event stream, so it returns moments after the run ends; polls
        only when the server cannot stream (404/405/406/429/500–504, or a proxy that answers
        with something other than an event stream). A run that is already terminal
        returns after one request.

        Args:
            run_id: The run to wait for.
            poll_interval: Seconds between polls when falling back to polling; the wait
                grows by half each time, up to 10 s (or ``poll_interval`` if larger).
            timeout: Seconds to wait in all, streaming and polling together.
            on_progress: Called with each ``workflow.run.progress`` event (the event
                dict: ``kind``, ``run_id``, ``data`` …) while streaming; polling does not
                report progress.

        Returns:
            The run as the server holds it once terminal. A failed or cancelled run is
            returned, not raised: check ``run["status"]`` and ``run["error"]``.

        Args:
            run_id: The run.
            poll_interval: Seconds between polls when the stream is unavailable.
            timeout: Seconds to wait in all.
            on_progress: Called with a :class:`~fabric_platform.RunProgress` for each
                ``workflow.run.progress`` event (``done``/``total`` tasks, ``fraction``,
                ``label`` = current task, per-variant ``variants``): the same shape as a
                download's :class:`~fabric_platform.DownloadProgress`.

        Returns:
            The terminal run.

        Raises:
            FabricTimeoutError: The run is not terminal after ``timeout`` seconds.
            FabricNotFoundError: No such run.
            FabricAPIError: The server refused the read or the stream (e.g. 401, 403).
            FabricConnectionError: The server could not be reached, after retries.
            ValueError: An empty ``run_id``.
        """
        from fabric_platform._async.waiting import (
            async_wait_for_terminal,  # the event stream's machinery, on first use
        )

        run: types.Run = await async_wait_for_terminal(
            self,
            run_id,
            poll_interval=poll_interval,
            timeout=timeout,
            on_progress=on_progress,
        )
        return run

    @single_request
    async def submit_run(
        self,
        workflow_name: Optional[str],
        input: Optional[Dict[str, Any]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        priority: Optional[int] = None,
        *,
        variants: Optional[int] = None,
        bundle: Optional[Iterable[Mapping[str, Any]]] = None,
        regenerate: Optional[Mapping[str, Any]] = None,
        validate: bool = False,
        organization_id: Optional[str] = None,
        team_id: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> types.Run:
        """Submit a run of a named workflow (``research/trends``, ``video/ai_shorts`` …).

        Args:
            workflow_name: The registry name; ``None`` (or ``bundle/ad-hoc``) with ``bundle``.
            input: The workflow input (default ``{}``).
            metadata: Free-form metadata stored on the run.
            priority: Scheduling priority; higher values are scheduled first.
            variants: Fan out 1–10 parallel copies (lifted into ``input.variants``).
            bundle: ``[{"workflow": name, "input": {...}}, …]`` sub-workflows run in
                parallel as one ``bundle/ad-hoc`` run (lifted into ``input.bundle``).
            regenerate: Lineage + prompt directive (``direction``, ``keep``,
                ``extra_instructions``, ``parent_run_id``, ``parent_variant_index``),
                lifted into ``input.regenerate``.
            validate: Ask the server to validate ``input`` against the workflow's input
                schema before enqueuing (workflows without a schema skip the check).
            organization_id: The organization to run in (default: the client's).
            team_id: The team the run belongs to, if any.
            idempotency_key: Makes the submission safe to repeat: a retry with the same
                key returns the first run instead of starting another.

        Returns:
            The new run (not yet terminal: see :meth:`wait_for_run`).

        Raises:
            ValueError: ``bundle`` together with ``variants``, no workflow name, an
                out-of-range ``variants``, a malformed bundle entry or ``regenerate``
                directive (all checked before any request).
            TypeError: ``variants`` is not an int.
            FabricValidationError: The server rejected the submission (an unknown
                workflow in a bundle, or the input with ``validate=True``).
        """
        from fabric_platform._core.run_rules import prepare_submission

        name, wire_input = prepare_submission(
            workflow_name, input, variants=variants, bundle=bundle, regenerate=regenerate
        )
        args = {
            "workflow_name": name,
            "input": wire_input,
            "metadata": metadata,
            "priority": priority,
            "validate": True if validate else None,
            "organization_id": organization_id,
            "team_id": team_id,
        }
        run: types.Run = await self._call(ops.SUBMIT_RUN, args, idempotency_key=idempotency_key)
        return run

    async def submit_and_wait(
        self,
        workflow_name: str,
        input: Optional[Dict[str, Any]] = None,
        *,
        timeout: float = 300.0,
        **kwargs: Any,
    ) -> types.Run:
        """``submit_run`` then ``wait_for_run``: the terminal run.

        Args:
            workflow_name: The registry name (see :meth:`submit_run`).
            input: The workflow input.
            timeout: Seconds to wait for the run to end (the submission has the client's
                own timeout).
            **kwargs: Any other :meth:`submit_run` argument (``variants``, ``metadata`` …).

        Returns:
            The terminal run; a failed or cancelled run is returned, not raised.

        Raises:
            FabricTimeoutError: The run is not terminal after ``timeout`` seconds (it keeps
                running on the server).
            ValueError: Bad submission arguments, as for :meth:`submit_run`.
        """
        run = await self.submit_run(workflow_name, input, **kwargs)
        return await self.wait_for_run(run["id"], timeout=timeout)

    async def get_run_output(self, run_id: str, expires_in: Optional[int] = None) -> RunOutput:
        """A run's typed output: one entry per variant, artifacts with signed download URLs.

        Args:
            run_id: The run.
            expires_in: Lifetime of the download URLs in seconds (server default 3600,
                at most 86400).

        Returns:
            A :class:`~fabric_platform.models.RunOutput`: one ``outputs`` entry per variant
            or bundle entry (one for a plain run), ``all_artifacts`` across them.

        Raises:
            FabricNotFoundError: No such run.
            FabricValidationError: ``expires_in`` out of range.
            ValueError: An empty ``run_id``.
        """
        data = await self._call(ops.GET_RUN_OUTPUT, {"run_id": run_id, "expires_in": expires_in})
        from fabric_platform._core.run_rules import run_output

        return run_output(data)

    async def face_swap(
        self,
        source_url: str,
        target_url: Optional[str] = None,
        persona_gallery_id: Optional[str] = None,
        persona_index: int = 0,
        wait: bool = True,
        timeout: float = 300.0,
    ) -> types.Run:
        """Swap a persona's face onto a source image (workflow ``video/face-swap``).

        The persona comes from exactly one of ``target_url`` and ``persona_gallery_id``.

        Args:
            source_url: URL of the image whose face is replaced.
            target_url: URL of an image of the persona's face.
            persona_gallery_id: An organization gallery to take the persona from instead.
            persona_index: Which persona of the gallery, in gallery order (sent only with
                ``persona_gallery_id``).
            wait: Wait for the run to end; ``False`` returns as soon as it is submitted.
            timeout: Seconds to wait when ``wait`` is true.

        Returns:
            The terminal run (``run["output"]["face_swap_url"]``), or with ``wait=False``
            the new run.

        Raises:
            ValueError: Neither or both of ``target_url`` and ``persona_gallery_id``.
            FabricTimeoutError: The run is not terminal after ``timeout`` seconds.
        """
        return await self.workflows.face_swap(
            source_url,
            target_url,
            persona_gallery_id,
            persona_index,
            wait=wait,
            timeout=timeout,
        )

    async def motion_transfer(
        self,
        driving_video_url: str,
        source_image_url: Optional[str] = None,
        persona_gallery_id: Optional[str] = None,
        persona_index: int = 0,
        motion_model: Optional[str] = None,
        prompt: Optional[str] = None,
        wait: bool = True,
        timeout: float = 600.0,
    ) -> types.Run:
        """Animate a persona with a reference video's motion (workflow ``video/motion-transfer``).

        The persona comes from ``source_image_url`` or ``persona_gallery_id``.

        Args:
            driving_video_url: URL of the video whose motion is copied.
            source_image_url: URL of an image of the persona to animate.
            persona_gallery_id: An organization gallery to take the persona from instead.
            persona_index: Which persona of the gallery, in gallery order (sent only with
                ``persona_gallery_id``).
            motion_model: The model to use (e.g. ``seedance/2.0`` for full-body motion,
                which costs more); the workflow's default when omitted.
            prompt: Extra guidance for the generation.
            wait: Wait for the run to end; ``False`` returns as soon as it is submitted.
            timeout: Seconds to wait when ``wait`` is true (videos take longer: 600).

        Returns:
            The terminal run (``run["output"]["motion_transfer_url"]``), or with
            ``wait=False`` the new run.

        Raises:
            FabricTimeoutError: The run is not terminal after ``timeout`` seconds.
        """
        return await self.workflows.motion_transfer(
            driving_video_url,
            source_image_url,
            persona_gallery_id,
            persona_index,
            motion_model,
            prompt,
            wait=wait,
            timeout=timeout,
        )
