"""Fixtures for integration tests: real emulators on 127.0.0.1, spoken to over HTTP.

* ``fabric`` — one emulator for the whole session (fast: speed 200, short keep-alives).
  Tests that share it create their own users/organizations so they do not see each other.
* ``fresh_fabric`` — a new emulator per test, for anything that changes global state
  (faults, rate limits, the clock, statistics).
* ``owner`` — an ``httpx.Client`` authenticated with the seeded owner's API key.
* ``make_user`` — signs up a new user and returns an :class:`Account` (its client + ids).
"""

from __future__ import annotations

import ssl
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, TypeVar

import httpx
import pytest

try:
    import fabric_platform.testing  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from fabric_platform.testing import LocalFabric

T = TypeVar("T")

FAST = {"speed": 200.0, "sse_keepalive": 0.2, "password_hash_iterations": 1000}


@pytest.fixture(scope="session")
def fabric() -> Iterator[LocalFabric]:
    with LocalFabric(**FAST) as server:
        yield server


@pytest.fixture()
def fresh_fabric() -> Iterator[LocalFabric]:
    with LocalFabric(**FAST) as server:
        yield server


# Building an SSL context (loading the CA bundle) is most of what a new httpx.Client costs;
# the emulator speaks plain HTTP, but httpx builds one anyway, so build it once.
_TLS = ssl.create_default_context()


def client_for(server: LocalFabric, token: Optional[str] = None, **headers: str) -> httpx.Client:
    all_headers = dict(headers)
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=server.base_url, headers=all_headers, timeout=30.0, verify=_TLS)


@pytest.fixture()
def owner(fabric: LocalFabric) -> Iterator[httpx.Client]:
    with client_for(fabric, fabric.api_key) as client:
        yield client


@pytest.fixture()
def fresh_owner(fresh_fabric: LocalFabric) -> Iterator[httpx.Client]:
    with client_for(fresh_fabric, fresh_fabric.api_key) as client:
        yield client


@dataclass
class Account:
    """A signed-up user with an organization of their own."""

    client: httpx.Client
    user_id: str
    email: str
    password: str
    tokens: Dict[str, Any]
    org_id: str


def data(response: httpx.Response, status: int = 200) -> Any:
    """The envelope's ``data`` after checking the status (with the body in the failure text)."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text}"
    )
    body = response.json()
    assert body["error"] is None
    assert body["meta"]["status"] == status
    return body["data"]


def error(response: httpx.Response, status: int, code: Optional[str] = None) -> Dict[str, Any]:
    """The envelope's ``error`` after checking status (and code)."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text}"
    )
    body = response.json()
    assert body["data"] is None
    assert body["meta"]["status"] == status
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]  # type: ignore[no-any-return]


def unique(prefix: str = "x") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def sign_up(server: LocalFabric, *, with_org: bool = True) -> Account:
    email = f"{unique('user')}@example.com"
    password = "correct-horse-battery"
    with client_for(server) as anonymous:
        tokens = data(anonymous.post("/v1/auth/signup", json={"email": email, "password": password}))
    client = client_for(server, tokens["access_token"])
    org_id = ""
    if with_org:
        org_id = data(client.post("/v1/organizations", json={"slug": unique("org"), "name": "Test Org"}))[
            "id"
        ]
    return Account(client, tokens["user"]["id"], email, password, tokens, org_id)


@pytest.fixture()
def make_user(fabric: LocalFabric) -> Iterator[Callable[..., Account]]:
    accounts: List[Account] = []

    def make(server: Optional[LocalFabric] = None, **kw: Any) -> Account:
        account = sign_up(server or fabric, **kw)
        accounts.append(account)
        return account

    yield make
    for account in accounts:
        account.client.close()


def wait_until(
    predicate: Callable[[], Optional[T]],
    timeout: float = 10.0,
    interval: float = 0.02,
    what: str = "condition",
) -> T:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def iter_sse(response: httpx.Response) -> Iterator[Dict[str, Any]]:
    """Decode an SSE body frame by frame: ``{id, event, data, comments, retry}``."""
    frame: Dict[str, Any] = {"data": [], "comments": []}
    for line in response.iter_lines():
        if line == "":
            if frame["data"] or frame.get("id") or frame.get("retry") or frame["comments"]:
                frame["data"] = "\n".join(frame["data"]) if frame["data"] else None
                yield frame
            frame = {"data": [], "comments": []}
            continue
        if line.startswith(":"):
            frame["comments"].append(line[1:].strip())
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            frame["data"].append(value)
        elif field in ("id", "event", "retry"):
            frame[field] = value


def read_sse(response: httpx.Response, *, max_events: Optional[int] = None) -> List[Dict[str, Any]]:
    """All frames until the stream ends (or ``max_events`` frames carrying data)."""
    frames: List[Dict[str, Any]] = []
    for frame in iter_sse(response):
        frames.append(frame)
        if max_events is not None and sum(1 for f in frames if f["data"]) >= max_events:
            break
    return frames


class _Anonymous:
    """One-off unauthenticated requests (each on its own short-lived client)."""

    def __init__(self, server: LocalFabric) -> None:
        self._server = server

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        with client_for(self._server) as client:
            return client.request(method, url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


def anonymous(server: LocalFabric) -> _Anonymous:
    return _Anonymous(server)
