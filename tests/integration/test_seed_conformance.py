"""Every code block of the user documentation runs as written against the emulator.

The snippets (``seed_snippets.py``) are first checked against the seed document itself —
each one appears there line for line, and every code line of the seed belongs to one — and
then executed in order, sharing one namespace as a reader going down the page would.
The seed is not part of the repository (``FABRIC_SEED_PATH``, else ``../shared/seed/`` beside
the checkout): without it the two checks against it skip, except under ``CI=true``, where
they fail; everything else runs on the vendored snippets.

The snippets run:

* once with ``FabricClient`` exactly as written, and
* once translated mechanically to ``AsyncFabricClient`` (``await`` on every client call,
  ``async for`` over streams, ``async with`` for the client), on one event loop.

What the documentation leaves to the reader is filled in, and only that: the placeholder
literals (``"https://fabric.example.com"``, ``"fab_live_abc123"``, ``"org-uuid"``,
``"gallery-uuid"``, the ``{...}`` node config) are replaced with the emulator's values, and
names a snippet uses without defining (``refresh_token``, ``recovery_token``,
``prior_run``, ``run_id_1``, ``job_id``, ``gallery_id``…) are created on first use by a
provider that sets up exactly that in the emulator. Each example under a ``# Heading``
runs with the ``run_id`` it implies (a running run to cancel, a run waiting at
``approval_step`` to resume). After each snippet, a check asserts what it should have done.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
import os
import re
import sys
import typing
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Set

import pytest
from seed_snippets import SNIPPETS, Snippet

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform.errors import FabricNotFoundError
from fabric_platform.models import RunOutput, VariantOutput
from fabric_platform.testing import LocalFabric

ROOT = Path(__file__).resolve().parents[2]
SEED = Path(os.environ.get("FABRIC_SEED_PATH") or ROOT.parent / "shared" / "seed" / "python-platform-sdk.txt")
RUNNABLE = [s for s in SNIPPETS if s.kind == "run"]
CONFIG_FILL = '{"prompt": "Summarize {topic}", "model": "gpt-4o"}'
APPROVAL_NODES = [
    {"key": "draft", "type": "transform", "config": {}},
    {"key": "approval_step", "type": "approval", "config": {}},
    {"key": "publish", "type": "transform", "config": {}},
]


# --------------------------------------------------------------------------- seed ⟷ snippets


def _seed_lines() -> List[str]:
    """The seed's lines; the seed lives beside our own checkout, not in the repository.

    Everything else here runs on the snippets vendored in ``seed_snippets.py``, so a user's
    fresh clone passes without it; only the two checks against the seed itself need the
    document. Under CI they are required: a missing seed fails instead of skipping.
    """
    if not SEED.is_file():
        where = f"{SEED} (set FABRIC_SEED_PATH to the seed document)"
        if _in_ci():
            pytest.fail(f"CI requires the seed document: {where} is missing", pytrace=False)
        pytest.skip(f"the seed document is not beside this checkout: {where}")
    return [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _find(lines: List[str], needle: List[str]) -> Optional[int]:
    for i in range(len(lines) - len(needle) + 1):
        if lines[i : i + len(needle)] == needle:
            return i
    return None


def _code_lines(snippet: Snippet) -> List[str]:
    return [line.strip() for line in snippet.code.splitlines() if line.strip()]


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.name for s in SNIPPETS])
def test_snippet_appears_verbatim_in_the_seed(snippet: Snippet) -> None:
    assert _find(_seed_lines(), _code_lines(snippet)) is not None, (
        f"snippet {snippet.name!r} is not (or no longer) in {SEED.name}: update seed_snippets.py"
    )


@pytest.mark.parametrize("ci", ["true", ""])
def test_a_missing_seed_skips_here_and_fails_under_ci(
    ci: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "SEED", tmp_path / "absent.txt")
    monkeypatch.setenv("CI", ci)
    outcome = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(outcome, match=r"absent\.txt"):
        _seed_lines()


# A line that can only be code: a client call, an assignment, a comment, a statement keyword.
_CODE = re.compile(
    r"\bfabric\.\w|^#|^(from|import|with|for|if|elif|else|try|except|class|def|assert|print)\b|^\w+\s*=\s|^[)\]},]+$"
)


def test_every_code_line_of_the_seed_is_in_a_snippet() -> None:
    lines = _seed_lines()
    covered: Set[int] = set()
    for snippet in SNIPPETS:
        needle = _code_lines(snippet)
        start = _find(lines, needle)
        if start is not None:
            covered.update(range(start, start + len(needle)))
    stray = [f"{i + 1}: {line}" for i, line in enumerate(lines) if i not in covered and _CODE.search(line)]
    assert not stray, "code in the seed that no snippet covers (add it to seed_snippets.py):\n" + "\n".join(
        stray
    )


def test_install_snippet_names_this_package() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^name\s*=\s*"fabric-platform"', pyproject, re.M)
    assert re.search(r'^requires-python\s*=\s*">=3\.9', pyproject, re.M)  # "Python >= 3.9"
    assert re.search(r'"httpx>=0\.2[5-9]', pyproject)  # "httpx >= 0.25"


@pytest.mark.parametrize("cls", [FabricClient, AsyncFabricClient])
def test_client_signature_snippet(cls: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import inspect

    code = next(s.code for s in SNIPPETS if s.name == "client_signature")
    # The outline is a call with annotated parameters: read it as a def to parse it.
    declared = ast.parse("def f(\n" + "\n".join(code.splitlines()[1:-1]) + "\n): ...\n")
    func = declared.body[0]
    assert isinstance(func, ast.FunctionDef)
    names = [a.arg for a in func.args.args]
    params = list(inspect.signature(cls.__init__).parameters)[1:]
    assert params[: len(names)] == names  # same names, same positional order
    for name in list(os.environ):
        if name.startswith("FABRIC_"):
            monkeypatch.delenv(name)
    client = cls()
    try:
        defaults = dict(zip(names, [ast.literal_eval(d) for d in func.args.defaults]))
        assert client.base_url == defaults["base_url"]
        assert client.organization_id == defaults["organization_id"]
        assert client._config.timeout == defaults["timeout"]
        assert client._config.api_key is None and client._config.principal_id is None
    finally:
        result = client.close()
        if asyncio.iscoroutine(result):
            asyncio.run(result)


def test_run_output_declaration_matches_the_models() -> None:
    code = next(s.code for s in SNIPPETS if s.name == "run_output_model")
    models = {"RunOutput": RunOutput, "VariantOutput": VariantOutput}
    for node in ast.parse(code).body:
        assert isinstance(node, ast.ClassDef)
        model = models[node.name]
        for item in node.body:
            if isinstance(item, ast.AnnAssign):
                assert isinstance(item.target, ast.Name)
                name, annotation = item.target.id, ast.unparse(item.annotation)
                assert name in model.model_fields, f"{node.name}.{name} is missing"
                field = model.model_fields[name]
                allows_none = "None" in annotation
                assert allows_none == (type(None) in typing.get_args(field.annotation)), f"{node.name}.{name}"
            elif isinstance(item, ast.FunctionDef):
                assert isinstance(getattr(model, item.name), property), f"{node.name}.{item.name}"
    kind = VariantOutput.model_fields["kind"].annotation
    literal = next(a for a in typing.get_args(kind) if a is not type(None))
    assert set(typing.get_args(literal)) == {"video", "carousel", "image", "text"}


# --------------------------------------------------------------------------- async translation

_SYNC_ONLY = frozenset({"social_login_url"})
_STREAMS = frozenset({"stream_events", "stream_run_events", "stream_job_events"})


def _client_method(node: ast.AST) -> Optional[str]:
    """``fabric.a.b(...)`` → ``"b"``; None when the call is not on the client."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return None
    target: ast.AST = node.func
    while isinstance(target, ast.Attribute):
        target = target.value
    return node.func.attr if isinstance(target, ast.Name) and target.id == "fabric" else None


