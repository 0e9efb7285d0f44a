"""``fabric.workflows.definitions`` of AsyncFabricClient, plus ``run`` (create + start)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from fabric_platform_api import _ops as ops
from fabric_platform_api.async_client import WorkflowsDefinitionsNamespace

from fabric_platform._compat_names import resources_loaded

if TYPE_CHECKING:
    from fabric_platform_api import types

    from fabric_platform._async.client import AsyncFabricClient

__all__ = ["AsyncDefinitionsResource"]


class AsyncDefinitionsResource(WorkflowsDefinitionsNamespace):
    """`fabric.workflows.definitions`, plus ``run`` (create + start)."""

    _client: AsyncFabricClient

    async def run(
        self,
        workflow_id: str,
        context: Optional[Dict[str, Any]] = None,
        *,
        metadata: Optional[Dict[str, Any]] = None,
        environment: Optional[Any] = None,
        priority: Optional[int] = None,
        idempotency_key: Optional[str] = None,
    ) -> types.Run:
        """Create a run of a definition and start it; returns the started run.

        Two requests (create, then start). With ``idempotency_key`` both are safe to
        repeat: the start uses ``<key>:start``, so a retried call starts the run once.

        Args:
            workflow_id: The definition's id (from ``upsert_workflow``).
            context: The run's input context (default ``{}``).
            metadata: Free-form metadata stored on the run.
            environment: Execution environment hint, passed through as given.
            priority: Scheduling priority; higher values are scheduled first.
            idempotency_key: Makes the call safe to repeat (see above).

        Returns:
            The started run (its ``id`` is what ``run_workflow`` returns).

        Raises:
            FabricNotFoundError: No such definition.
            FabricValidationError: ``workflow_id`` is not a definition id, or ``context``
                is not a dict.
        """
        c = self._client
        created = await c._call(
            ops.CREATE_WORKFLOW_RUN_LEGACY,
            {
                "workflow_definition_id": workflow_id,
                "context": context or {},
                "metadata": metadata,
                "environment": environment,
            },
            idempotency_key=idempotency_key,
        )
        # Derive the start key from the create key so a retried run_workflow starts once.
        start_key = f"{idempotency_key}:start" if idempotency_key else None
        started: types.Run = await c._call(
            ops.START_WORKFLOW_RUN_LEGACY,
            {"run_id": created["id"], "priority": priority},
            idempotency_key=start_key,
        )
        return started


resources_loaded(AsyncDefinitionsResource)
