"""Shared by the workflow and run routes: finding a run the caller may act on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from starlette.requests import Request

from .._infra.http import ApiError, emulator_of, is_uuid, not_found, path_uuid
from ._guards import check_org, require_org_action

if TYPE_CHECKING:
    from .._engine.engine import Engine

# Actions (wire contract: dotted) the run routes check; roles come from _auth.role_for_action.
READ = "workflow.read"
RUN = "workflow.run"
EDIT = "workflow.edit"


def engine_of(request: Request) -> Engine:
    return emulator_of(request).engine


def may(request: Request, org_id: str, action: str) -> bool:
    try:
        require_org_action(request, org_id, action)
    except ApiError:
        return False
    return True


def run_for(request: Request, action: str = READ) -> Dict[str, Any]:
    """The run named by the ``run_id`` path parameter, if the caller may ``action`` it."""
    run_id = path_uuid(request, "run_id", "run")
    run: Optional[Dict[str, Any]] = engine_of(request).get(run_id)
    if run is None:
        raise not_found("run")
    check_org(request, run["organization_id"], action, "run")
    return run


def team_in_org(request: Request, org_id: str, team_id: Optional[str]) -> Optional[str]:
    """A ``team_id`` query value must be a team of the organization (404 otherwise)."""
    if team_id is None:
        return None
    if not is_uuid(team_id):
        raise ApiError(400, "validation_error", "team_id must be a UUID.")
    team = emulator_of(request).store.get("teams", team_id)
    if team is None or team.get("organization_id") != org_id:
        raise not_found("team")
    return team_id
