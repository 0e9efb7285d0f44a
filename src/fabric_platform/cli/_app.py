"""The ``fabric`` root command: global options, lazily loaded command groups, exit codes.

``fabric --help`` and ``fabric --version`` import Click and this module only: each command
group lives in its own module, imported when it is run (or its own help is asked for).
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

import click

from fabric_platform._version import __version__
from fabric_platform.cli._errors import EXIT_API, EXIT_INTERRUPTED, EXIT_USAGE, describe

__all__ = ["cli"]

# name -> (module, attribute, one-line help shown by `fabric --help` without importing it)
_COMMANDS: Dict[str, Tuple[str, str, str]] = {
    "login": ("_auth_cmds", "login", "Sign in (email and password, or an API key) and save the profile."),
    "logout": ("_auth_cmds", "logout", "End the session and remove the profile's credentials."),
    "whoami": ("_auth_cmds", "whoami", "Show who the current credentials belong to."),
    "profiles": ("_auth_cmds", "profiles", "List the saved profiles (credentials masked)."),
    "runs": ("_runs", "runs", "Submit, watch, inspect, cancel and download workflow runs."),
    "workflows": ("_runs", "workflows", "List workflows and show their input schemas."),
    "assets": ("_assets", "assets", "List, upload and download assets (with byte progress)."),
    "events": ("_events", "events", "Follow the event stream (an organization's, a run's or a job's)."),
    "webhooks": (
        "_webhooks_listen",
        "webhooks",
        "Forward the organization's events to a local endpoint, signed.",
    ),
    "api": ("_api", "api", "Call any API operation by its flat or namespaced name."),
    "keys": ("_admin", "keys", "Manage API keys."),
    "secrets": ("_admin", "secrets", "Manage organization secrets (values never echoed)."),
    "jobs": ("_admin", "jobs", "Create and inspect jobs."),
    "schedules": ("_admin", "schedules", "Manage workflow schedules."),
    "orgs": ("_admin", "orgs", "List and inspect organizations and their members."),
    "usage": ("_admin", "usage", "Show an organization's usage."),
    "emulator": ("_emulator", "emulator", "Run the local Fabric emulator (a real HTTP server)."),
    "completion": ("_completion", "completion", "Print the shell completion script (bash, zsh, fish)."),
}


class FabricGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is used, and
    turns every failure into one line and a documented exit code."""

    def list_commands(self, ctx: click.Context) -> List[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        from importlib import import_module

        module = import_module(f"{__package__}.{entry[0]}")
        command: click.Command = getattr(module, entry[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # From the table, not from the commands: listing them must not import them.
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry[2]) for name, entry in _COMMANDS.items()])

    def main(
        self,
        args: Optional[Sequence[str]] = None,
        prog_name: Optional[str] = None,
        complete_var: Optional[str] = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = hoist_flags(list(sys.argv[1:] if args is None else args))
        parent: Any = super()
        code = _run(
            lambda: parent.main(argv, prog_name, complete_var, standalone_mode=False, **extra),
            "--debug" in argv,
        )
        if standalone_mode:
            sys.exit(code)
        return code


#: Global flags that may also be written after the subcommand (``fabric runs list --json``).
_HOISTED = ("--json", "--debug")


def hoist_flags(argv: List[str]) -> List[str]:
    """Move ``--json``/``--debug`` given after a subcommand to the front (up to a ``--``)."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a in _HOISTED]
    rest = [a for a in argv[:end] if a not in _HOISTED]
    return flags + rest + argv[end:]


def _run(invoke: Any, debug: bool) -> int:
    """Run the command; map what it raises to a line on stderr and an exit code."""
    from fabric_platform.errors import FabricError

    try:
        result = invoke()
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except ImportError as exc:
        from fabric_platform.cli import EXTRA_MODULES, INSTALL_HINT

        if exc.name not in EXTRA_MODULES:
            raise
        click.echo(
            f"Error: this command needs the command-line extra ({exc.name} missing): {INSTALL_HINT}", err=True
        )
        return EXIT_USAGE
    except (FabricError, ValueError, OSError) as exc:
        if debug:
            import traceback

            traceback.print_exc()
        # A ValueError is the SDK refusing an argument before sending anything.
        usage = isinstance(exc, ValueError) and not isinstance(exc, FabricError)
        click.echo(f"Error: {describe(exc)}", err=True)
        return EXIT_USAGE if usage else EXIT_API
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return result if isinstance(result, int) else 0


@click.group(
    cls=FabricGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(
    __version__, "--version", prog_name="fabric", message="%(prog)s (fabric-platform) %(version)s"
)
@click.option("--base-url", metavar="URL", help="API base URL [env FABRIC_BASE_URL].")
@click.option("--api-key", metavar="KEY", help="API key [env FABRIC_API_KEY; prefer the env or a profile].")
@click.option("--org", metavar="ID", help="Organization id [env FABRIC_ORGANIZATION_ID].")
@click.option(
    "--profile", metavar="NAME", help="Profile of ~/.config/fabric/config.toml [env FABRIC_PROFILE]."
)
@click.option(
    "--json", "json_output", is_flag=True, help="Machine output: one JSON document (NDJSON for streams)."
)
@click.option("--debug", is_flag=True, help="Show tracebacks and the SDK's debug log.")
@click.pass_context
def cli(
    ctx: click.Context,
    base_url: Optional[str],
    api_key: Optional[str],
    org: Optional[str],
    profile: Optional[str],
    json_output: bool,
    debug: bool,
) -> None:
    """fabric: the command line of the Fabric control plane.

    Exit codes: 0 ok, 1 API error (or a watched run failed), 2 usage error, 130 interrupted.
    """
    from fabric_platform.cli._context import State

    if debug:
        from fabric_platform._core.log import configure_from_env

        configure_from_env({"FABRIC_LOG": "debug"})
    state = State(
        base_url=base_url,
        api_key=api_key,
        org=org,
        profile=profile,
        json_output=json_output,
        debug=debug,
    )
    ctx.obj = state
    ctx.call_on_close(state.close)
