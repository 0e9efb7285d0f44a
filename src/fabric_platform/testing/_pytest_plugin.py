"""pytest fixtures on the local emulator, loaded by pytest itself (the ``pytest11`` entry point).

    def test_report(fabric):                      # no conftest.py needed
        job = fabric.create_job("text", {"prompt": "hi"})
        assert fabric.get_job(job["id"])["organization_id"] == fabric.organization_id

Fixtures:

* ``local_fabric`` — one running :class:`LocalFabric` for the whole session: ``fail_next``,
  ``advance_time``, ``outbox``, ``stats()``... Faults, the rate limit and the statistics are
  reset before each test that uses it, so one test's faults never reach the next.
* ``fabric`` — a ``FabricClient`` signed in as the owner of an organization created for
  this one test, which is its default organization: tests are isolated and independent of
  their order.
* ``async_fabric`` — the same as an ``AsyncFabricClient`` (its own session of the same
  user). It keeps no connection open between requests, so it works from whatever event
  loop the test runs, even several one after another (``asyncio.run``, pytest-asyncio, anyio).
* ``fabric_account`` — who that user is (email, password, ids), for tests of sign-in flows.

Options: ``--fabric-speed`` (divides simulated work time) and ``--fabric-db`` (a SQLite
file that keeps the emulator's state across sessions; in memory by default).

The module itself imports nothing but pytest, so having the package installed costs a
test session nothing; the fixtures need the ``emulator`` extra and say so when it is missing.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional, Tuple

import pytest

if TYPE_CHECKING:
    from fabric_platform import AsyncFabricClient, FabricClient

    from ._local import LocalFabric

__all__ = ["FabricAccount"]

_EMULATOR_MODULES = ("starlette", "uvicorn", "jsonschema", "croniter")
# Credentials the clients would otherwise pick up from the environment: a user's real key
# must neither reach the emulator nor take precedence over the test's own session.
_CREDENTIAL_VARIABLES = ("FABRIC_API_KEY", "FABRIC_PRINCIPAL_ID")
_PASSWORD = "correct-horse-battery-staple"


@dataclass(frozen=True)
class FabricAccount:
    """The user behind the ``fabric`` fixtures: owner of ``organization_id``."""

    email: str
    password: str
    user_id: str
    organization_id: str


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fabric", "Fabric emulator fixtures (fabric-platform)")
    group.addoption(
        "--fabric-speed",
        type=float,
        default=None,
        metavar="FACTOR",
        help="divide the emulator's simulated work time by FACTOR (default: LocalFabric's, 50)",
    )
    group.addoption(
        "--fabric-db",
        default=None,
        metavar="PATH",
        help="keep the emulator's state in this SQLite file (default: in memory, fresh each session)",
    )


def pytest_configure(config: pytest.Config) -> None:
    speed = config.getoption("fabric_speed", None)
    if speed is not None and not speed > 0:
        raise pytest.UsageError(f"--fabric-speed must be a number above 0, got {speed:g}")
    db = config.getoption("fabric_db", None)
    if db is not None and not Path(db).parent.resolve().is_dir():
        raise pytest.UsageError(f"--fabric-db {db}: the folder {Path(db).parent} does not exist")


def _require_emulator() -> None:
    missing = []
    for name in _EMULATOR_MODULES:  # the emulator imports them all anyway
        try:
            import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        pytest.fail(
            "the fabric pytest fixtures run the local emulator, which needs the 'emulator' extra "
            f"(missing: {', '.join(missing)}): pip install 'fabric-platform[emulator]'",
            pytrace=False,
        )


@contextlib.contextmanager
def _without_credential_variables() -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in _CREDENTIAL_VARIABLES if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


@pytest.fixture(scope="session")
def local_fabric(pytestconfig: pytest.Config) -> Iterator[LocalFabric]:
    """One running emulator for the session (faults and statistics reset before each test)."""
    _require_emulator()
    from ._local import LocalFabric

    options: Dict[str, Any] = {"db_path": pytestconfig.getoption("fabric_db", None)}
    speed = pytestconfig.getoption("fabric_speed", None)
    if speed is not None:
        options["speed"] = speed
    with LocalFabric(**options) as server:
        yield server


@pytest.fixture(autouse=True)
def _fabric_clean_controls(request: pytest.FixtureRequest) -> None:
    # Only for tests that use the emulator: everyone else pays one membership test.
    if "local_fabric" in request.fixturenames:
        server: LocalFabric = request.getfixturevalue("local_fabric")
        server.reset_faults()
        server.reset_stats()


def _client(server: LocalFabric, tokens: Optional[Dict[str, Any]], organization_id: str) -> FabricClient:
    from fabric_platform import FabricClient

    with _without_credential_variables():
        client = FabricClient(base_url=server.base_url, organization_id=organization_id)
    if tokens is not None:
        client._tokens.store(tokens, notify=False)
    return client


@pytest.fixture()
def _fabric_owner(local_fabric: LocalFabric) -> Iterator[Tuple[FabricAccount, FabricClient]]:
    # The sign-up leaves the client signed in: it becomes the `fabric` fixture as it is.
    suffix = uuid.uuid4().hex[:12]
    email = f"test-{suffix}@example.com"
    with _client(local_fabric, None, local_fabric.organization_id) as client:
        tokens = client.signup(email, _PASSWORD)
        org = client.create_organization(slug=f"test-{suffix}", name=f"Test {suffix}")
        local_fabric.reset_stats()  # a test's statistics are its own requests
        account = FabricAccount(
            email=email, password=_PASSWORD, user_id=str(tokens["user"]["id"]), organization_id=org["id"]
        )
        yield account, client.with_options(organization_id=org["id"])


@pytest.fixture()
def fabric_account(_fabric_owner: Tuple[FabricAccount, FabricClient]) -> FabricAccount:
    """A new user, owner of a new organization, both made for this one test."""
    return _fabric_owner[0]


@pytest.fixture()
def fabric(_fabric_owner: Tuple[FabricAccount, FabricClient]) -> FabricClient:
    """A FabricClient signed in as the test's own user, its organization the default."""
    return _fabric_owner[1]


def _sign_in(server: LocalFabric, account: FabricAccount) -> Dict[str, Any]:
    with _client(server, None, account.organization_id) as anonymous:
        tokens: Dict[str, Any] = dict(anonymous.login(account.email, account.password))
    server.reset_stats()
    return tokens


@pytest.fixture()
def async_fabric(local_fabric: LocalFabric, fabric_account: FabricAccount) -> Iterator[AsyncFabricClient]:
    """The ``fabric`` fixture as an AsyncFabricClient, usable from any event loop."""
    import asyncio

    import httpx

    from fabric_platform import AsyncFabricClient

    # No keep-alive: a pooled connection belongs to the loop that opened it, and the test
    # may run several loops (or close its own before teardown). Loopback connects are cheap.
    http = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0), timeout=None)
    with _without_credential_variables():
        client = AsyncFabricClient(
            base_url=local_fabric.base_url, organization_id=fabric_account.organization_id, http_client=http
        )
    client._tokens.store(_sign_in(local_fabric, fabric_account), notify=False)
    try:
        yield client
    finally:
        # A loop of our own: asyncio.run() would also unset the thread's current loop,
        # which a test runner may still rely on.
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(_close(client, http))
        finally:
            loop.close()


async def _close(client: AsyncFabricClient, http: Any) -> None:
    await client.close()
    await http.aclose()
