"""Download decisions, shared by the sync and the async client (no I/O here).

* :func:`artifact_source` — what a RunArtifact / artifact dict / URL tells about the file.
* :class:`Target` — where the file goes: a folder plus a sanitised name, or a given path.
* :class:`Transfer` — one file's state: offsets, SHA-256, expected size, resume or restart,
  retry budget, integrity verdict.
* :func:`plan_artifact` / :func:`plan_asset` — the three above for one call, checked
  before any request; :func:`batch` — the names of ``download_all_artifacts``.

The I/O loops that use them are in ``_async/transfers.py`` (and its generated sync twin).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, List, Mapping, NamedTuple, Optional, Tuple, Union
from urllib.parse import urljoin, urlsplit

import httpx

from fabric_platform._core.download_transfer import Transfer, non_negative_int
from fabric_platform._core.filenames import (
    filename_from_disposition,
    filename_from_url,
    safe_filename,
    unique_names,
)

if TYPE_CHECKING:
    from fabric_platform.models import RunArtifact

__all__ = [
    "DownloadProgress",
    "PathLike",
    "Plan",
    "ProgressCallback",
    "Source",
    "Target",
    "artifact_source",
    "batch",
    "check_expectations",
    "fresh_url",
    "plan_artifact",
    "plan_asset",
    "verify_bytes",
]

PathLike = Union[str, "os.PathLike[str]"]
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


class DownloadProgress(NamedTuple):
    """What a progress callback receives: once when the response starts, then per chunk.

    Shares ``done``, ``total``, ``fraction`` and ``label`` with :class:`~fabric_platform.RunProgress`.

    Attributes:
        name: The file's final name (inside the destination folder).
        downloaded: Bytes written so far (back to 0 if a retry has to start over).
        total: The file's size when known (``Content-Length`` or metadata), else None.
    """

    name: str
    downloaded: int
    total: Optional[int]

    # The progress shape shared with wait_for_run's RunProgress (see ``_progress``).
    @property
    def done(self) -> int:
        """Bytes written so far (``downloaded``)."""
        return self.downloaded

    @property
    def fraction(self) -> Optional[float]:
        """``downloaded / total`` (0.0–1.0), or None when the size is not known."""
        if not self.total:
            return None
        return min(1.0, self.downloaded / self.total)

    @property
    def label(self) -> str:
        """The file's name."""
        return self.name


ProgressCallback = Callable[[DownloadProgress], None]


# --------------------------------------------------------------------------- what to fetch


@dataclass
class Source:
    """Where a download comes from and what is known about it beforehand.

    Attributes:
        url: A signed, credential-free URL (absolute, or relative to the API base URL).
        name: The server's name for the file (unsanitised), if any.
        size: The expected size in bytes, if known.
        sha256: The expected hex digest, if known.
        artifact_id: The artifact's id (to fetch a fresh URL if this one expired).
        run_id: The artifact's run.
        asset_id: Its asset, a fallback when there is no URL.
    """

    url: Optional[str] = None
    name: Optional[str] = None
    size: Optional[int] = None
    sha256: Optional[str] = None
    artifact_id: Optional[str] = None
    run_id: Optional[str] = None
    asset_id: Optional[str] = None


def _sha_or_none(value: Any) -> Optional[str]:
    return value.lower() if isinstance(value, str) and _SHA256_HEX.match(value) else None


