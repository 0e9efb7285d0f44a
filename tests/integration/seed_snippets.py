"""Every code block of the SDK's user documentation (``shared/seed/python-platform-sdk.txt``).

The seed is plain text scraped from the documentation site: code blocks lost their fences
and their indentation, and consecutive blocks run into each other, so they cannot be cut
out reliably by a program. They are kept here instead, **verbatim** except for the
indentation that was restored, split where the documentation starts a new example (a
``# Heading`` comment). ``test_seed_conformance.py`` checks that every snippet still
appears in the seed line for line and that every code line of the seed belongs to a
snippet, so the two cannot drift apart; then it runs each ``run`` snippet against the
emulator with the sync client and with a mechanical async translation.

Kinds: ``run`` — executed; ``declaration`` — a signature or class outline the docs show,
checked against the SDK's real objects; ``shell`` — a shell command, checked as a fact.
"""

from __future__ import annotations

from typing import List, NamedTuple


class Snippet(NamedTuple):
    name: str
    code: str
    kind: str = "run"


SNIPPETS: List[Snippet] = [
    Snippet("install", "pip install fabric-platform\n", "shell"),
    Snippet(
        "connect",
        """\
from fabric_platform import FabricClient
# Connect (defaults to gofabric.dev)
fabric = FabricClient()
# Or with API key + remote server
fabric = FabricClient(
    base_url="https://fabric.example.com",
    api_key="fab_live_abc123",
    organization_id="org-uuid",
)
# Use as context manager
with FabricClient() as fabric:
    status = fabric.health_check()
    print(status)
""",
    ),
    Snippet(
        "client_signature",
        """\
FabricClient(
    base_url: str = "https://gofabric.dev",
    api_key: str | None = None,
    principal_id: str | None = None,
    organization_id: str = "00000000-0000-0000-0000-000000000010",
    timeout: float = 30.0,
)
""",
        "declaration",
    ),
    Snippet(
        "auth",
        """\
# Email/password
fabric.signup("user@example.com", "password123")
fabric.login("user@example.com", "password123") # auto-stores tokens
# Passwordless
fabric.magic_link("user@example.com")
# OAuth
url = fabric.social_login_url("google") # redirect user here
# Token management
fabric.refresh_token(refresh_token)
fabric.logout()
# Password recovery
fabric.forgot_password("user@example.com")
fabric.reset_password(recovery_token, "new_password")
""",
    ),
    Snippet(
        "jobs",
        """\
# Create a job
job = fabric.create_job(
    modality="text",
    input={"prompt": "Summarize this article"},
    idempotency_key="unique-key-123",
)
# Retrieve
job = fabric.get_job(job["id"])
jobs = fabric.list_jobs(limit=20, cursor=None)
# Usage
usage = fabric.get_job_usage(job["id"])
""",
    ),
    Snippet(
        "workflow_definitions",
        """\
# Register a workflow definition
wf_id = fabric.upsert_workflow(
    name="my-pipeline",
    nodes=[{"type": "ai_generate", "config": {...}}],
    defaults={"timeout": 300},
)
# List and retrieve
workflows = fabric.list_workflows()
wf = fabric.get_workflow(wf_id)
""",
    ),
    Snippet(
        "start_and_wait",
        """\
# Start a run
run_id = fabric.run_workflow(
    wf_id,
    context={"topic": "AI agents"},
    priority=5,
)
# Poll until complete (blocks)
result = fabric.wait_for_run(run_id, poll_interval=1.0, timeout=300.0)
# Or check manually
run = fabric.get_run(run_id)
print(run["status"]) # "pending", "running", "completed", "failed"
""",
    ),
    Snippet(
        "manage_runs",
        """\
# Manage runs
fabric.cancel_run(run_id)
fabric.bulk_cancel_runs([run_id_1, run_id_2])
log = fabric.run_log(run_id)
children = fabric.list_children(run_id)
""",
    ),
    Snippet(
        "resume_node",
        """\
# Resume a paused node
fabric.resume_node(run_id, "approval_step", data={"approved": True})
""",
    ),
    Snippet(
        "variants",
        """\
result = fabric.workflows.runs.submit_and_get_output(
    "video/ai_shorts",
    input={"topic": "AI trends"},
    variants=3,
)
assert len(result.outputs) == 3
for variant in result.outputs:
    print(variant.variant_index, variant.kind, variant.output)
    for a in variant.artifacts:
        print("", a.filename, a.download_url)
""",
    ),
    Snippet(
        "bundle",
        """\
result = fabric.workflows.runs.submit_bundle(
    bundle=[
        {"workflow": "video/ai_shorts", "input": {"topic": "AI trends"}},
        {"workflow": "image/generate-post", "input": {"topic": "AI trends", "slides": 6}},
        {"workflow": "content/threads-post", "input": {"topic": "AI trends"}},
    ],
)
for variant in result.outputs:
    if variant.kind == "video":
        ...
    elif variant.kind == "carousel":
        ...
""",
    ),
    Snippet(
        "regenerate",
        """\
result = fabric.workflows.runs.submit_and_get_output(
    "video/ai_shorts",
    input={"topic": "AI trends"},
    regenerate={
        "direction": "punchier", # or deeper / contrarian / visual / data-first / surprise
        "keep": ["platform", "tone_of_voice"],
        "extra_instructions": "shorter, tighter hooks",
        "parent_run_id": prior_run["id"],
        "parent_variant_index": 0,
    },
)
""",
    ),
    Snippet(
        "run_output_model",
        """\
class RunOutput(BaseModel):
    run_id: str
    status: str
    error: str | None
    variants: int # equals len(outputs)
    outputs: list[VariantOutput] # one entry per variant; default 1
    @property
    def first_output(self) -> Any | None: ... # outputs[0].output
    @property
    def all_artifacts(self) -> list[RunArtifact]: ... # flat across variants
class VariantOutput(BaseModel):
    variant_index: int
    workflow_name: str | None # sub-workflow that produced this entry
    kind: Literal["video","carousel","image","text"] | None
    output: Any | None
    artifacts: list[RunArtifact]
""",
        "declaration",
    ),
    Snippet(
        "schemas",
        """\
# Get the contract for a specific workflow — input schema, output
# schema, and per-task breakdown.
schemas = fabric.get_workflow_schemas("research/trends")
print(schemas["input_schema"]) # JSON Schema for workflow input
print(schemas["output_schema"]) # JSON Schema for workflow output
print(schemas["task_schemas"]) # Per-task array (excluding shim tasks)
print(schemas["warnings"]) # Any type-coverage warnings
# Workflows without Pydantic types come back with all-null schemas.
untyped = fabric.get_workflow_schemas("some/untyped-workflow")
assert untyped["input_schema"] is None
""",
    ),
    Snippet(
        "validate",
        """\
from fabric_platform.errors import FabricValidationError
try:
    run = fabric.submit_run(
        "research/trends",
        input={"topic": 42}, # wrong type — topic should be a string
        validate=True,
    )
except FabricValidationError as e:
    # The error carries the validation details on the response body.
    body = e.response.json()
    for err in body["error"]["details"]["errors"]:
        print(f" {err['path']}: {err['message']}")
""",
    ),
    Snippet(
        "face_swap",
        """\
# Face swap — swap a persona face onto a source image
result = fabric.face_swap(
    source_url="https://example.com/dance-still.jpg",
    target_url="https://example.com/persona-face.png",
)
print(result["output"]["face_swap_url"])
""",
    ),
    Snippet(
        "face_swap_gallery",
        """\
# Or pull the persona from an org gallery
result = fabric.face_swap(
    source_url="https://example.com/dance-still.jpg",
    persona_gallery_id="gallery-uuid",
    persona_index=0, # first persona in gallery
)
""",
    ),
    Snippet(
        "motion_transfer",
        """\
# Motion transfer — animate a persona with a reference video's motion
result = fabric.motion_transfer(
    driving_video_url="https://example.com/dance-reference.mp4",
    source_image_url="https://example.com/persona.png",
)
print(result["output"]["motion_transfer_url"])
""",
    ),
    Snippet(
        "motion_transfer_seedance",
        """\
# With Seedance for full-body motion (premium)
result = fabric.motion_transfer(
    driving_video_url="https://example.com/choreography.mp4",
    persona_gallery_id="gallery-uuid",
    motion_model="seedance/2.0",
)
""",
    ),
    Snippet(
        "motion_transfer_non_blocking",
        """\
# Non-blocking
run = fabric.motion_transfer(
    driving_video_url="https://example.com/dance.mp4",
    source_image_url="https://example.com/persona.png",
    wait=False,
)
# Poll later
result = fabric.wait_for_run(run["id"], timeout=600)
""",
    ),
    Snippet(
        "schedules",
        """\
# Create cron schedule for a workflow
schedule = fabric.create_schedule(
    workflow_definition_id=wf_id,
    cron_expression="0 9 * * 1-5", # weekdays at 9am
)
# Manage
schedules = fabric.list_schedules(wf_id)
fabric.update_schedule(schedule["id"], cron_expression="0 8 * * *")
fabric.trigger_schedule(schedule["id"]) # manual trigger
history = fabric.schedule_history(schedule["id"])
fabric.delete_schedule(schedule["id"])
""",
    ),
    Snippet(
        "organizations",
        """\
# Organizations
org = fabric.create_organization(slug="acme", name="Acme Corp")
orgs = fabric.list_organizations()
org = fabric.get_organization(org["id"])
members = fabric.list_org_members(org["id"])
# Teams
team = fabric.create_team(org["id"], slug="engineering", name="Engineering")
teams = fabric.list_org_teams(org["id"])
# Invitations (see Invitations & Notifications reference)
inv = fabric.create_invitation(org["id"], "new@example.com", role="member")
# Accept happens via email link (GET /v1/invitations/{id}/accept?token=xxx)
fabric.revoke_invitation(inv["id"])
invitations = fabric.list_invitations(org["id"])
""",
    ),
    Snippet(
        "current_user",
        """\
# Current user
me = fabric.get_me()
my_orgs = fabric.get_my_organizations()
my_teams = fabric.get_my_teams()
my_perms = fabric.get_my_permissions()
# Authorization checks
can_edit = fabric.check_permission("workflow.edit", resource=f"workflow:{wf_id}")
# Batch check
results = fabric.check_permissions([
    {"resource": "workflow:all", "action": "workflow.run"},
    {"resource": "job:all", "action": "job.create"},
])
""",
    ),
    Snippet(
        "api_keys",
        """\
key = fabric.create_api_key("ci-pipeline", org["id"], scopes=["workflow.run"])
keys = fabric.list_api_keys()
fabric.rotate_api_key(key["id"])
fabric.disable_api_key(key["id"])
fabric.delete_api_key(key["id"])
""",
    ),
    Snippet(
        "secrets",
        """\
fabric.set_secret("OPENAI_API_KEY", "sk-...")
names = fabric.list_secrets() # ["OPENAI_API_KEY"]
fabric.delete_secret("OPENAI_API_KEY")
""",
    ),
    Snippet(
        "providers",
        """\
providers = fabric.providers()
# [{"id": "openai", "modalities": ["text", "embedding"]}, ...]
# Direct provider execution
result = fabric.execute_provider(
    modality="text",
    input={"prompt": "Hello"},
    model="gpt-4o",
)
# Cost estimation
estimate = fabric.estimate_cost(modality="text", input={"prompt": "Hello"})
""",
    ),
    Snippet(
        "stream_all",
        """\
# Stream all events
for event in fabric.stream_events():
    print(event["kind"], event.get("data"))
""",
    ),
    Snippet(
        "stream_run",
        """\
# Stream events for a specific run
for event in fabric.stream_run_events(run_id):
    if event["kind"] == "workflow.run.completed":
        break
""",
    ),
    Snippet(
        "stream_job",
        """\
# Stream events for a specific job
for event in fabric.stream_job_events(job_id):
    print(event)
""",
    ),
    Snippet(
        "webhooks",
        """\
webhook = fabric.create_webhook(
    org["id"],
    url="https://example.com/hooks",
    events=["workflow.run.completed", "workflow.run.failed"],
    secret="whsec_...",
)
webhooks = fabric.list_webhooks(org["id"])
fabric.update_webhook(webhook["id"], url="https://new.example.com/hooks")
fabric.delete_webhook(webhook["id"])
""",
    ),
    Snippet(
        "usage_and_audit",
        """\
# Organization usage
usage = fabric.get_org_usage(org["id"])
records = fabric.get_org_usage_records(org["id"])
daily = fabric.get_org_usage_daily(org["id"])
# Audit logs
org_logs = fabric.get_org_audit_logs(org["id"])
my_logs = fabric.get_audit_logs()
""",
    ),
    Snippet(
        "galleries",
        """\
galleries = fabric.list_galleries(kind="portrait")
items = fabric.list_gallery_items(gallery_id, tags=["professional"])
""",
    ),
    Snippet(
        "close",
        """\
# Close the HTTP client when done
fabric.close()
# Or use context manager (auto-closes)
with FabricClient() as fabric:
    ...
""",
    ),
]
