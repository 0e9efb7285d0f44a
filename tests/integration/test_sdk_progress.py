"""One progress shape for every SDK callback: wait_for_run (sync and async) and downloads."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Iterator, List

import pytest

from fabric_platform import DownloadProgress, RunProgress
from fabric_platform.testing import LocalFabric


@pytest.fixture(scope="module")
def local() -> Iterator[LocalFabric]:
    with LocalFabric(speed=50) as fabric:
        yield fabric


def _check_shape(seen: List[Any]) -> None:
    for item in seen:
        assert isinstance(item.done, int) and item.done >= 0
        assert item.total is None or item.total >= item.done
        assert item.fraction is None or 0.0 <= item.fraction <= 1.0
        assert item.label is None or isinstance(item.label, str)


def test_wait_for_run_reports_run_progress_per_variant(local: LocalFabric) -> None:
    seen: List[RunProgress] = []
    with local.client() as fabric:
        run = fabric.submit_run("research/trends", {"topic": "x"}, variants=3)
        done = fabric.wait_for_run(run["id"], on_progress=seen.append)
    assert done["status"] == "completed"
    assert seen and all(isinstance(p, RunProgress) for p in seen)
    assert all(
        p["kind"] == "workflow.run.progress" and p.run_id == run["id"] for p in seen
    )  # still the event
    _check_shape(seen)
    last = seen[-1]
    assert last.done == last.total and last.fraction == 1.0 and last.percentage == 100.0
    assert [v.variant_index for v in last.variants] == [0, 1, 2]
    assert all(v.fraction == 1.0 for v in last.variants)
    assert [p.done for p in seen] == sorted(p.done for p in seen)


def test_async_wait_for_run_reports_the_same_shape(local: LocalFabric) -> None:
    async def main() -> List[RunProgress]:
        seen: List[RunProgress] = []
        async with local.async_client() as fabric:
            run = await fabric.submit_run("research/trends", {"topic": "x"})
            done = await fabric.wait_for_run(run["id"], on_progress=seen.append)
        assert done["status"] == "completed"
        return seen

    seen = asyncio.run(main())
    assert seen and all(isinstance(p, RunProgress) for p in seen)
    _check_shape(seen)
    assert seen[-1].fraction == 1.0 and seen[-1].variants == []  # one variant: no breakdown


def test_downloads_report_the_shared_shape(local: LocalFabric, tmp_path: Path) -> None:
    seen: List[DownloadProgress] = []
    with local.client() as fabric:
        run = fabric.submit_and_wait("video/ai_shorts", {"topic": "x"})
        files = fabric.download_all_artifacts(run["id"], tmp_path, on_progress=seen.append)
    assert files and seen
    _check_shape(seen)
    last = seen[-1]
    assert last.label == files[-1].name and last.done == last.total == files[-1].stat().st_size
    assert last.fraction == 1.0
