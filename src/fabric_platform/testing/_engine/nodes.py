"""Node types of workflow definitions: the catalogue, definition validation, and the pure parts
of executing a node (deterministic text, transforms, pricing).

The run engine (``engine.py``) owns everything with side effects — sleeping, waiting, spawning
child runs, persisting. Keeping the pure parts here makes them unit-testable without a server.

Templates: ``ai_generate.prompt`` and ``transform.template`` may reference run data with
``{name}`` placeholders, looked up first in the outputs of earlier nodes (``{step1.text}``),
then in the run's context (``{topic}``). Unknown placeholders are left as written, so a prompt
containing braces for another reason never makes a run fail.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

__all__ = [
    "NODE_TYPES",
    "WAITING_TYPES",
    "ai_generate",
    "apply_transform",
    "node_catalogue",
    "normalize_nodes",
    "price_for",
    "render_template",
]

# Node types whose execution stops the run until resume_node / approve / signal.
WAITING_TYPES = frozenset({"approval", "wait_for_input"})

_STR = {"type": "string"}

NODE_TYPES: Dict[str, Dict[str, Any]] = {
    "ai_generate": {
        "description": "Generate text with a model. The emulator answers deterministically from the prompt.",
        "config_schema": {
            "type": "object",
            "properties": {
                "prompt": {"type": "string", "description": "Prompt; {placeholders} read the context."},
                "model": {"type": "string", "default": "gpt-4o-mini"},
                "max_tokens": {"type": "integer", "minimum": 1},
            },
            "additionalProperties": True,
        },
    },
    "transform": {
        "description": "Reshape data: set constant fields, pick or rename fields, render a template.",
        "config_schema": {
            "type": "object",
            "properties": {
                "set": {"type": "object", "additionalProperties": True},
                "pick": {"type": "array", "items": _STR},
                "rename": {"type": "object", "additionalProperties": _STR},
                "template": {"type": "string"},
            },
            "additionalProperties": True,
        },
    },
    "delay": {
        "description": "Wait for a number of seconds (scaled by the emulator's speed).",
        "config_schema": {
            "type": "object",
            "properties": {"seconds": {"type": "number", "minimum": 0, "maximum": 86400}},
            "additionalProperties": True,
        },
    },
    "approval": {
        "description": "Pause the run (status waiting) until a person approves: resume_node or approve_run.",
        "config_schema": {
            "type": "object",
            "properties": {"message": _STR},
            "additionalProperties": True,
        },
    },
    "wait_for_input": {
        "description": "Pause the run (status waiting) until data arrives: resume_node or signal_run.",
        "config_schema": {
            "type": "object",
            "properties": {"signal": {"type": "string", "description": "Signal name that also resumes it."}},
            "additionalProperties": True,
        },
    },
    "fail": {
        "description": "Fail the run with the configured message (useful for testing error paths).",
        "config_schema": {
            "type": "object",
            "properties": {"message": _STR},
            "additionalProperties": True,
        },
    },
    "subworkflow": {
        "description": "Run another workflow as a child run and wait for it; its output is this node's output.",
        "config_schema": {
            "type": "object",
            "required": ["workflow"],
            "properties": {
                "workflow": {"type": "string", "description": "Definition id or name, or a named workflow."},
                "context": {"type": "object", "additionalProperties": True},
                "wait": {"type": "boolean", "default": True},
            },
            "additionalProperties": True,
        },
    },
}


def node_catalogue() -> List[Dict[str, Any]]:
    """The GET /v1/nodes payload; a node type's id is its type name (stable across restarts)."""
    return [
        {"id": name, "type": name, "description": spec["description"], "config_schema": spec["config_schema"]}
        for name, spec in NODE_TYPES.items()
    ]


