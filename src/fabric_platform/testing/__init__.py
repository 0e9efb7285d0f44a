"""The local Fabric emulator: a real Fabric control plane on 127.0.0.1 for tests and demos.

    from fabric_platform.testing import LocalFabric

    with LocalFabric() as fabric:
        client = fabric.client()

Needs the ``emulator`` extra (``pip install 'fabric-platform[emulator]'``). Heavy modules
(Starlette, uvicorn) are imported only when ``LocalFabric`` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._local import LocalFabric
    from ._pytest_plugin import FabricAccount

__all__ = ["FabricAccount", "LocalFabric"]


def __getattr__(name: str) -> Any:
    if name == "LocalFabric":
        from ._local import LocalFabric

        return LocalFabric
    if name == "FabricAccount":  # what the ``fabric_account`` pytest fixture gives
        from ._pytest_plugin import FabricAccount

        return FabricAccount
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
