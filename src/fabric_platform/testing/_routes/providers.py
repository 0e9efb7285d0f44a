"""Model providers: the catalogue, direct execution and cost estimates (/v1/providers/*).

Also the simulation jobs use: outputs are a pure function of (modality, model, input), so the
same request always gives the same answer, and usage is counted from the input's size.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain.providers import CATALOGUE, simulate
from .._infra.http import json_body, ok
from ._guards import current_principal


class ExecuteBody(BaseModel):
    model_config = ConfigDict(strict=True)
    modality: str
    input: Dict[str, Any]
    model: Optional[str] = None
    params: Optional[Dict[str, Any]] = None


class EstimateBody(BaseModel):
    model_config = ConfigDict(strict=True)
    modality: str
    input: Dict[str, Any]
    model: Optional[str] = None


async def list_providers(request: Request) -> Response:
    current_principal(request)
    result: List[Dict[str, Any]] = []
    for provider, models in CATALOGUE.items():
        modalities = sorted({spec[0] for spec in models.values()})
        result.append({"id": provider, "modalities": modalities, "models": sorted(models)})
    return ok(result)


async def execute(request: Request) -> Response:
    current_principal(request)
    body = await json_body(request, ExecuteBody)
    return ok(simulate(body.modality, body.model, body.input, body.params))


async def estimate(request: Request) -> Response:
    current_principal(request)
    body = await json_body(request, EstimateBody)
    result = simulate(body.modality, body.model, body.input)
    return ok(
        {
            "modality": body.modality,
            "model": result["model"],
            "provider_id": result["provider_id"],
            "estimated_cost_usd": result["usage"]["cost_usd"],
            "input_units": result["usage"]["input_units"],
        }
    )


routes = [
    Route("/v1/providers", list_providers, methods=["GET"], name="listProviders"),
    Route("/v1/providers/execute", execute, methods=["POST"], name="executeProvider"),
    Route("/v1/providers/estimate", estimate, methods=["POST"], name="estimateCost"),
]
