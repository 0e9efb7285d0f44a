"""Helpers for the transport-pipeline unit tests: hand-made operations, envelopes, a fake
clock that sleeps instantly, and scripted httpx MockTransports."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

import httpx
from fabric_platform_api._operation import Operation

from fabric_platform._config import ClientConfig
from fabric_platform._core.request import PreparedRequest

BASE = "https://fabric.test"
API_KEY = "fab_test_k3y-sup3r-s3cret-value"


def make_op(
    method: str = "GET",
    path: str = "/v1/things",
    *,
    operation_id: str = "getThing",
    public: bool = False,
    tokens: Optional[str] = None,
    response: str = "json",
    data_schema: Optional[str] = None,
    data_is_list: bool = False,
    pagination: Optional[str] = None,
) -> Operation:
    return Operation(
        operation_id=operation_id,
        method=method,
        path=path,
        tag="test",
        summary="test operation",
        flat=None,
        ns="test.op",
        params=(),
        body="json" if method in ("POST", "PATCH", "PUT") else None,
        body_param=None,
        response=response,
        data_schema=data_schema,
        data_is_list=data_is_list,
        pagination=pagination,
        tokens=tokens,
        flat_returns=None,
        public=public,
        success_status=200,
    )


def prepare(
    op: Operation,
    *,
    body: Any = None,
    params: Iterable[Tuple[str, str]] = (),
    headers: Optional[Dict[str, str]] = None,
    content: Any = None,
) -> PreparedRequest:
    req = PreparedRequest(operation=op, method=op.method, path=op.path, params=list(params))
    req.headers.update(headers or {})
    if body is not None:
        req.json = body
    elif op.body == "json" and content is None:
        req.json = {}
    req.content = content
    return req


def envelope(
    data: Any,
    status: int = 200,
    *,
    request_id: str = "req_ok",
    headers: Optional[Dict[str, str]] = None,
    meta: Optional[Dict[str, Any]] = None,
) -> httpx.Response:
    m = {"request_id": request_id, "status": status, "next_cursor": None}
    m.update(meta or {})
    return httpx.Response(status, json={"data": data, "meta": m, "error": None}, headers=headers)


def error(
    status: int,
    code: str,
    message: str = "it failed",
    *,
    details: Optional[Dict[str, Any]] = None,
    request_id: str = "req_err",
    headers: Optional[Dict[str, str]] = None,
) -> httpx.Response:
    body = {
        "data": None,
        "meta": {"request_id": request_id, "status": status},
        "error": {"code": code, "message": message, "details": details},
    }
    return httpx.Response(status, json=body, headers=headers)


def tokens_data(access: str, refresh: str, expires_in: int = 3600) -> Dict[str, Any]:
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": expires_in,
        "user": {"id": "u1", "email": "a@b.c", "display_name": None, "email_verified": True},
    }


class FakeClock:
    """A monotonic clock that only moves when told to; ``sleep`` advances it and records."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: List[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


Step = Union[httpx.Response, BaseException, Callable[[httpx.Request], httpx.Response]]


class Script:
    """A MockTransport handler that answers from a list, recording every request."""

    def __init__(self, *steps: Step) -> None:
        self.steps: List[Step] = list(steps)
        self.requests: List[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if not self.steps:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    def json_bodies(self) -> List[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def config(**overrides: Any) -> ClientConfig:
    values: Dict[str, Any] = {"base_url": BASE, "api_key": API_KEY, "max_retries": 2, "timeout": 30.0}
    values.update(overrides)
    return ClientConfig(**values)


class SlowStream(httpx.SyncByteStream):
    """A body that arrives in chunks, each 'taking' some seconds on a fake clock."""

    def __init__(self, chunks: List[bytes], clock: FakeClock, per_chunk: float) -> None:
        self._chunks = chunks
        self._clock = clock
        self._per_chunk = per_chunk

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self._clock.advance(self._per_chunk)
            yield chunk
