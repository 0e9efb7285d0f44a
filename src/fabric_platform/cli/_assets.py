"""``fabric assets list | upload FILE | download ID``.

Downloads stream to disk with byte progress (size, speed, time left) and keep the SDK's
guarantees: written atomically (a temporary file renamed into place), verified against the
expected size/SHA-256 when known, under a sanitised file name.
"""

from __future__ import annotations

from pathlib import Path

import click

from fabric_platform.cli._context import State, pass_state

__all__ = ["assets"]


@click.group()
def assets() -> None:
    """List, upload and download the organization's assets."""


@assets.command("list")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@pass_state
def assets_list(state: State, limit: int) -> None:
    """List assets."""
    rows = state.client().list_assets(limit=limit)
    state.output.emit(rows, columns=["id", "filename", "content_type", "size_bytes", "created_at"])


@assets.command("upload")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--content-type", help="MIME type (default: the server's guess).")
@pass_state
def assets_upload(state: State, path: Path, content_type: str) -> None:
    """Upload the file at PATH."""
    with path.open("rb") as handle:
        asset = state.client().upload_asset(handle, path.name, content_type)
    state.output.emit(asset)


@assets.command("download")
@click.argument("asset_id")
@click.option("--dir", "dest", default=".", show_default=True, metavar="DIR", help="Folder to save into.")
@pass_state
def assets_download(state: State, asset_id: str, dest: str) -> None:
    """Download an asset into DIR (its name from the server, sanitised)."""
    from fabric_platform.cli._bars import DownloadBars

    folder = Path(dest)
    folder.mkdir(parents=True, exist_ok=True)  # a folder, whatever its name looks like
    with DownloadBars(json_mode=state.json) as bars:
        path = state.client().download_asset(asset_id, folder, on_progress=bars.update)
    state.output.note(f"saved {path}")
    if state.json:
        state.output.emit(str(path))