def artifact_source(artifact_or_url: Any) -> Source:
    """Describe what to download from a RunArtifact, an artifact dict or a URL string.

    Args:
        artifact_or_url: A :class:`~fabric_platform.models.RunArtifact`, a mapping with the
            same fields (``list_run_artifacts`` items), or a signed URL.

    Returns:
        The source, with size/SHA-256 from the artifact (or its ``metadata``) when present.

    Raises:
        TypeError: Anything else.
        ValueError: An artifact with neither ``download_url`` nor ``asset_id``.
    """
    if isinstance(artifact_or_url, (str, httpx.URL)):
        url = str(artifact_or_url)
        if not url:
            raise ValueError("the download URL is empty")
        return Source(url=url)
    from fabric_platform.models import RunArtifact  # pydantic: loaded on the first download, not at import

    if isinstance(artifact_or_url, RunArtifact):
        fields: Mapping[str, Any] = artifact_or_url.model_dump()
    elif isinstance(artifact_or_url, Mapping):
        fields = artifact_or_url
    else:
        raise TypeError(
            f"expected a RunArtifact, an artifact dict or a URL, got {type(artifact_or_url).__name__}"
        )
    raw_metadata = fields.get("metadata")
    metadata: Mapping[str, Any] = raw_metadata if isinstance(raw_metadata, Mapping) else {}
    own_size = non_negative_int(fields.get("size_bytes"))
    source = Source(
        url=fields.get("download_url") or None,
        name=fields.get("filename") or None,
        size=own_size if own_size is not None else non_negative_int(metadata.get("size_bytes")),
        sha256=_sha_or_none(fields.get("sha256")) or _sha_or_none(metadata.get("sha256")),
        artifact_id=fields.get("id") or None,
        run_id=fields.get("run_id") or None,
        asset_id=fields.get("asset_id") or None,
    )
    if source.url is None and source.asset_id is None:
        raise ValueError(
            f"artifact {source.artifact_id or source.name or '?'} has no download_url and no "
            "asset_id: the server holds no bytes for it"
        )
    return source


def check_expectations(expected_size: Optional[int], expected_sha256: Optional[str]) -> None:
    """Validate the caller's ``expected_size``/``expected_sha256`` before any request.

    Raises:
        ValueError: A negative size or a digest that is not 64 hex characters.
    """
    if expected_size is not None and (
        isinstance(expected_size, bool) or not isinstance(expected_size, int) or expected_size < 0
    ):
        raise ValueError(f"expected_size must be an int >= 0, got {expected_size!r}")
    if expected_sha256 is not None and not _sha_or_none(expected_sha256):
        raise ValueError("expected_sha256 must be a SHA-256 hex digest (64 hex characters)")


def absolute_url(url: str, base_url: str) -> str:
    """A download URL made absolute (servers may return paths relative to the API)."""
    if urlsplit(url).scheme:
        return url
    return urljoin(base_url.rstrip("/") + "/", url.lstrip("/"))


# --------------------------------------------------------------------------- where it goes


class Target:
    """Decides the final path: a folder plus a name, or a file path the caller chose.

    ``dest`` is a folder when ``filename`` is given, when it is an existing directory or
    when it ends with a path separator (the name then comes from the caller's
    ``filename``, else the server, else ``fallback`` — always sanitised). Otherwise it is
    the file's full path, used as given.
    """

    def __init__(
        self,
        dest: PathLike,
        *,
        filename: Optional[str],
        server_name: Optional[str],
        fallback: str,
    ) -> None:
        text = os.fspath(dest)
        if not text:
            raise ValueError("dest must be a folder or a file path, got ''")
        path = Path(text)
        is_folder = (
            filename is not None
            or path.is_dir()
            or text.endswith(("/", os.sep) + ((os.altsep,) if os.altsep else ()))
        )
        self.folder = path if is_folder else path.parent
        self._fixed = None if is_folder else path.name
        self._explicit = safe_filename(filename) if filename is not None else None
        self._server_name = server_name
        self._fallback = fallback

    def path_for(self, headers: Optional[httpx.Headers], url: Optional[str]) -> Path:
        """The final path, once the response's headers are known.

        Raises:
            RuntimeError: The name would leave the folder (cannot happen with a sanitised
                name; checked anyway, because the cost of being wrong is a file anywhere).
        """
        if self._fixed is not None:
            return self.folder / self._fixed
        name = self._explicit or safe_filename(
            self._server_name
            or (filename_from_disposition(headers.get("content-disposition")) if headers else None)
            or (filename_from_url(url) if url else None),
            fallback=self._fallback,
        )
        final = self.folder / name
        if final.parent != self.folder or name in ("", ".", ".."):
            raise RuntimeError(f"refusing to write {name!r} outside {self.folder}")
        return final


