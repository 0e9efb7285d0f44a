"""The emulator's route table, assembled from one module per area.

Each module exposes ``routes: List[starlette.routing.Route]`` and may define
``async def on_startup(emulator)`` (e.g. to resume work that was in flight at the last stop).
Order matters only where paths overlap (a literal segment before ``{id}``), which each module
handles within itself.
"""

from __future__ import annotations

import importlib
from typing import Any, Awaitable, Callable, List

from starlette.routing import BaseRoute

# Modules written by other engineers may land later; a missing one is skipped, anything
# else wrong inside a module is a real error and propagates.
AREAS = (
    "system",
    "auth",
    "orgs",
    "me",
    "settings",
    "permissions",
    "keys",
    "jobs",
    "providers",
    "events",
    "workflows",
    "runs",
    "schedules",
    "webhooks",
    "usage",
    "galleries",
    "admin",
    # part 2 (beyond the areas above)
    "assets",
    "service_accounts",
    "oauth",
    "totp",
    "apps",
    "sinks",
)


def _modules() -> List[Any]:
    found = []
    for area in AREAS:
        name = f"{__name__}.{area}"
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return found


def all_routes() -> List[BaseRoute]:
    routes: List[BaseRoute] = []
    for module in _modules():
        routes.extend(module.routes)
    return routes


def startup_hooks() -> List[Callable[[Any], Awaitable[None]]]:
    return [module.on_startup for module in _modules() if hasattr(module, "on_startup")]
