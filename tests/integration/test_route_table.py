"""The emulator serves exactly the operations of spec/openapi.yaml: nothing missing, nothing extra.

Routes under ``/_emulator`` are the emulator's own controls and are not part of the contract.
Path parameters are compared by position only (``/v1/jobs/{job_id}`` == ``/v1/jobs/{id}``,
``{workflow_name:path}`` == ``{workflow_name}``).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Dict, Tuple

import yaml

from fabric_platform.testing._app import create_app
from fabric_platform.testing._state import Config, Emulator

SPEC = Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
Key = Tuple[str, str]


def _normalise(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


@functools.cache
def spec_operations() -> Dict[Key, str]:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    operations: Dict[Key, str] = {}
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                key = (method.upper(), _normalise(path))
                assert key not in operations, f"the spec declares {key} twice"
                operations[key] = item[method]["operationId"]
    return operations


@functools.cache
def emulator_routes() -> Dict[Key, str]:
    emulator = Emulator(Config(password_hash_iterations=1000))
    try:
        app = create_app(emulator)
        routes: Dict[Key, str] = {}
        for route in app.app.routes:  # the Starlette app inside the request pipeline
            path = getattr(route, "path", "")
            if path.startswith("/_emulator"):
                continue
            for method in sorted(getattr(route, "methods", None) or ()):
                if method == "HEAD":  # Starlette answers HEAD for every GET route
                    continue
                key = (method, _normalise(path))
                assert key not in routes, f"two emulator routes serve {key}: {routes[key]} and {route.name}"
                routes[key] = route.name
        return routes
    finally:
        emulator.store.close()


def test_the_route_table_equals_the_spec_operations() -> None:
    spec, served = spec_operations(), emulator_routes()
    missing = sorted(f"{m} {p} ({spec[(m, p)]})" for m, p in set(spec) - set(served))
    extra = sorted(f"{m} {p} ({served[(m, p)]})" for m, p in set(served) - set(spec))
    assert not missing and not extra, f"missing from the emulator: {missing}\nnot in the spec: {extra}"
    assert len(spec) >= 178


def test_routes_are_named_after_their_operation_ids() -> None:
    spec, served = spec_operations(), emulator_routes()
    wrong = {f"{m} {p}": (served[(m, p)], op) for (m, p), op in spec.items() if served.get((m, p)) != op}
    assert not wrong, f"route name != operationId: {wrong}"
