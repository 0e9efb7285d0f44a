"""Every public method of both clients, and every public class, documents itself.

Hand-written methods document each parameter under ``Args:`` and what they give back under
``Returns:`` (temporalio's layout); generated ones take theirs from the spec, so a thin spec
shows here as a thin docstring, not as a missing one. The method list is the one the API
reference is built from (codegen/reference.py), so a method users can reach is checked.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import pytest

import fabric_platform
from fabric_platform import AsyncFabricClient, FabricClient

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "codegen"))
from reference import walk

# Catch-alls forwarded to another documented method.
_FORWARDED = {"args", "kwargs", "options"}


def _methods() -> Iterator[Tuple[str, Any]]:
    for cls in (FabricClient, AsyncFabricClient):
        client = cls(base_url="http://127.0.0.1:9", api_key="fab_test_docstrings")
        for path, func in walk(client):
            yield f"{cls.__name__}.{'.'.join(path)}", func


def _problems(func: Any) -> List[str]:
    doc = inspect.getdoc(func) or ""
    if not doc:
        return ["no docstring"]
    if func.__module__.startswith("fabric_platform_api"):
        return []  # generated from the spec: Args for what the spec describes, Returns, Raises
    sig = inspect.signature(func)
    params = [p for p in list(sig.parameters)[1:] if p not in _FORWARDED]
    problems = [f"Args: no {p!r}" for p in params if f"{p}:" not in doc]
    returns = sig.return_annotation
    if returns not in ("None", None, inspect.Signature.empty) and "Returns:" not in doc:
        problems.append("no Returns:")
    return problems


_METHODS = dict(_methods())


@pytest.mark.parametrize("name", sorted(_METHODS))
def test_public_method_is_documented(name: str) -> None:
    problems = _problems(_METHODS[name])
    assert not problems, f"{name}: {', '.join(problems)}"


@pytest.mark.parametrize("name", fabric_platform.__all__)
def test_public_class_is_documented(name: str) -> None:
    obj = getattr(fabric_platform, name)
    if inspect.isclass(obj):
        assert inspect.getdoc(obj), f"{name} has no docstring"


def test_a_generated_method_documents_route_returns_and_raises() -> None:
    doc = inspect.getdoc(FabricClient.get_job) or ""
    assert "`GET /v1/jobs/{job_id}`" in doc
    assert "Returns:" in doc and "Raises:" in doc and "FabricAPIError" in doc
