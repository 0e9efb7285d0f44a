"""Usage, budget, audit log and archived organizations through the SDK."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List

import pytest
from conftest import unique, wait_until

from fabric_platform import FabricConflictError, FabricForbiddenError, FabricValidationError
from fabric_platform.testing import LocalFabric


@pytest.fixture()
def org_client(fabric: LocalFabric) -> Iterator[Any]:
    with fabric.client() as owner:
        org = owner.create_organization(unique("use"), "Usage tests")
    with fabric.client(organization_id=org["id"], strict=True) as client:
        yield client


def _finished_job(client: Any, prompt: str) -> Dict[str, Any]:
    job = client.create_job("text", {"prompt": prompt})
    return wait_until(
        lambda: (lambda j: j if j["status"] == "completed" else None)(client.get_job(job["id"])),
        what=f"job {job['id']} to complete",
    )


def _all_records(client: Any, org_id: str) -> List[Dict[str, Any]]:
    records: List[Dict[str, Any]] = []
    cursor = None
    while True:
        page = client.get_org_usage_records(org_id, limit=2, cursor=cursor)
        records.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return records


def test_usage_totals_equal_the_sum_of_records(org_client: Any) -> None:
    org_id = org_client.organization_id
    jobs = [_finished_job(org_client, f"prompt {i} " * (i + 1)) for i in range(3)]
    run = org_client.submit_and_wait("research/trends", {"topic": "usage"}, timeout=60)
    assert run["status"] == "completed"

    records = _all_records(org_client, org_id)
    assert len({r["id"] for r in records}) == len(records) == 4  # paged without gaps or repeats
    assert records == sorted(records, key=lambda r: r["created_at"], reverse=True)  # newest first
    total = sum(r["cost_usd"] for r in records)
    assert total > 0

    usage = org_client.get_org_usage(org_id)
    assert usage["total_cost_usd"] == pytest.approx(total, abs=1e-9)
    assert usage["total_jobs"] == 3 and usage["total_runs"] == 1
    assert usage["period_start"] < records[-1]["created_at"] < usage["period_end"]

    daily = org_client.get_org_usage_daily(org_id)
    assert sum(d["cost_usd"] for d in daily) == pytest.approx(total, abs=1e-9)
    assert sum(d["jobs"] for d in daily) == 3

    spending = org_client.get_spending(org_id)
    assert spending["month_to_date_usd"] == pytest.approx(total, abs=1e-9)
    assert sum(spending["by_workflow"].values()) == pytest.approx(total, abs=1e-9)
    assert "research/trends" in spending["by_workflow"] and "job:text" in spending["by_workflow"]

    by_job = {r["job_id"]: r for r in records if r["job_id"]}
    for job in jobs:
        assert org_client.get_job_usage(job["id"])["cost_usd"] == pytest.approx(by_job[job["id"]]["cost_usd"])
    # The budget view (routes/settings.py) rounds spend to micro-dollars.
    assert org_client.get_org_budget(org_id)["current_spend_usd"] == pytest.approx(total, abs=1e-6)


def test_a_submission_over_budget_is_refused(org_client: Any) -> None:
    org_id = org_client.organization_id
    _finished_job(org_client, "spend a little")
    spent = org_client.get_org_budget(org_id)["current_spend_usd"]
    assert spent > 0

    # Room for cheap calls, not for a 45-second video.
    budget = org_client.set_org_budget(org_id, round(spent + 0.01, 6))
    assert budget["monthly_limit_usd"] == pytest.approx(spent + 0.01)
    with pytest.raises(FabricForbiddenError) as refused:
        org_client.submit_run("video/ai_shorts", {"topic": "too expensive"})
    assert refused.value.code == "budget_exceeded" and refused.value.status_code == 403
    assert "budget" in refused.value.message
    assert org_client.list_runs() == []  # nothing was created

    # Exhausted: even a job is refused.
    org_client.set_org_budget(org_id, spent)
    with pytest.raises(FabricForbiddenError) as exhausted:
        org_client.create_job("text", {"prompt": "one more"})
    assert exhausted.value.code == "budget_exceeded"
    # Raising the limit lets work through again.
    org_client.set_org_budget(org_id, 1000.0)
    assert org_client.submit_run("research/trends", {"topic": "free again"})["status"] in (
        "pending",
        "running",
    )


def test_every_mutating_call_is_audited(fabric: LocalFabric, org_client: Any) -> None:
    org_id = org_client.organization_id
    gallery = org_client.create_gallery("portrait", "Audited", idempotency_key=unique("idem"))
    # A replay is not a second action.
    replay_key = unique("again")
    first = org_client.create_gallery("style", "Once", idempotency_key=replay_key)
    assert org_client.create_gallery("style", "Once", idempotency_key=replay_key)["id"] == first["id"]
    org_client.update_organization(org_id, name="Renamed for audit")
    with pytest.raises(FabricValidationError):
        org_client.create_gallery("Not A Kind!", "refused")  # failed calls are not actions
    org_client.list_galleries()  # reads are not actions

    entries: List[Dict[str, Any]] = []
    cursor = None
    while True:
        page = org_client.get_org_audit_logs(org_id, limit=2, cursor=cursor)
        entries.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    actions = [e["action"] for e in entries]
    assert actions[:3] == ["organization.update", "gallery.create", "gallery.create"]  # newest first
    assert actions.count("gallery.create") == 2 and "organization.create" in actions
    created = next(e for e in entries if e["resource"] == f"gallery:{gallery['id']}")
    assert created["actor_id"] == fabric.owner["id"] and created["organization_id"] == org_id
    assert created["metadata"]["operation_id"] == "createGallery"
    mine = org_client.get_audit_logs(limit=100)["items"]
    assert created["id"] in {e["id"] for e in mine}
    assert all(e["actor_id"] == fabric.owner["id"] for e in mine)


def test_audit_log_is_for_admins(fabric: LocalFabric, org_client: Any, make_user: Any) -> None:
    outsider = make_user()
    response = outsider.client.get(f"/v1/organizations/{org_client.organization_id}/audit-logs")
    assert response.status_code == 404  # not a member: the organization does not exist for them


def test_an_archived_organization_refuses_writes(org_client: Any) -> None:
    org_id = org_client.organization_id
    gallery = org_client.create_gallery("product", "Before archive")
    archived = org_client.archive_organization(org_id)
    assert archived["archived"] is True
    for write in (
        lambda: org_client.create_gallery("product", "After archive"),
        lambda: org_client.create_webhook(org_id, "http://127.0.0.1:9/h", ["job.completed"]),
        lambda: org_client.create_job("text", {"prompt": "archived"}),
        lambda: org_client.submit_run("research/trends", {"topic": "archived"}),
        lambda: org_client.delete_gallery(gallery["id"]),
    ):
        with pytest.raises(FabricConflictError) as refused:
            write()
        assert "archived" in refused.value.message
    # Reads still work.
    assert org_client.get_gallery(gallery["id"])["name"] == "Before archive"
    assert org_client.get_organization(org_id)["archived"] is True
    assert org_client.get_org_usage(org_id)["total_cost_usd"] == 0
