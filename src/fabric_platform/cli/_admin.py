"""The daily administration commands: ``keys``, ``secrets``, ``jobs``, ``schedules``, ``orgs``, ``usage``.

Anything not here is one ``fabric api OPERATION`` away. Secret values are read from a
hidden prompt or stdin, never from argv, and are never printed.
"""

from __future__ import annotations

from typing import Optional, Tuple

import click

from fabric_platform.cli._auth_cmds import read_secret
from fabric_platform.cli._context import State, pass_state
from fabric_platform.cli._inputs import json_value, key_values

__all__ = ["jobs", "keys", "orgs", "schedules", "secrets", "usage"]


def _org(state: State, org: Optional[str]) -> str:
    return org or state.client().organization_id


# -- keys ------------------------------------------------------------------------------------
@click.group()
def keys() -> None:
    """Manage API keys."""


@keys.command("list")
@pass_state
def keys_list(state: State) -> None:
    """List API keys (never their secret part)."""
    state.output.emit(
        state.client().list_api_keys(), columns=["id", "name", "prefix", "scopes", "active", "created_at"]
    )


@keys.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, help="A scope (repeatable), e.g. workflow.run.")
@pass_state
def keys_create(state: State, name: str, scopes: Tuple[str, ...]) -> None:
    """Create an API key; its value is shown once."""
    created = state.client().create_api_key(name, _org(state, state.org), list(scopes) or None)
    state.output.emit(created)


@keys.command("rotate")
@click.argument("key_id")
@pass_state
def keys_rotate(state: State, key_id: str) -> None:
    """Rotate a key; the new value is shown once."""
    state.output.emit(state.client().rotate_api_key(key_id))


@keys.command("disable")
@click.argument("key_id")
@pass_state
def keys_disable(state: State, key_id: str) -> None:
    """Disable a key."""
    state.client().disable_api_key(key_id)
    state.output.success(f"Disabled key {key_id}")


@keys.command("delete")
@click.argument("key_id")
@pass_state
def keys_delete(state: State, key_id: str) -> None:
    """Delete a key."""
    state.client().delete_api_key(key_id)
    state.output.success(f"Deleted key {key_id}")


# -- secrets ---------------------------------------------------------------------------------
@click.group()
def secrets() -> None:
    """Manage organization secrets (names are listed; values are write-only)."""


@secrets.command("list")
@pass_state
def secrets_list(state: State) -> None:
    """List secret names."""
    names = state.client().list_secrets()
    if state.json:
        state.output.emit(names)
    else:
        state.output.lines(str(n) for n in names)


@secrets.command("set")
@click.argument("name")
@pass_state
def secrets_set(state: State, name: str) -> None:
    """Set secret NAME; the value comes from a hidden prompt, or stdin when piped."""
    value = read_secret(f"Value for {name}")
    state.client().set_secret(name, value)
    state.output.success(f"Set secret {name}")


@secrets.command("delete")
@click.argument("name")
@pass_state
def secrets_delete(state: State, name: str) -> None:
    """Delete secret NAME."""
    state.client().delete_secret(name)
    state.output.success(f"Deleted secret {name}")


# -- jobs ------------------------------------------------------------------------------------
@click.group()
def jobs() -> None:
    """Create and inspect jobs."""


@jobs.command("list")
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True)
@pass_state
def jobs_list(state: State, limit: int) -> None:
    """List jobs (newest first)."""
    page = state.client().list_jobs(limit=limit)
    items = page.get("items", page.get("data", [])) if isinstance(page, dict) else page
    state.output.emit(
        page if state.json else items, columns=["id", "modality", "status", "provider", "created_at"]
    )


@jobs.command("get")
@click.argument("job_id")
@pass_state
def jobs_get(state: State, job_id: str) -> None:
    """Show a job."""
    state.output.emit(state.client().get_job(job_id))


@jobs.command("create")
@click.argument("modality")
@click.option("-i", "--input", "pairs", multiple=True, metavar="KEY=VALUE", help="An input field.")
@click.option("--params", metavar="JSON", help="Provider parameters (JSON, - for stdin).")
@pass_state
def jobs_create(state: State, modality: str, pairs: Tuple[str, ...], params: Optional[str]) -> None:
    """Create a job of MODALITY (text, image, embedding, ...)."""
    payload = key_values(pairs, hint="'-i' / '--input'")
    extra = json_value(params, hint="'--params'") if params is not None else None
    state.output.emit(state.client().create_job(modality, payload, extra))


# -- schedules -------------------------------------------------------------------------------
@click.group()
def schedules() -> None:
    """Manage workflow schedules."""


@schedules.command("list")
@click.argument("workflow_id")
@pass_state
def schedules_list(state: State, workflow_id: str) -> None:
    """List the schedules of a workflow definition."""
    rows = state.client().list_schedules(workflow_id)
    state.output.emit(rows, columns=["id", "cron_expression", "timezone", "active", "next_run_at"])


@schedules.command("create")
@click.argument("workflow_id")
@click.argument("cron")
@click.option("--timezone", help="IANA time zone (default UTC).")
@click.option(
    "-i", "--input", "pairs", multiple=True, metavar="KEY=VALUE", help="A field of the runs' context."
)
@pass_state
def schedules_create(
    state: State, workflow_id: str, cron: str, timezone: Optional[str], pairs: Tuple[str, ...]
) -> None:
    """Run WORKFLOW_ID on the CRON expression (e.g. "0 9 * * 1-5")."""
    context = key_values(pairs, hint="'-i' / '--input'") or None
    state.output.emit(state.client().create_schedule(workflow_id, cron, context, timezone))


@schedules.command("trigger")
@click.argument("schedule_id")
@pass_state
def schedules_trigger(state: State, schedule_id: str) -> None:
    """Run a schedule now."""
    state.output.emit(state.client().trigger_schedule(schedule_id))


@schedules.command("history")
@click.argument("schedule_id")
@pass_state
def schedules_history(state: State, schedule_id: str) -> None:
    """A schedule's past runs."""
    state.output.emit(state.client().schedule_history(schedule_id))


@schedules.command("delete")
@click.argument("schedule_id")
@pass_state
def schedules_delete(state: State, schedule_id: str) -> None:
    """Delete a schedule."""
    state.client().delete_schedule(schedule_id)
    state.output.success(f"Deleted schedule {schedule_id}")


# -- orgs and usage --------------------------------------------------------------------------
@click.group()
def orgs() -> None:
    """List and inspect organizations."""


@orgs.command("list")
@pass_state
def orgs_list(state: State) -> None:
    """The organizations you can see."""
    state.output.emit(state.client().list_organizations(), columns=["id", "slug", "name", "created_at"])


@orgs.command("get")
@click.argument("org_id", required=False)
@pass_state
def orgs_get(state: State, org_id: Optional[str]) -> None:
    """Show an organization (default: the current one)."""
    state.output.emit(state.client().get_organization(_org(state, org_id)))


@orgs.command("members")
@click.argument("org_id", required=False)
@pass_state
def orgs_members(state: State, org_id: Optional[str]) -> None:
    """An organization's members."""
    state.output.emit(state.client().list_org_members(_org(state, org_id)))


@click.command()
@click.argument("org_id", required=False)
@click.option("--daily", is_flag=True, help="Per-day totals instead of the summary.")
@pass_state
def usage(state: State, org_id: Optional[str], daily: bool) -> None:
    """Show an organization's usage (default: the current one)."""
    client = state.client()
    org = _org(state, org_id)
    state.output.emit(client.get_org_usage_daily(org) if daily else client.get_org_usage(org))
