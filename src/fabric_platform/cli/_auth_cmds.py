"""``fabric login | logout | whoami | profiles``.

Passwords and API keys are read from a hidden prompt (or from stdin when it is not a
terminal), never from argv; they are never printed. ``login`` saves the session tokens in
the profile, and every later command writes refreshed tokens back to it.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Optional

import click

from fabric_platform._profiles import config_path, load_profiles
from fabric_platform.cli._context import DEFAULT_PROFILE, State, pass_state

__all__ = ["login", "logout", "profiles", "whoami"]


def read_secret(prompt: str) -> str:
    """A secret from a hidden prompt on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        value = click.prompt(prompt, hide_input=True, show_default=False)
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise click.UsageError(f"{prompt} is empty")
    return str(value)


def _target_profile(state: State) -> str:
    named = state.explicit_profile or state.environ.get("FABRIC_PROFILE", "").strip()
    return named or DEFAULT_PROFILE


def _connection(state: State) -> Dict[str, Any]:
    # What to remember besides the credentials: the explicit or environment values.
    def pick(explicit: Optional[str], env: str) -> Optional[str]:
        return explicit or state.environ.get(env, "").strip() or None

    values: Dict[str, Any] = {}
    base_url = pick(state.base_url, "FABRIC_BASE_URL")
    org = pick(state.org, "FABRIC_ORGANIZATION_ID")
    if base_url:
        values["base_url"] = base_url
    if org:
        values["organization_id"] = org
    return values


@click.command()
@click.option("--email", metavar="EMAIL", help="Account email (prompted when omitted).")
@click.option(
    "--api-key",
    "use_api_key",
    is_flag=True,
    help="Save an API key instead (read from a hidden prompt, or stdin when piped).",
)
@pass_state
def login(state: State, email: Optional[str], use_api_key: bool) -> None:
    """Sign in and save the credentials in the profile (--profile, default "default").

    Email and password are prompted (the password is never echoed); with --api-key the key
    is read the same way. The file is written with mode 0600.
    """
    from fabric_platform._sync.client import FabricClient
    from fabric_platform.cli._profiles import save_profile, save_tokens

    name = _target_profile(state)
    connection = _connection(state)
    if use_api_key:
        key = state.api_key or read_secret("API key")
        with FabricClient(
            api_key=key, base_url=connection.get("base_url"), organization_id=state.org
        ) as client:
            me = client.get_me()
        save_profile(
            name,
            {**connection, "api_key": key, "access_token": None, "refresh_token": None, "expires_at": None},
            environ=state.environ,
        )
    else:
        if email is None:
            email = click.prompt("Email", err=True) if sys.stdin.isatty() else sys.stdin.readline().strip()
        if not email:
            raise click.BadParameter("an email is needed", param_hint="'--email'")
        password = read_secret("Password")
        saved: Dict[str, Any] = {}
        with FabricClient(
            base_url=connection.get("base_url"), organization_id=state.org, on_tokens=saved.update
        ) as client:
            client.login(email, password)
            me = client.get_me()
        save_profile(name, {**connection, "api_key": None}, environ=state.environ)
        save_tokens(name, saved, environ=state.environ)
    who = me.get("email")
    state.output.success(
        f"Logged in{f' as {who}' if who else ''}; saved profile {name!r} in {config_path(state.environ)}"
    )
    if state.json:
        state.output.emit({"profile": name, "path": str(config_path(state.environ)), "me": me})


@click.command()
@pass_state
def logout(state: State) -> None:
    """Revoke the profile's session (if any) and remove its credentials."""
    from fabric_platform.cli._profiles import forget_session

    name = state.profile_name()
    if name is None:
        raise click.UsageError("no profile to log out of (see `fabric profiles`)")
    settings = state.profile_settings()
    if settings.get("access_token"):
        from fabric_platform.errors import FabricAuthError

        try:
            state.client().logout()
        except FabricAuthError:
            pass  # already expired or revoked: forgetting it locally is all that is left
    forget_session(name, environ=state.environ)
    state.output.success(f"Logged out of profile {name!r}")


@click.command()
@pass_state
def whoami(state: State) -> None:
    """Show the signed-in principal, its organization and the profile in use."""
    client = state.client()
    me = client.get_me()
    info = {
        "profile": state.profile_name(),
        "base_url": client.base_url,
        "organization_id": client.organization_id,
    }
    if state.json:
        state.output.emit({**info, "me": me})
        return
    state.output.emit({**info, **{k: v for k, v in me.items() if not isinstance(v, (dict, list))}})


def _mask(value: Any) -> str:
    if not isinstance(value, str) or not value:
        return ""
    return value[:9] + "…" if value.startswith(("fab_live_", "fab_test_")) else "…"


@click.command()
@pass_state
def profiles(state: State) -> None:
    """List the profiles of the config file (credentials masked)."""
    path = config_path(state.environ)
    rows = []
    for name, table in sorted(load_profiles(path).items()):
        rows.append(
            {
                "name": name,
                "base_url": table.get("base_url", ""),
                "organization_id": table.get("organization_id", ""),
                "api_key": _mask(table.get("api_key")),
                "session": "yes" if table.get("access_token") else "",
            }
        )
    state.output.emit(rows, columns=["name", "base_url", "organization_id", "api_key", "session"])