class _Asyncify(ast.NodeTransformer):
    """FabricClient → AsyncFabricClient; await client calls; async for/with where needed."""

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id == "FabricClient":
            node.id = "AsyncFabricClient"
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.ImportFrom:
        for alias in node.names:
            if alias.name == "FabricClient":
                alias.name = "AsyncFabricClient"
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        method = _client_method(node)
        if method is None or method in _SYNC_ONLY or method in _STREAMS:
            return node
        return ast.Await(value=node)

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        if _client_method(node.iter) in _STREAMS:
            return ast.AsyncFor(target=node.target, iter=node.iter, body=node.body, orelse=node.orelse)
        return node

    def visit_With(self, node: ast.With) -> ast.AST:
        self.generic_visit(node)
        makes_client = any(
            isinstance(i.context_expr, ast.Call)
            and isinstance(i.context_expr.func, ast.Name)
            and i.context_expr.func.id == "AsyncFabricClient"
            for i in node.items
        )
        return ast.AsyncWith(items=node.items, body=node.body) if makes_client else node


def asyncify(code: str) -> ast.Module:
    tree = _Asyncify().visit(ast.parse(code))
    return ast.fix_missing_locations(tree)


def test_async_translation_is_mechanical() -> None:
    code = 'with FabricClient() as fabric:\n    x = fabric.jobs.get(j["id"])\nfor e in fabric.stream_events():\n    print(fabric.social_login_url("g"))\n'
    assert ast.unparse(asyncify(code)) == (
        "async with AsyncFabricClient() as fabric:\n"
        "    x = await fabric.jobs.get(j['id'])\n"
        "async for e in fabric.stream_events():\n"
        "    print(fabric.social_login_url('g'))"
    )


