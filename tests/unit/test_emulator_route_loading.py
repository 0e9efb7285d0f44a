"""The emulator's route table is strict: an area that is missing or fails to import is an error.

A skipped area would only show up later as 404s for its operations, far from the cause.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fabric_platform.testing import _routes


def test_every_area_loads_and_serves_routes() -> None:
    assert len(_routes.all_routes()) > len(_routes.AREAS)


def test_a_missing_area_is_an_import_error() -> None:
    with pytest.raises(ImportError) as exc:
        _routes.all_routes(("system", "no_such_area"))
    assert exc.value.name == "fabric_platform.testing._routes.no_such_area"


def test_an_area_that_fails_to_import_is_an_import_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_area.py").write_text("from .no_such_helper import routes\n", encoding="utf-8")
    monkeypatch.setattr(_routes, "__path__", [*_routes.__path__, str(tmp_path)])
    with pytest.raises(ImportError):
        _routes.startup_hooks(("broken_area",))
