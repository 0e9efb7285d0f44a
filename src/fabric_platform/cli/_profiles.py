"""Writing profiles: the command line's side of ``~/.config/fabric/config.toml``.

Reading is shared with the SDK (``fabric_platform._profiles``). The file holds credentials,
so it is written with mode 0600, atomically (a temporary file in the same folder, then
``os.replace``): a crash never leaves half a file, and other users never see it.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from fabric_platform._profiles import config_path, load_profiles

__all__ = ["forget_session", "save_profile", "save_tokens"]


def _write(path: Path, profiles: Mapping[str, Mapping[str, Any]]) -> None:
    import tomli_w

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = tomli_w.dumps({name: dict(table) for name, table in profiles.items()})
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)  # mkstemp already makes it 0600; say so rather than rely on it
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def save_profile(
    name: str, values: Mapping[str, Any], *, environ: Optional[Mapping[str, str]] = None
) -> Path:
    """Set keys of profile ``name`` (None removes a key); other profiles are kept as they are.

    Returns:
        The file written.
    """
    path = config_path(environ)
    profiles: Dict[str, Dict[str, Any]] = load_profiles(path)
    table = dict(profiles.get(name, {}))
    for key, value in values.items():
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    profiles[name] = table
    _write(path, profiles)
    return path


def save_tokens(name: str, tokens: Mapping[str, Any], *, environ: Optional[Mapping[str, str]] = None) -> None:
    """Store a session (AuthTokens) in profile ``name``, replacing any API key."""
    expires_in = tokens.get("expires_in")
    expires_at = (
        time.time() + float(expires_in)
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool)
        else None
    )
    save_profile(
        name,
        {
            "access_token": tokens.get("access_token"),
            "refresh_token": tokens.get("refresh_token"),
            "expires_at": expires_at,
        },
        environ=environ,
    )


def forget_session(name: str, *, environ: Optional[Mapping[str, str]] = None) -> bool:
    """Remove the credentials (tokens and API key) of profile ``name``.

    Returns:
        Whether the profile existed.
    """
    path = config_path(environ)
    if name not in load_profiles(path):
        return False
    save_profile(
        name,
        {"access_token": None, "refresh_token": None, "expires_at": None, "api_key": None},
        environ=environ,
    )
    return True
