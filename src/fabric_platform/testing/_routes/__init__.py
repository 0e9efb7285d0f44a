"""The emulator's HTTP handlers, one module per area of the API, and their route table.

Each area module exposes ``routes: List[starlette.routing.Route]`` and may define
``async def on_startup(emulator)`` (e.g. to resume work that was in flight at the last stop).
Handlers parse the request, ask ``_domain`` (the rules) and ``_engine`` (runs), and answer with
``_infra.http``; they do not import each other. Modules whose names start with ``_`` are
helpers shared by handlers (request checks and parsing), not areas.

Order matters only where paths overlap (a literal segment before ``{id}``), which each module
handles within itself.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any, Awaitable, Callable, List, Sequence

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from .._state import Emulator

StartupHook = Callable[["Emulator"], Awaitable[None]]

# Every area is part of the emulator: one that fails to import is an error, not a gap in the
# route table that would surface later as a 404.
AREAS = (
    "system",
    "auth",
    "orgs",
    "invitations",
    "me",
    "settings",
    "permissions",
    "keys",
    "jobs",
    "providers",
    "events",
    "workflows",
    "runs",
    "registry",
    "schedules",
    "webhooks",
    "usage",
    "galleries",
    "admin",
    "assets",
    "service_accounts",
    "oauth",
    "totp",
    "apps",
    "sinks",
)


def _modules(areas: Sequence[str] = AREAS) -> List[ModuleType]:
    return [importlib.import_module(f"{__name__}.{area}") for area in areas]


def all_routes(areas: Sequence[str] = AREAS) -> List[BaseRoute]:
    routes: List[BaseRoute] = []
    for module in _modules(areas):
        routes.extend(module.routes)
    return routes


def startup_hooks(areas: Sequence[str] = AREAS) -> List[StartupHook]:
    hooks: List[StartupHook] = []
    for module in _modules(areas):
        hook: Any = getattr(module, "on_startup", None)
        if hook is not None:
            hooks.append(hook)
    return hooks
