"""Bad input never causes a 5xx: every route × malformed bodies, bad ids, bad queries, huge bodies.

The matrix is built from the emulator's own route table, so routes added later are covered.
"""

from __future__ import annotations

import json
import re
from typing import Iterator, List, Tuple

import httpx
import pytest
from conftest import client_for, error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric_platform.testing import LocalFabric

_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def _public_routes() -> List[Tuple[str, str]]:
    from fabric_platform.testing._routes import all_routes

    found = []
    for route in all_routes():
        path = getattr(route, "path", "")
        if not path.startswith("/v1/"):
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                found.append((method, path))
    return found


ROUTES = _public_routes()
WRITE_ROUTES = [(m, p) for m, p in ROUTES if m in ("POST", "PUT", "PATCH")]
# Routes whose body is a JSON object: each malformed body must be refused (4xx), not ignored.
BODY_ROUTES = [
    ("POST", "/v1/auth/signup"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/token/refresh"),
    ("POST", "/v1/organizations"),
    ("PATCH", "/v1/organizations/{org_id}"),
    ("POST", "/v1/teams"),
    ("POST", "/v1/invitations"),
    ("POST", "/v1/api-keys"),
    ("POST", "/v1/organizations/{org_id}/secrets"),
    ("POST", "/v1/jobs"),
    ("POST", "/v1/providers/execute"),
    ("POST", "/v1/authz/check"),
    ("PUT", "/v1/organizations/{org_id}/budget"),
]
WRONG_FIELDS = (
    b'{"organization_id": "not-a-uuid", "name": 5, "slug": [], "email": {}, "input": "x", "modality": 1}'
)
MALFORMED = [
    b"{",
    b'{"a": }',
    b"[1, 2, 3]",
    b"null",
    b'"just a string"',
    b"42",
    b"\xff\xfe\x00garbage",
    b'{"nested": ' + b"[" * 5000 + b"]" * 5000 + b"}",
]


def _fill(path: str, value: str) -> str:
    return _PARAM.sub(value, path)


def _assert_not_5xx(response: httpx.Response) -> None:
    assert response.status_code < 500, (
        f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text[:300]}"
    )
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        assert set(body) == {"data", "meta", "error"}
        if response.status_code >= 400:
            assert body["error"]["code"] and body["error"]["message"]


@pytest.fixture(scope="module")
def victim() -> Iterator[LocalFabric]:
    """An emulator of its own: the matrix archives organizations, sets budgets and so on."""
    with LocalFabric(speed=200, password_hash_iterations=1000) as server:
        yield server


@pytest.fixture()
def api(victim: LocalFabric) -> Iterator[httpx.Client]:
    with client_for(victim, victim.api_key) as client:
        yield client


def test_the_matrix_covers_the_core_areas() -> None:
    paths = {p for _, p in ROUTES}
    for expected in ("/v1/jobs", "/v1/organizations", "/v1/api-keys", "/v1/auth/signup", "/v1/events/stream"):
        assert expected in paths


@pytest.mark.parametrize(("method", "path"), WRITE_ROUTES)
def test_malformed_bodies_never_5xx(api: httpx.Client, method: str, path: str) -> None:
    for body in [*MALFORMED, WRONG_FIELDS]:
        response = api.request(
            method,
            _fill(path, "00000000-0000-0000-0000-000000000010"),
            content=body,
            headers={"Content-Type": "application/json"},
        )
        _assert_not_5xx(response)


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_malformed_bodies_are_refused(api: httpx.Client, method: str, path: str) -> None:
    assert (method, path) in ROUTES
    for body in [*MALFORMED, WRONG_FIELDS]:
        response = api.request(
            method,
            _fill(path, "00000000-0000-0000-0000-000000000010"),
            content=body,
            headers={"Content-Type": "application/json"},
        )
        _assert_not_5xx(response)
        assert 400 <= response.status_code < 500, (
            f"{method} {path} accepted {body[:40]!r}: {response.text[:200]}"
        )


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if _PARAM.search(r[1])])
def test_bad_ids_are_4xx(api: httpx.Client, method: str, path: str) -> None:
    for bad in (
        "not-a-uuid",
        "00000000-0000-0000-0000-00000000zzzz",
        "%00",
        "a" * 300,
        "12345678-1234-1234-1234-123456789012",
    ):
        response = api.request(
            method, _fill(path, bad), json={} if method != "GET" and method != "DELETE" else None
        )
        _assert_not_5xx(response)
        assert response.status_code >= 400 or (method == "GET" and "event" in path)


@pytest.mark.parametrize(
    ("method", "path"),
    [r for r in ROUTES if r[0] == "GET" and not _PARAM.search(r[1]) and "stream" not in r[1]],
)
def test_bad_query_parameters_are_4xx_or_ignored(api: httpx.Client, method: str, path: str) -> None:
    for params in (
        {"limit": "abc"},
        {"limit": "-5"},
        {"offset": "x"},
        {"cursor": "%%%"},
        {"organization_id": "nope"},
        {"validate": "maybe"},
    ):
        _assert_not_5xx(api.get(path, params=params))


def test_oversized_json_body_is_413(owner: httpx.Client) -> None:
    api = owner
    huge = json.dumps({"modality": "text", "input": {"blob": "x" * (1024 * 1024)}})
    response = api.post("/v1/jobs", content=huge, headers={"Content-Type": "application/json"})
    error(response, 413, "payload_too_large")

    # Without a Content-Length (chunked), the limit still holds.
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * (64 * 1024)

    response = api.post("/v1/jobs", content=chunks(), headers={"Content-Type": "application/json"})
    error(response, 413, "payload_too_large")
    # Just under the limit is parsed normally.
    fits = json.dumps({"modality": "text", "input": {"blob": "x" * (1024 * 1024 - 200)}})
    assert api.post("/v1/jobs", content=fits, headers={"Content-Type": "application/json"}).status_code == 200


def test_wrong_types_name_the_field(owner: httpx.Client) -> None:
    api = owner
    err = error(api.post("/v1/jobs", json={"modality": 7, "input": {}}), 400, "validation_error")
    assert [e["path"] for e in err["details"]["errors"]] == ["modality"]
    err = error(
        api.post("/v1/organizations", json={"slug": "ok-slug", "name": ["x"]}), 400, "validation_error"
    )
    assert "name" in err["message"]
    error(
        api.put(
            "/v1/organizations/00000000-0000-0000-0000-000000000010/budget", json={"monthly_limit_usd": "10"}
        ),
        400,
    )


def test_non_json_content_type_is_still_validated(owner: httpx.Client) -> None:
    api = owner
    response = api.post(
        "/v1/jobs", content=b"modality=text", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    error(response, 400)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
field_names = st.sampled_from(
    [
        "email",
        "password",
        "slug",
        "name",
        "organization_id",
        "modality",
        "input",
        "params",
        "scopes",
        "token",
        "role",
        "action",
        "resource",
        "checks",
        "value",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(WRITE_ROUTES), body=st.dictionaries(field_names, json_values, max_size=6))
def test_fuzzed_bodies_never_5xx(victim: LocalFabric, route: Tuple[str, str], body: dict) -> None:
    method, path = route
    with client_for(victim, victim.api_key) as api:
        _assert_not_5xx(api.request(method, _fill(path, "00000000-0000-0000-0000-000000000010"), json=body))
