"""Shared by the examples: run one example standalone against a fresh local emulator."""

from __future__ import annotations

from typing import Any, Callable


def run_standalone(main: Callable[[Any], Any]) -> None:
    """Start a local Fabric (127.0.0.1, in-memory), run ``main(client)``, stop it."""
    from fabric_platform.testing import LocalFabric

    with LocalFabric(speed=20.0) as local, local.client() as fabric:
        main(fabric)


def title(text: str) -> None:
    print(f"\n=== {text} " + "=" * max(0, 70 - len(text)))
