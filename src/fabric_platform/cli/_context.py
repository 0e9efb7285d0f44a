"""What every command shares: the global options, the profile in use and the client.

Precedence, as in the SDK: an explicit option beats its ``FABRIC_*`` variable, which beats
the profile. The profile is ``--profile``, else ``FABRIC_PROFILE``, else ``default`` when
that one exists. A profile that is named but missing is a usage error before anything is
sent.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

import click

if TYPE_CHECKING:
    from fabric_platform._sync.client import FabricClient
    from fabric_platform.cli._output import Output

__all__ = ["DEFAULT_PROFILE", "State", "pass_state"]

DEFAULT_PROFILE = "default"


class State:
    """The resolved global options of one ``fabric`` invocation (``ctx.obj``)."""

    def __init__(
        self,
        *,
        base_url: Optional[str],
        api_key: Optional[str],
        org: Optional[str],
        profile: Optional[str],
        json_output: bool,
        debug: bool,
        environ: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.org = org
        self.explicit_profile = profile
        self.json = json_output
        self.debug = debug
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self._client: Optional[FabricClient] = None
        self._output: Optional[Output] = None

    # -- profile ---------------------------------------------------------------------------
    def profile_name(self) -> Optional[str]:
        """The profile in use (None when no profile applies).

        Raises:
            click.BadParameter: ``--profile`` / ``FABRIC_PROFILE`` names a missing profile.
        """
        from fabric_platform._profiles import ProfileError, config_path, load_profiles

        named = self.explicit_profile or self.environ.get("FABRIC_PROFILE", "").strip() or None
        try:
            profiles = load_profiles(config_path(self.environ))
        except ProfileError as exc:
            raise click.UsageError(str(exc)) from None
        if named is None:
            return DEFAULT_PROFILE if DEFAULT_PROFILE in profiles else None
        if named not in profiles:
            where = "--profile" if self.explicit_profile else "FABRIC_PROFILE"
            known = ", ".join(sorted(profiles)) or "none"
            raise click.BadParameter(
                f"no profile {named!r} in {config_path(self.environ)} (profiles: {known}); "
                "create it with `fabric login`",
                param_hint=f"'{where}'",
            )
        return named

    def profile_settings(self) -> Dict[str, Any]:
        """The profile's stored settings ({} without a profile)."""
        from fabric_platform._profiles import profile_settings

        name = self.profile_name()
        return dict(profile_settings(name, self.environ)) if name else {}

    # -- client ----------------------------------------------------------------------------
    def client(self) -> FabricClient:
        """The FabricClient for this invocation (created once).

        Refreshed session tokens are written back to the profile they came from.
        """
        if self._client is not None:
            return self._client
        from fabric_platform._sync.client import FabricClient

        name = self.profile_name()
        on_tokens = None
        if name is not None:

            def on_tokens(tokens: Dict[str, Any], _name: str = name) -> None:
                from fabric_platform.cli._profiles import save_tokens

                save_tokens(_name, tokens, environ=self.environ)

        self._client = FabricClient(
            base_url=self.base_url,
            api_key=self.api_key,
            organization_id=self.org,
            profile=name,
            on_tokens=on_tokens,
        )
        return self._client

    @property
    def output(self) -> Output:
        """How to print results (tables on a terminal, plain when piped, JSON with --json)."""
        if self._output is None:
            from fabric_platform.cli._output import Output

            self._output = Output(json_mode=self.json, environ=self.environ)
        return self._output

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


pass_state = click.make_pass_decorator(State)
