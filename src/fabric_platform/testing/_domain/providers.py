"""The simulated model providers: their catalogue, model defaults and deterministic results."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, Optional, Tuple

from .._infra.http import ApiError

# provider id → {model: (modality, USD per input unit, USD per output unit)}
CATALOGUE: Dict[str, Dict[str, Tuple[str, float, float]]] = {
    "openai": {
        "gpt-4o": ("text", 0.0025 / 1000, 0.01 / 1000),
        "gpt-4o-mini": ("text", 0.00015 / 1000, 0.0006 / 1000),
        "text-embedding-3-small": ("embedding", 0.00002 / 1000, 0.0),
        "dall-e-3": ("image", 0.0, 0.04),
    },
    "anthropic": {
        "claude-sonnet-4": ("text", 0.003 / 1000, 0.015 / 1000),
        "claude-haiku-4": ("text", 0.0008 / 1000, 0.004 / 1000),
    },
    "stability": {"sdxl": ("image", 0.0, 0.02)},
    "elevenlabs": {"eleven_multilingual_v2": ("audio", 0.00003, 0.0)},
    "runway": {"gen-3": ("video", 0.0, 0.25)},
    "seedance": {"seedance/2.0": ("video", 0.0, 0.6)},
}


DEFAULT_MODELS = {
    "text": "gpt-4o-mini",
    "embedding": "text-embedding-3-small",
    "image": "sdxl",
    "audio": "eleven_multilingual_v2",
    "video": "gen-3",
}


MODALITIES = tuple(DEFAULT_MODELS)


def resolve_model(modality: str, model: Optional[str]) -> Tuple[str, str]:
    """(provider id, model) for a modality, checking that the model serves it (400 otherwise)."""
    if modality not in MODALITIES:
        raise ApiError(
            400,
            "validation_error",
            f"Unknown modality {modality!r}; expected one of {', '.join(MODALITIES)}.",
            {"errors": [{"path": "modality", "message": "unknown modality"}]},
        )
    model = model or DEFAULT_MODELS[modality]
    for provider, models in CATALOGUE.items():
        if model in models:
            if models[model][0] != modality:
                raise ApiError(
                    400,
                    "validation_error",
                    f"Model {model!r} does not serve modality {modality!r}.",
                    {"errors": [{"path": "model", "message": "wrong modality for this model"}]},
                )
            return provider, model
    raise ApiError(
        400,
        "validation_error",
        f"Unknown model {model!r}.",
        {"errors": [{"path": "model", "message": "unknown model"}]},
    )


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def input_units(modality: str, payload: Dict[str, Any]) -> float:
    text = json.dumps(payload, sort_keys=True, default=str)
    if modality in ("text", "embedding", "audio"):
        return float(max(1, len(text) // 4))  # ~tokens (characters for audio)
    return 1.0


def simulate(
    modality: str, model: Optional[str], payload: Dict[str, Any], params: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    """A deterministic provider call: ``{provider_id, model, modality, output, usage}``."""
    provider, model = resolve_model(modality, model)
    digest = _digest(modality, model, payload, params or {})
    prompt = str(payload.get("prompt") or payload.get("text") or payload.get("topic") or "")
    units_in = input_units(modality, payload)
    output: Dict[str, Any]
    if modality == "text":
        text = f"[{model}] {prompt[:200]}".strip() + f" — response {digest[:8]}"
        output = {"text": text}
        units_out = float(max(1, len(text) // 4))
    elif modality == "embedding":
        vector = [round(int(digest[i : i + 4], 16) / 65535.0 * 2 - 1, 6) for i in range(0, 32, 4)]
        output = {"embedding": vector, "dimensions": len(vector)}
        units_out = 0.0
    elif modality == "image":
        count = int((params or {}).get("n", 1)) if isinstance((params or {}).get("n", 1), int) else 1
        count = max(1, min(count, 10))
        output = {
            "images": [
                {"url": f"fabric://assets/{digest[:16]}-{i}.png", "width": 1024, "height": 1024}
                for i in range(count)
            ]
        }
        units_out = float(count)
    elif modality == "audio":
        output = {"url": f"fabric://assets/{digest[:16]}.mp3", "duration_seconds": round(units_in / 15.0, 2)}
        units_out = 0.0
    else:  # video
        seconds = payload.get("duration_seconds", 5)
        seconds = seconds if isinstance(seconds, (int, float)) and 0 < seconds <= 600 else 5
        output = {"url": f"fabric://assets/{digest[:16]}.mp4", "duration_seconds": seconds}
        units_out = 1.0
    price_in, price_out = CATALOGUE[provider][model][1:]
    cost = round(units_in * price_in + units_out * price_out, 8)
    return {
        "provider_id": provider,
        "model": model,
        "modality": modality,
        "output": output,
        "usage": {"input_units": units_in, "output_units": units_out, "cost_usd": cost},
    }