# --------------------------------------------------------------------------- the transfer


@dataclass
class Plan:
    """Everything a client decides before the first byte (identical for sync and async)."""

    source: Source
    target: Target
    transfer: Transfer
    url: Optional[str]  # absolute signed URL, or None to use the asset endpoint


def plan_artifact(
    artifact_or_url: Any,
    dest: PathLike,
    *,
    filename: Optional[str],
    expected_sha256: Optional[str],
    expected_size: Optional[int],
    base_url: str,
    max_retries: int,
) -> Plan:
    """Plan ``download_artifact``: the caller's expectations win over the artifact's.

    Raises:
        ValueError / TypeError: Bad arguments (before any request).
    """
    check_expectations(expected_size, expected_sha256)
    source = artifact_source(artifact_or_url)
    transfer = Transfer(
        expected_size=expected_size if expected_size is not None else source.size,
        expected_sha256=expected_sha256 or source.sha256,
        max_retries=max_retries,
    )
    target = Target(
        dest, filename=filename, server_name=source.name, fallback=source.artifact_id or "download"
    )
    url = absolute_url(source.url, base_url) if source.url else None
    return Plan(source, target, transfer, url)


def plan_asset(
    asset_id: str,
    dest: PathLike,
    *,
    filename: Optional[str],
    expected_sha256: Optional[str],
    expected_size: Optional[int],
    max_retries: int,
) -> Plan:
    """Plan ``download_asset(..., dest=...)``: the name comes from Content-Disposition."""
    check_expectations(expected_size, expected_sha256)
    if not asset_id:
        raise ValueError("asset_id must not be empty")
    transfer = Transfer(expected_size=expected_size, expected_sha256=expected_sha256, max_retries=max_retries)
    target = Target(dest, filename=filename, server_name=None, fallback=asset_id)
    return Plan(Source(asset_id=asset_id), target, transfer, None)


def verify_bytes(data: bytes, *, expected_size: Optional[int], expected_sha256: Optional[str]) -> bytes:
    """Check bytes already in memory (``download_asset`` without ``dest``).

    Raises:
        FabricDownloadError: Size or SHA-256 differ.
    """
    check_expectations(expected_size, expected_sha256)
    if expected_size is None and expected_sha256 is None:
        return data
    transfer = Transfer(expected_size=expected_size, expected_sha256=expected_sha256, max_retries=0)
    transfer.feed(data)
    transfer.verify()
    return data


def fresh_url(artifacts: Any, artifact_id: str, base_url: str) -> Optional[str]:
    """The current signed URL of ``artifact_id`` in a ``list_run_artifacts`` answer."""
    for item in artifacts if isinstance(artifacts, list) else []:
        if isinstance(item, Mapping) and item.get("id") == artifact_id and item.get("download_url"):
            return absolute_url(str(item["download_url"]), base_url)
    return None


def batch(output: Any) -> List[Tuple[RunArtifact, str]]:
    """The downloadable artifacts of a RunOutput with a unique, safe name each.

    Artifacts without bytes (neither ``download_url`` nor ``asset_id``: recorded for
    lineage only) are skipped. Duplicate names — every variant of ``video/ai_shorts``
    produces ``short.mp4`` — get ``-1``, ``-2``... in ``all_artifacts`` order, so the same
    run always lands under the same names.
    """
    artifacts = [a for a in output.all_artifacts if a.download_url or a.asset_id]
    names = unique_names(safe_filename(a.filename, fallback=a.id) for a in artifacts)
    return list(zip(artifacts, names))