# --------------------------------------------------------------------------- the run


class _Enough(Exception):
    """Raised by the captured print to end an endless loop (the global event stream)."""


class Namespace(dict):  # type: ignore[type-arg]
    """The snippets' locals: a missing name is created by its provider on first use."""

    def __init__(self, providers: Dict[str, Callable[[], Any]]) -> None:
        super().__init__()
        self.providers = providers

    def __missing__(self, key: str) -> Any:
        provider = self.providers.get(key)
        if provider is None:
            raise KeyError(key)
        value = self[key] = provider()
        return value


@contextlib.contextmanager
def _env(values: Dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Session:
    """One emulator and one namespace for the whole page, in one mode (sync or async)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.local = LocalFabric(speed=200.0, sse_keepalive=0.5, password_hash_iterations=1000).start()
        self.setup = self.local.client()  # the providers' own client, always sync
        self.loop = asyncio.new_event_loop() if mode == "async" else None
        self.output = io.StringIO()
        self.print_limit: Optional[int] = None
        self.env = {
            "FABRIC_BASE_URL": self.local.base_url,
            "FABRIC_API_KEY": self.local.api_key,
            "FABRIC_ORGANIZATION_ID": self.local.organization_id,
        }
        self.owner = self.local.async_client() if mode == "async" else self.local.client()
        self.ns = Namespace(self._providers())
        self.ns["print"] = self._print
        self.gallery: Optional[str] = None

    # -- placeholders and providers ------------------------------------------------------------

    def substitutions(self, code: str) -> str:
        code = code.replace('"https://fabric.example.com"', repr(self.local.base_url))
        code = code.replace('"fab_live_abc123"', repr(self.local.api_key))
        code = code.replace('"org-uuid"', repr(self.local.organization_id))
        code = code.replace("{...}", CONFIG_FILL)
        if '"gallery-uuid"' in code:
            code = code.replace('"gallery-uuid"', repr(self.gallery_id()))
        return code

    def gallery_id(self) -> str:
        if self.gallery is None:
            gallery = self.setup.create_gallery(kind="portrait", name="Personas")
            self.setup.add_gallery_item(
                gallery["id"], url="https://example.com/persona-face.png", tags=["professional"]
            )
            self.gallery = gallery["id"]
        return self.gallery

    def waiting_run(self) -> str:
        """A run of a definition that waits at ``approval_step`` (cancellable, resumable)."""
        wf = self.setup.upsert_workflow(name="needs-approval", nodes=APPROVAL_NODES)
        run_id = self.setup.run_workflow(wf, context={"topic": "AI agents"})
        _until(lambda: self.setup.get_run(run_id)["status"] == "waiting", "the run to reach approval_step")
        return run_id

    def _login_tokens(self) -> Dict[str, Any]:
        with FabricClient(base_url=self.local.base_url, api_key=None) as anon:
            return anon.login("user@example.com", "password123")  # type: ignore[no-any-return]

    def _recovery_token(self) -> str:
        messages = [m for m in self.local.outbox if m["kind"] == "password_recovery"]
        assert messages, "forgot_password sent no email"
        return str(messages[-1]["token"])

    def _providers(self) -> Dict[str, Callable[[], Any]]:
        s = self.setup
        return {
            "refresh_token": lambda: self._login_tokens()["refresh_token"],
            "recovery_token": self._recovery_token,
            "run_id_1": self.waiting_run,
            "run_id_2": self.waiting_run,
            "prior_run": lambda: s.submit_and_wait("video/ai_shorts", {"topic": "AI trends"}),
            "job_id": lambda: s.create_job("text", {"prompt": "Say hi"})["id"],
            "gallery_id": self.gallery_id,
            # Normally defined by an earlier snippet; provided so one failure does not
            # cascade into every later example.
            "wf_id": lambda: s.upsert_workflow(name="my-pipeline", nodes=APPROVAL_NODES[:1]),
            "run_id": self.waiting_run,
            "org": lambda: s.create_organization(slug="acme-fallback", name="Acme Fallback"),
        }

    def _print(self, *args: Any, **kwargs: Any) -> None:
        print(*args, file=self.output, **{k: v for k, v in kwargs.items() if k != "file"})
        if self.print_limit is not None and self.output.getvalue().count("\n") >= self.print_limit:
            raise _Enough()

    # -- running ---------------------------------------------------------------------------

    def client_for(self, snippet: Snippet) -> Any:
        if snippet.name == "auth":
            cls = AsyncFabricClient if self.mode == "async" else FabricClient
            return cls(base_url=self.local.base_url)  # signs up its own user
        if snippet.name == "close":
            return self.local.async_client() if self.mode == "async" else self.local.client()
        return self.owner

    def run(self, snippet: Snippet) -> str:
        code = self.substitutions(snippet.code)
        self.output = io.StringIO()
        self.print_limit = 3 if snippet.name == "stream_all" else None
        self.ns["fabric"] = self.client_for(snippet)
        if snippet.name == "manage_runs":
            self.ns["run_id"] = self.waiting_run()
        if snippet.name == "resume_node":
            self.ns["run_id"] = self.waiting_run()
        scope = {"__builtins__": __builtins__, "__name__": f"seed_{snippet.name}"}
        with _env(self.env):
            try:
                if self.mode == "sync":
                    exec(compile(code, f"<seed:{snippet.name}>", "exec"), scope, self.ns)
                else:
                    assert self.loop is not None
                    compiled = compile(
                        asyncify(code),
                        f"<seed:{snippet.name}:async>",
                        "exec",
                        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                    )
                    result = eval(compiled, scope, self.ns)
                    if result is not None:
                        self.loop.run_until_complete(result)
            except _Enough:
                pass
            finally:
                if snippet.name == "auth":  # the reader's own client; ours to close
                    self._close(self.ns["fabric"])
        return self.output.getvalue()

    def _close(self, client: Any) -> None:
        result = client.close()
        if asyncio.iscoroutine(result):
            assert self.loop is not None
            self.loop.run_until_complete(result)

    def close(self) -> None:
        self._close(self.owner)
        if self.loop is not None:
            self.loop.close()
        self.setup.close()
        self.local.stop()


def _until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


# --------------------------------------------------------------------------- what each did


def _check(name: str, s: Session, out: str) -> None:
    ns, api = s.ns, s.setup
    if name == "connect":
        assert ns["status"]["status"] == "ok" and "ok" in out
    elif name == "auth":
        assert ns["url"] == f"{s.local.base_url}/v1/auth/social/google"
        with FabricClient(base_url=s.local.base_url) as check:
            assert check.login("user@example.com", "new_password")["access_token"]
    elif name == "jobs":
        assert ns["usage"]["job_id"] == ns["job"]["id"] and ns["jobs"]["items"]
    elif name == "workflow_definitions":
        assert ns["wf"]["id"] == ns["wf_id"] and ns["wf"]["name"] == "my-pipeline"
    elif name == "start_and_wait":
        assert ns["result"]["status"] == "completed" and out.strip() == "completed"
    elif name == "manage_runs":
        for run_id in (ns["run_id"], ns["run_id_1"], ns["run_id_2"]):
            assert api.get_run(run_id)["status"] == "cancelled"
        assert ns["log"]["run_id"] == ns["run_id"] and ns["children"] == []
    elif name == "resume_node":
        assert api.wait_for_run(ns["run_id"], timeout=30)["status"] == "completed"
    elif name == "variants":
        assert all(a.download_url for v in ns["result"].outputs for a in v.artifacts)
    elif name == "bundle":
        outputs = ns["result"].outputs
        assert [v.workflow_name for v in outputs] == [
            "video/ai_shorts",
            "image/generate-post",
            "content/threads-post",
        ]
        assert [v.kind for v in outputs] == ["video", "carousel", "text"]
    elif name == "regenerate":
        run = api.workflows.runs.get(ns["result"].run_id)
        assert run["parent_run_id"] == ns["prior_run"]["id"] and run["parent_variant_index"] == 0
    elif name == "schemas":
        assert ns["schemas"]["input_schema"]["properties"]["topic"]
    elif name == "validate":
        assert re.search(r"^ topic: ", out, re.M), f"the except branch did not print the error: {out!r}"
    elif name in ("face_swap", "face_swap_gallery"):
        assert ns["result"]["status"] == "completed" and ns["result"]["output"]["face_swap_url"]
    elif name in ("motion_transfer", "motion_transfer_seedance", "motion_transfer_non_blocking"):
        assert ns["result"]["status"] == "completed" and ns["result"]["output"]["motion_transfer_url"]
    elif name == "schedules":
        assert ns["history"] and ns["history"][0]["trigger"] == "manual"
        with pytest.raises(FabricNotFoundError):
            api.get_schedule(ns["schedule"]["id"])
    elif name == "organizations":
        assert ns["team"]["organization_id"] == ns["org"]["id"]
        assert {i["id"]: i["status"] for i in ns["invitations"]}[ns["inv"]["id"]] == "revoked"
    elif name == "current_user":
        assert ns["can_edit"] is True and [r["allowed"] for r in ns["results"]] == [True, True]
    elif name == "api_keys":
        assert ns["key"]["key"].startswith("fab_") and ns["key"]["id"] not in {
            k["id"] for k in api.list_api_keys()
        }
    elif name == "secrets":
        assert "OPENAI_API_KEY" in ns["names"] and "OPENAI_API_KEY" not in api.list_secrets()
    elif name == "providers":
        assert ns["providers"] and ns["result"]["output"] and ns["estimate"]["estimated_cost_usd"] >= 0
    elif name == "stream_all":
        assert out.count("\n") >= 3
    elif name == "stream_run":
        assert ns["event"]["kind"] == "workflow.run.completed"
    elif name == "stream_job":
        assert "job.completed" in out.splitlines()[-1]
    elif name == "webhooks":
        assert ns["webhook"]["id"] not in {w["id"] for w in api.list_webhooks(ns["org"]["id"])}
    elif name == "usage_and_audit":
        assert ns["usage"]["organization_id"] == ns["org"]["id"]
    elif name == "galleries":
        items = ns["items"]["items"] if isinstance(ns["items"], dict) else ns["items"]  # a cursor page
        assert [i["tags"] for i in items] == [["professional"]]
    elif name == "close":
        assert ns["fabric"]._transport.is_closed


# --------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module", params=["sync", "async"])
def session(request: pytest.FixtureRequest) -> Iterator[Session]:
    s = Session(request.param)
    yield s
    s.close()


@pytest.mark.parametrize("snippet", RUNNABLE, ids=[s.name for s in RUNNABLE])
def test_seed_snippet_runs(session: Session, snippet: Snippet) -> None:
    out = session.run(snippet)
    _check(snippet.name, session, out)
