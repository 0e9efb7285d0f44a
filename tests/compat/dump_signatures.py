"""Print the public methods of the installed public fabric-platform as JSON signatures.

Run inside a throwaway venv (see ``_venvs``): ``{name: [{name, kind, has_default}, ...]}`` for
every public method of ``FabricClient`` (namespaces as dotted paths) and, when the release has
one, ``AsyncFabricClient``.
"""

from __future__ import annotations

import inspect
import json
import sys

from _driver_core import public_methods

import fabric_platform


def describe(client: object) -> dict:
    out = {}
    for name in public_methods(client):
        target = client
        for part in name.split("."):
            target = getattr(target, part)
        params = inspect.signature(target).parameters.values()
        out[name] = [
            {"name": p.name, "kind": p.kind.name, "has_default": p.default is not p.empty} for p in params
        ]
    return out


client = fabric_platform.FabricClient(base_url="http://127.0.0.1:9", api_key="unused")
json.dump({"FabricClient": describe(client)}, sys.stdout)
