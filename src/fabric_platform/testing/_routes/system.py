"""Health, status, info — and the emulator's own controls under ``/_emulator`` (not in the spec).

The controls let a standalone emulator (``fabric-platform emulator``) be steered over HTTP
the way LocalFabric steers an in-process one: faults, the clock, the outbox, statistics and
the seeded credentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..._version import __version__
from .._infra.http import ApiError, emulator_of, json_body, ok, validate

if TYPE_CHECKING:
    from .._state import Emulator

FEATURES = [
    "auth",
    "organizations",
    "api_keys",
    "secrets",
    "jobs",
    "providers",
    "workflows",
    "runs",
    "events",
    "idempotency",
    "emulator",
    "schedules",
    "webhooks",
    "usage",
    "budgets",
    "audit_logs",
    "galleries",
    "assets",
    "permissions",
    "service_accounts",
    "oauth",
    "totp",
    "apps",
    "sinks",
    "packages",
    "admin",
    "concurrency_limits",
]


async def health(request: Request) -> Response:
    return ok({"status": "ok", "version": __version__})


async def system_status(request: Request) -> Response:
    emulator = emulator_of(request)
    components = {
        "api": "ok",
        "database": "ok",
        "engine": "ok",
        "events": "degraded" if emulator.faults.streaming_disabled else "ok",
        # Background services, started by their areas' on_startup hooks.
        "scheduler": "ok" if emulator.scheduler is not None else "unavailable",
        "webhooks": "ok" if emulator.webhook_dispatcher is not None else "unavailable",
    }
    overall = "ok" if all(v == "ok" for v in components.values()) else "degraded"
    return ok({"status": overall, "components": components})


async def system_info(request: Request) -> Response:
    return ok({"version": __version__, "features": FEATURES, "emulator": True})


# --------------------------------------------------------------------------- /_emulator
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FaultBody(_Strict):
    type: str = Field(description="fail_next | latency | drop_stream | rate_limit | disable_streaming")
    method: str = "*"
    path_pattern: str = "*"
    status: int = 503
    count: int = 1
    retry_after: Optional[float] = None
    commit: bool = False
    seconds: float = 0.0
    events: int = 0
    times: int = 1
    per_second: Optional[float] = None
    burst: Optional[float] = None
    disabled: bool = True


class FaultsBody(_Strict):
    faults: List[FaultBody]


class AdvanceBody(_Strict):
    seconds: float = Field(ge=0)


async def add_faults(request: Request) -> Response:
    """POST /_emulator/faults — one fault object, or ``{"faults": [...]}``."""
    emulator = emulator_of(request)
    payload = await json_body(request)
    items: List[FaultBody]
    if "faults" in payload:
        items = list(validate(FaultsBody, payload).faults)
    else:
        items = [validate(FaultBody, payload)]
    for fault in items:
        try:
            _apply(emulator, fault)
        except ValueError as exc:
            raise ApiError(400, "validation_error", str(exc)) from None
    return ok(emulator.faults.describe())


def _apply(emulator: Emulator, fault: FaultBody) -> None:
    faults = emulator.faults
    if fault.type == "fail_next":
        faults.fail_next(
            fault.method,
            fault.path_pattern,
            fault.status,
            count=fault.count,
            retry_after=fault.retry_after,
            commit=fault.commit,
        )
    elif fault.type == "latency":
        faults.add_latency(fault.method, fault.path_pattern, fault.seconds)
    elif fault.type == "drop_stream":
        faults.drop_stream_after(fault.events, fault.times)
    elif fault.type == "rate_limit":
        emulator.ratelimit.configure(fault.per_second, fault.burst)
    elif fault.type == "disable_streaming":
        faults.disable_streaming(fault.disabled)
    else:
        raise ValueError(f"unknown fault type {fault.type!r}")


async def list_faults(request: Request) -> Response:
    emulator = emulator_of(request)
    described = emulator.faults.describe()
    described["rate_limited"] = emulator.ratelimit.enabled
    return ok(described)


async def reset_faults(request: Request) -> Response:
    emulator = emulator_of(request)
    emulator.faults.reset()
    emulator.ratelimit.configure(None)
    return ok(None)


async def advance_clock(request: Request) -> Response:
    emulator = emulator_of(request)
    body = validate(AdvanceBody, await json_body(request))
    emulator.advance_time(body.seconds)
    return ok({"now": emulator.clock.now_iso(), "offset_seconds": emulator.clock.offset_seconds})


async def get_clock(request: Request) -> Response:
    emulator = emulator_of(request)
    return ok({"now": emulator.clock.now_iso(), "offset_seconds": emulator.clock.offset_seconds})


async def outbox(request: Request) -> Response:
    emulator = emulator_of(request)
    kind = request.query_params.get("kind")
    to = request.query_params.get("to")
    return ok(emulator.outbox.messages(kind=kind, to=to))


async def stats(request: Request) -> Response:
    return ok(emulator_of(request).stats.snapshot())


async def reset_stats(request: Request) -> Response:
    emulator_of(request).stats.reset()
    return ok(None)


async def seed(request: Request) -> Response:
    """The seeded organization, owner and API key: how a standalone emulator's user signs in."""
    return ok(emulator_of(request).seed_info())


routes = [
    Route("/v1/health", health, methods=["GET"], name="healthCheck"),
    Route("/v1/system/status", system_status, methods=["GET"], name="systemStatus"),
    Route("/v1/system/info", system_info, methods=["GET"], name="systemInfo"),
    Route("/_emulator/faults", add_faults, methods=["POST"]),
    Route("/_emulator/faults", list_faults, methods=["GET"]),
    Route("/_emulator/faults", reset_faults, methods=["DELETE"]),
    Route("/_emulator/clock/advance", advance_clock, methods=["POST"]),
    Route("/_emulator/clock", get_clock, methods=["GET"]),
    Route("/_emulator/outbox", outbox, methods=["GET"]),
    Route("/_emulator/stats", stats, methods=["GET"]),
    Route("/_emulator/stats", reset_stats, methods=["DELETE"]),
    Route("/_emulator/seed", seed, methods=["GET"]),
]
