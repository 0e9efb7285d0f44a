"""No secret reaches the logs, a repr or an exception text.

A whole session runs through the real operations (login with a password, calls with the
session token and the API key, a proactive and a reactive refresh with rotating tokens,
set_secret with a secret value, TOTP, create_api_key returning a key, a server that echoes
the rejected password back in its error, a connection error whose text carries the token,
logout) with DEBUG logging captured; then every secret is searched for in the captured
text, in reprs of the config, token store and transport, and in every exception's str/repr.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List

import httpx
import pytest
from fabric_platform_api import operations as ops
from pipeline_support import FakeClock, Script, config, envelope, error, tokens_data

from fabric_platform._auth import TokenStore
from fabric_platform._config import ClientConfig
from fabric_platform._core import log as _logging
from fabric_platform._core.request import build_request
from fabric_platform._sync.transport import SyncTransport
from fabric_platform.errors import FabricError

API_KEY = "fab_live_9c1d2e3f4a5b6c7d8e9f-apikey"
PASSWORD = "correct-horse-battery-staple"
NEW_PASSWORD = "n3w-pa55word-quokka"
ACCESS_1, REFRESH_1 = "eyJ-access-one-8c1f2a", "rt-refresh-one-77d0e1"
ACCESS_2, REFRESH_2 = "eyJ-access-two-1b2c3d", "rt-refresh-two-44a5b6"
ACCESS_3, REFRESH_3 = "eyJ-access-three-9f8e7d", "rt-refresh-three-0a1b2c"
SECRET_VALUE = "sk-openai-VERY-secret-4242"
TOTP_CODE = "492039"
NEW_KEY = "fab_live_fresh-key-5e6f7a8b9c"
SECRETS = [
    API_KEY,
    PASSWORD,
    NEW_PASSWORD,
    ACCESS_1,
    REFRESH_1,
    ACCESS_2,
    REFRESH_2,
    ACCESS_3,
    REFRESH_3,
    SECRET_VALUE,
    TOTP_CODE,
    NEW_KEY,
]
ORG = "00000000-0000-0000-0000-000000000010"


def test_full_session_leaks_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    script = Script(
        # login: tokens in the response
        envelope(tokens_data(ACCESS_1, REFRESH_1, expires_in=600)),
        # change_password: the server echoes the rejected password in its message and details
        error(
            400,
            "validation_error",
            f"password '{NEW_PASSWORD}' is too weak",
            details={"errors": [{"path": "new_password", "message": f"{NEW_PASSWORD} is common"}]},
        ),
        # set_secret
        envelope(None),
        # totp_verify: 503 then OK (a retry, logged at INFO)
        error(503, "unavailable"),
        envelope({"enrolled": True, "valid": True, "message": "ok"}),
        # create_api_key: a fresh key in the response data
        envelope({"id": "k1", "key": NEW_KEY, "prefix": "fab_live_", "organization_id": ORG, "scopes": []}),
        # proactive refresh (the clock is moved into the margin below), then get_me
        envelope(tokens_data(ACCESS_2, REFRESH_2, expires_in=600)),
        envelope({"principal_id": "p1"}),
        # reactive refresh: token_expired, refresh, replay
        error(401, "token_expired"),
        envelope(tokens_data(ACCESS_3, REFRESH_3, expires_in=600)),
        envelope({"principal_id": "p1"}),
        # a connection error whose text includes the bearer token
        httpx.ConnectError(f"proxy refused Authorization: Bearer {ACCESS_3}"),
        # logout
        envelope(None),
    )
    http = httpx.Client(transport=httpx.MockTransport(script))
    cfg: ClientConfig = config(api_key=API_KEY, max_retries=2)
    tokens = TokenStore(cfg, clock=clock)
    transport = SyncTransport(cfg, tokens, http_client=http, clock=clock, sleep=clock.sleep, rand=lambda: 0.5)
    errors: List[BaseException] = []

    def call(op: Any, args: Dict[str, Any], **kw: Any) -> Any:
        try:
            return transport.request(build_request(op, args, organization_id=ORG), **kw).data
        except FabricError as exc:
            errors.append(exc)
            return None

    with caplog.at_level(logging.DEBUG, logger="fabric_platform"):
        call(ops.LOGIN, {"email": "ada@example.com", "password": PASSWORD})
        call(ops.CHANGE_PASSWORD, {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
        call(ops.CREATE_SECRET, {"name": "OPENAI_KEY", "value": SECRET_VALUE})
        call(ops.TOTP_VERIFY, {"code": TOTP_CODE})
        created = call(ops.CREATE_API_KEY, {"name": "ci", "organization_id": ORG})
        clock.advance(590)
        call(ops.GET_ME, {})
        call(ops.GET_ME, {})
        call(ops.GET_ME, {}, max_retries=0)
        call(ops.LOGOUT, {"access_token": ACCESS_3})

    transport.close()
    http.close()
    assert created["key"] == NEW_KEY  # the data itself is the caller's to have
    assert len(errors) == 2  # the 400 and the connection error
    assert [r.url.path for r in script.requests].count("/v1/auth/token/refresh") == 2

    log_text = caplog.text
    # The log did record what matters for debugging...
    for expected in (
        "POST /v1/auth/login",
        "request_id=req_ok",
        "-> 200",
        "retrying POST /v1/auth/totp/verify",
    ):
        assert expected in log_text
    assert _logging.REDACTED in log_text
    assert any(r.levelno == logging.INFO and "retrying" in r.getMessage() for r in caplog.records)

    haystacks = {
        "logs": log_text,
        "repr(config)": repr(cfg),
        "repr(tokens)": repr(tokens),
        "repr(transport)": repr(transport),
        "safe_dict": json.dumps(cfg.safe_dict()),
    }
    for i, exc in enumerate(errors):
        haystacks[f"str(error {i})"] = str(exc)
        haystacks[f"repr(error {i})"] = repr(exc)
        haystacks[f"details(error {i})"] = json.dumps(getattr(exc, "details", None))
    for where, text in haystacks.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into {where}"


def test_redact_body_is_recursive_and_case_insensitive() -> None:
    body = {
        "email": "a@b.c",
        "Password": "p",
        "nested": {"access_token": "a", "list": [{"refresh_token": "r", "keep": 1}], "Secret": {"x": 1}},
        "value": "v",
        "code": "123456",
        "client_secret": "cs",
        "key": "k",
        "token": "t",
        "name": "visible",
    }
    red = _logging.redact_body(body)
    assert red == {
        "email": "a@b.c",
        "Password": "[REDACTED]",
        "nested": {
            "access_token": "[REDACTED]",
            "list": [{"refresh_token": "[REDACTED]", "keep": 1}],
            "Secret": "[REDACTED]",
        },
        "value": "[REDACTED]",
        "code": "[REDACTED]",
        "client_secret": "[REDACTED]",
        "key": "[REDACTED]",
        "token": "[REDACTED]",
        "name": "visible",
    }
    assert body["Password"] == "p"  # the original is untouched


def test_redact_headers_and_query() -> None:
    headers = [
        ("Authorization", "Bearer x"),
        ("cookie", "s=1"),
        ("X-Principal-Id", "p1"),
        ("Idempotency-Key", "k"),
    ]
    assert _logging.redact_headers(headers) == [
        ("Authorization", "[REDACTED]"),
        ("cookie", "[REDACTED]"),
        ("X-Principal-Id", "p1"),
        ("Idempotency-Key", "k"),
    ]
    assert _logging.redact_query([("token", "abc"), ("limit", "5")]) == [
        ("token", "[REDACTED]"),
        ("limit", "5"),
    ]


def test_scrub_replaces_longest_first_and_ignores_tiny_values() -> None:
    secrets = _logging.collect_secrets(
        headers={"Authorization": "Bearer tok-123456"},
        body={"password": "ab", "x": {"secret": ["s3cr3t!"]}},
        params=(),
    )
    assert secrets == {"Bearer tok-123456", "tok-123456", "s3cr3t!"}  # "ab" is too short to scrub
    text = "sent Bearer tok-123456 and s3cr3t! (ab)"
    assert _logging.scrub(text, secrets) == "sent [REDACTED] and [REDACTED] (ab)"


def test_config_repr_hides_key_and_header_values() -> None:
    cfg = ClientConfig(api_key=API_KEY, default_headers={"X-Custom-Auth": "hunter2-hunter2"})
    text = repr(cfg)
    assert API_KEY not in text and "hunter2" not in text
    assert "fab_live_" in text  # the kind of key is shown, for debugging
    assert "X-Custom-Auth" in text


def test_fabric_log_env_turns_on_logging() -> None:
    logger = logging.getLogger("fabric_platform")
    before = logger.level
    handlers = list(logger.handlers)
    try:
        ClientConfig.from_env(environ={"FABRIC_LOG": "debug"})
        assert logger.level == logging.DEBUG
        ClientConfig.from_env(environ={"FABRIC_LOG": "INFO"})
        assert logger.level == logging.INFO
        stream_handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
        assert len(stream_handlers) <= 1 + len([h for h in handlers if isinstance(h, logging.StreamHandler)])
    finally:
        logger.setLevel(before)
        for h in logger.handlers[:]:
            if h not in handlers:
                logger.removeHandler(h)
        _logging._handler_installed = False


def test_env_configuration_explicit_wins() -> None:
    env = {
        "FABRIC_API_KEY": "fab_test_from_env",
        "FABRIC_BASE_URL": "https://env.example/",
        "FABRIC_ORGANIZATION_ID": "org-env",
    }
    from_env = ClientConfig.from_env(environ=env)
    assert (from_env.api_key, from_env.base_url, from_env.organization_id) == (
        "fab_test_from_env",
        "https://env.example",
        "org-env",
    )
    explicit = ClientConfig.from_env(
        api_key="fab_test_explicit", base_url="https://x.example", organization_id="org-x", environ=env
    )
    assert (explicit.api_key, explicit.base_url, explicit.organization_id) == (
        "fab_test_explicit",
        "https://x.example",
        "org-x",
    )
    defaults = ClientConfig.from_env(environ={})
    assert defaults.base_url == "https://gofabric.dev" and defaults.api_key is None
    assert defaults.organization_id == "00000000-0000-0000-0000-000000000010"
    assert (defaults.timeout, defaults.max_retries, defaults.strict) == (30.0, 2, False)


def test_config_validation_and_replace() -> None:
    cfg = ClientConfig()
    with pytest.raises(ValueError):
        ClientConfig(timeout=0)
    with pytest.raises(ValueError):
        ClientConfig(max_retries=-1)
    with pytest.raises(ValueError):
        ClientConfig(base_url="gofabric.dev")
    other = cfg.replace(timeout=5, max_retries=0)
    assert other.timeout == 5.0 and other.max_retries == 0 and cfg.timeout == 30.0
    headers = {"A": "1"}
    h = ClientConfig(default_headers=headers)
    headers["A"] = "2"
    assert h.default_headers["A"] == "1"  # a private copy
    with pytest.raises(TypeError):
        h.default_headers["B"] = "x"  # type: ignore[index]
