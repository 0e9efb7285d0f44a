"""Named profiles: connection settings shared by the ``fabric`` command line and the SDK.

The file is ``$XDG_CONFIG_HOME/fabric/config.toml`` (``~/.config/fabric/config.toml`` when
``XDG_CONFIG_HOME`` is unset), one table per profile::

    [default]
    base_url = "http://127.0.0.1:8787"
    api_key = "fab_test_…"
    organization_id = "…"

    [staging]
    base_url = "https://staging.example.com"
    access_token = "…"          # written by `fabric login`, refreshed in place
    refresh_token = "…"
    expires_at = 1767225600.0    # unix time the access token expires

Only reading lives here (the SDK needs it with its core dependencies: ``tomllib`` on
3.11+, ``tomli`` below). Writing is the command line's job (``fabric_platform.cli``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

__all__ = ["ProfileError", "config_path", "load_profiles", "profile_settings", "session_tokens"]

#: Keys a profile may hold; anything else in a table is kept but ignored.
SETTINGS = ("base_url", "api_key", "organization_id")
SESSION = ("access_token", "refresh_token", "expires_at")


class ProfileError(ValueError):
    """A named profile is missing, or the config file cannot be read.

    A ValueError: it is a bad argument (``profile=`` / ``FABRIC_PROFILE``), raised before
    any request is sent. The message names the file; it never contains a credential.
    """


def config_path(environ: Optional[Mapping[str, str]] = None) -> Path:
    """Where the profiles file is.

    Args:
        environ: The environment to read ``XDG_CONFIG_HOME`` from (default ``os.environ``).

    Returns:
        ``$XDG_CONFIG_HOME/fabric/config.toml``, else ``~/.config/fabric/config.toml``.
    """
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base) if base else Path(env.get("HOME") or Path.home()) / ".config"
    return root / "fabric" / "config.toml"


def _toml() -> Any:
    # Loaded on first use: most clients never read a profile.
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    import tomli  # type: ignore[import-not-found,unused-ignore]  # a core dependency below 3.11

    return tomli


def load_profiles(path: Path) -> Dict[str, Dict[str, Any]]:
    """Every profile in ``path`` (``{}`` when the file does not exist).

    Raises:
        ProfileError: The file exists but is not valid TOML, or a profile is not a table.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ProfileError(f"cannot read {path}: {exc.strerror or exc}") from None
    toml = _toml()
    try:
        document = toml.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:  # TOMLDecodeError is a ValueError
        # The decoder's message quotes the offending line, which may hold a key: name the position only.
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise ProfileError(f"{path} is not valid TOML{where}") from None
    profiles: Dict[str, Dict[str, Any]] = {}
    for name, table in document.items():
        if not isinstance(table, dict):
            raise ProfileError(f"{path}: [{name}] must be a table of settings")
        profiles[name] = table
    return profiles


def profile_settings(name: str, environ: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """The settings of profile ``name``.

    Args:
        name: The profile (a table of the config file).
        environ: The environment (for ``XDG_CONFIG_HOME``).

    Returns:
        The profile's table (``base_url``, ``api_key``, ``organization_id``, tokens …).

    Raises:
        ProfileError: No such profile, or the file is unreadable.
    """
    path = config_path(environ)
    profiles = load_profiles(path)
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ProfileError(
            f"no profile {name!r} in {path} (profiles: {known}); create it with `fabric login`"
        )
    return profiles[name]


def session_tokens(settings: Mapping[str, Any], *, now: Optional[float] = None) -> Optional[Dict[str, Any]]:
    """The stored session of a profile as an AuthTokens dict, or None.

    ``expires_in`` is what is left of the access token's life (0 when it has expired, so
    the first request refreshes it).
    """
    access = settings.get("access_token")
    if not isinstance(access, str) or not access:
        return None
    tokens: Dict[str, Any] = {"access_token": access}
    refresh = settings.get("refresh_token")
    if isinstance(refresh, str) and refresh:
        tokens["refresh_token"] = refresh
    expires_at = settings.get("expires_at")
    if isinstance(expires_at, (int, float)) and not isinstance(expires_at, bool):
        left = float(expires_at) - (time.time() if now is None else now)
        tokens["expires_in"] = max(0.0, left)
    return tokens