def normalize_nodes(nodes: Any) -> Tuple[List[Dict[str, Any]], List[Dict[str, str]]]:
    """Check a definition's ``nodes`` and fill defaults (``key``, ``config``).

    Returns ``(nodes, errors)``; ``errors`` uses the ``[{path, message}]`` shape of
    ``details.errors`` so the route can answer 400 with every problem at once.
    """
    errors: List[Dict[str, str]] = []
    if not isinstance(nodes, list):
        return [], [{"path": "nodes", "message": "must be an array of nodes"}]
    out: List[Dict[str, Any]] = []
    seen: Dict[str, int] = {}
    for i, node in enumerate(nodes):
        where = f"nodes.{i}"
        if not isinstance(node, dict):
            errors.append({"path": where, "message": "must be an object with 'type' and 'config'"})
            continue
        ntype = node.get("type")
        if ntype not in NODE_TYPES:
            known = ", ".join(sorted(NODE_TYPES))
            errors.append(
                {"path": f"{where}.type", "message": f"unknown node type {ntype!r} (known: {known})"}
            )
            continue
        key = node.get("key")
        if key is None:
            # The seed's own example omits keys; give each node a stable, readable one.
            key = f"{ntype}_{i + 1}"
        if not isinstance(key, str) or not key or "/" in key:
            errors.append({"path": f"{where}.key", "message": "must be a non-empty string without '/'"})
            continue
        if key in seen:
            errors.append(
                {"path": f"{where}.key", "message": f"duplicate node key {key!r} (also nodes.{seen[key]})"}
            )
            continue
        seen[key] = i
        config = node.get("config")
        if config is None:
            config = {}
        if not isinstance(config, dict):
            errors.append({"path": f"{where}.config", "message": "must be an object"})
            continue
        errors.extend(_check_config(ntype, config, f"{where}.config"))
        out.append({**node, "key": key, "type": ntype, "config": config})
    return out, errors


def _check_config(ntype: str, config: Mapping[str, Any], where: str) -> List[Dict[str, str]]:
    errors: List[Dict[str, str]] = []

    def need_str(name: str, required: bool = False) -> None:
        value = config.get(name)
        if value is None:
            if required:
                errors.append({"path": f"{where}.{name}", "message": "is required"})
        elif not isinstance(value, str):
            errors.append({"path": f"{where}.{name}", "message": "must be a string"})

    if ntype == "ai_generate":
        need_str("prompt")
        need_str("model")
    elif ntype == "delay":
        seconds = config.get("seconds", 0)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 86400:
            errors.append({"path": f"{where}.seconds", "message": "must be a number between 0 and 86400"})
    elif ntype == "fail":
        need_str("message")
    elif ntype == "subworkflow":
        need_str("workflow", required=True)
        if "context" in config and not isinstance(config["context"], dict):
            errors.append({"path": f"{where}.context", "message": "must be an object"})
    elif ntype == "wait_for_input":
        need_str("signal")
    elif ntype == "transform":
        if "set" in config and not isinstance(config["set"], dict):
            errors.append({"path": f"{where}.set", "message": "must be an object"})
        if "pick" in config and not (
            isinstance(config["pick"], list) and all(isinstance(p, str) for p in config["pick"])
        ):
            errors.append({"path": f"{where}.pick", "message": "must be an array of strings"})
        if "rename" in config and not isinstance(config["rename"], dict):
            errors.append({"path": f"{where}.rename", "message": "must be an object"})
        need_str("template")
    return errors


# --- templates -------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")
_MISSING = object()


def _lookup(path: str, scopes: List[Mapping[str, Any]]) -> Any:
    for scope in scopes:
        value: Any = scope
        for part in path.split("."):
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            else:
                value = _MISSING
                break
        if value is not _MISSING:
            return value
    return _MISSING


def render_template(text: str, context: Mapping[str, Any], outputs: Mapping[str, Any]) -> str:
    """Substitute ``{name}`` / ``{node.field}`` placeholders; unknown ones stay as written."""

    def sub(match: re.Match[str]) -> str:
        value = _lookup(match.group(1), [outputs, context])
        if value is _MISSING:
            return match.group(0)
        return value if isinstance(value, str) else str(value)

    return _PLACEHOLDER.sub(sub, text)


# --- ai_generate -----------------------------------------------------------------------------

