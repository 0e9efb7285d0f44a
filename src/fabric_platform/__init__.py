"""fabric-platform: the Python SDK of the Fabric control plane.

    from fabric_platform import FabricClient

    with FabricClient(api_key="fab_live_…") as fabric:
        print(fabric.health_check())

Public names are imported lazily, so ``import fabric_platform`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fabric_platform._version import __version__

if TYPE_CHECKING:
    from fabric_platform_api.types import EventKind, StreamedEvent

    from fabric_platform._async.client import AsyncFabricClient
    from fabric_platform._async.streams import AsyncEventStream
    from fabric_platform._core.api_response import ApiResponse
    from fabric_platform._core.download_plan import DownloadProgress
    from fabric_platform._core.sse_event import ServerSentEvent
    from fabric_platform._progress import RunProgress
    from fabric_platform._sync.client import FabricClient
    from fabric_platform._sync.streams import EventStream
    from fabric_platform.errors import (
        FabricAPIError,
        FabricAuthError,
        FabricConflictError,
        FabricConnectionError,
        FabricDownloadError,
        FabricError,
        FabricForbiddenError,
        FabricNotFoundError,
        FabricRateLimitError,
        FabricResponseError,
        FabricResponseValidationError,
        FabricServerError,
        FabricSignatureError,
        FabricTimeoutError,
        FabricValidationError,
    )
    from fabric_platform.models import RunArtifact, RunOutput, VariantOutput

__all__ = [
    "ApiResponse",
    "AsyncEventStream",
    "AsyncFabricClient",
    "DownloadProgress",
    "EventKind",
    "EventStream",
    "FabricAPIError",
    "FabricAuthError",
    "FabricClient",
    "FabricConflictError",
    "FabricConnectionError",
    "FabricDownloadError",
    "FabricError",
    "FabricForbiddenError",
    "FabricNotFoundError",
    "FabricRateLimitError",
    "FabricResponseError",
    "FabricResponseValidationError",
    "FabricServerError",
    "FabricSignatureError",
    "FabricTimeoutError",
    "FabricValidationError",
    "RunArtifact",
    "RunOutput",
    "RunProgress",
    "ServerSentEvent",
    "StreamedEvent",
    "VariantOutput",
    "__version__",
]

_LOCATIONS = {
    "FabricClient": "fabric_platform._sync.client",
    "AsyncFabricClient": "fabric_platform._async.client",
    "DownloadProgress": "fabric_platform._core.download_plan",
    "RunProgress": "._progress",
    "ApiResponse": "fabric_platform._core.api_response",
    "ServerSentEvent": "fabric_platform._core.sse_event",
    "EventStream": "fabric_platform._sync.streams",
    "AsyncEventStream": "fabric_platform._async.streams",
    "RunOutput": ".models",
    "VariantOutput": ".models",
    "RunArtifact": ".models",
    # The typed view of stream items (ServerSentEvent itself at runtime) and its kinds.
    "StreamedEvent": "fabric_platform_api.types",
    "EventKind": "fabric_platform_api.types",
}
# Public submodules reachable as attributes (``fabric_platform.models.RunOutput``) without an
# import of their own, as they were when the clients imported them eagerly.
_SUBMODULES = {"errors", "models", "webhooks"}


def __getattr__(name: str) -> Any:
    from importlib import import_module

    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)  # the import binds it here too
    if name.startswith("Fabric") and name.endswith("Error"):
        module = ".errors"
    else:
        module = _LOCATIONS.get(name, "")
    if not module:
        raise AttributeError(f"module 'fabric_platform' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
