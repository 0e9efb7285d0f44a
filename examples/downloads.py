"""Download every artifact of a variants=3 run into a folder: streamed, verified, atomic."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

from fabric_platform import DownloadProgress, FabricClient

try:
    from _common import run_standalone, title
except ImportError:
    from examples._common import run_standalone, title


def main(fabric: FabricClient, dest_dir: Optional[Path] = None) -> None:
    title("download_all_artifacts of a variants=3 run")
    result = fabric.workflows.runs.submit_and_get_output(
        "video/ai_shorts",
        input={"topic": "AI trends"},
        variants=3,
    )
    with tempfile.TemporaryDirectory(prefix="fabric-downloads-") as tmp:
        folder = dest_dir or Path(tmp)
        done = set()

        def progress(p: DownloadProgress) -> None:
            if p.total is not None and p.downloaded == p.total and p.name not in done:
                done.add(p.name)
                print(f"  {p.name:<14} {p.downloaded:>7} bytes  done")

        # One file per artifact; every variant's "short.mp4" gets its own name. Each file
        # is written to a hidden temp file, checked against the artifact's size and
        # SHA-256, then renamed into place.
        paths = fabric.download_all_artifacts(result, folder, on_progress=progress)
        for artifact, path in zip(result.all_artifacts, paths):
            print(
                f"  variant {artifact.variant_index}: {path.name} ({artifact.content_type}, sha256 {(artifact.sha256 or '')[:12]}…)"
            )
        print(f"{len(paths)} files in {folder}")


if __name__ == "__main__":
    run_standalone(main)