DEFAULT_MODEL = "gpt-4o-mini"

# (provider, USD per 1,000 tokens). Figures are plausible, not quotes: what matters for tests is
# that costs are deterministic, positive and differ by model.
_PRICES: Dict[str, Tuple[str, float]] = {
    "gpt-4o": ("openai", 0.005),
    "gpt-4o-mini": ("openai", 0.0006),
    "gpt-4.1": ("openai", 0.004),
    "o3-mini": ("openai", 0.0022),
    "claude-3-5-sonnet": ("anthropic", 0.006),
    "claude-3-5-haiku": ("anthropic", 0.0016),
    "claude-sonnet-4": ("anthropic", 0.006),
    "gemini-1.5-pro": ("google", 0.0035),
    "gemini-2.0-flash": ("google", 0.0004),
}


def price_for(model: str) -> Tuple[str, float]:
    """``(provider, usd_per_1k_tokens)``; unknown models are billed at a default rate."""
    if model in _PRICES:
        return _PRICES[model]
    for prefix, provider in (
        ("gpt", "openai"),
        ("o1", "openai"),
        ("o3", "openai"),
        ("claude", "anthropic"),
        ("gemini", "google"),
    ):
        if model.startswith(prefix):
            return provider, 0.002
    return "fabric", 0.002


_WORDS = [
    "signal",
    "insight",
    "momentum",
    "audience",
    "craft",
    "story",
    "angle",
    "hook",
    "trend",
    "pattern",
    "lens",
    "shift",
    "layer",
    "moment",
    "detail",
    "frame",
    "pulse",
    "spark",
    "draft",
    "thread",
    "voice",
    "rhythm",
    "contrast",
    "proof",
    "example",
    "takeaway",
    "question",
    "idea",
    "context",
    "nuance",
    "tension",
    "payoff",
    "clarity",
    "focus",
    "texture",
    "energy",
]


def _tokens(text: str) -> int:
    # Roughly 4 characters per token, never zero: enough to make usage scale with the prompt.
    return max(1, (len(text) + 3) // 4)


def ai_generate(prompt: str, model: str, *, max_tokens: Optional[int] = None) -> Dict[str, Any]:
    """Deterministic "model" output for a prompt: same prompt + model → same text and usage."""
    digest = hashlib.sha256(f"{model}\n{prompt}".encode()).digest()
    n_words = 12 + digest[0] % 20
    if max_tokens is not None:
        n_words = max(1, min(n_words, max_tokens))
    words = [_WORDS[(digest[i % len(digest)] + i * 7) % len(_WORDS)] for i in range(n_words)]
    subject = prompt.strip().splitlines()[0][:80] if prompt.strip() else "the brief"
    text = f"[{model}] On {subject}: " + " ".join(words) + "."
    provider, per_1k = price_for(model)
    input_units = _tokens(prompt)
    output_units = _tokens(text)
    cost = round((input_units + output_units) * per_1k / 1000.0, 6)
    return {
        "text": text,
        "model": model,
        "provider": provider,
        "usage": {"input_units": input_units, "output_units": output_units, "cost_usd": cost},
    }


# --- transform -------------------------------------------------------------------------------


def apply_transform(
    config: Mapping[str, Any], data: Mapping[str, Any], outputs: Mapping[str, Any]
) -> Dict[str, Any]:
    """Apply ``pick``, then ``rename``, then ``set``, then ``template`` (→ ``text``) to ``data``.

    ``data`` is the previous node's output (or the run context for a first node), so a chain of
    transforms reads naturally. With an empty config the node passes its input through.
    """
    result: Dict[str, Any] = dict(data)
    pick = config.get("pick")
    if pick:
        result = {k: result[k] for k in pick if k in result}
    for old, new in (config.get("rename") or {}).items():
        if old in result:
            result[str(new)] = result.pop(old)
    result.update(config.get("set") or {})
    template = config.get("template")
    if isinstance(template, str):
        result["text"] = render_template(template, data, outputs)
    return result
