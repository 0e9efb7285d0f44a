"""Pure parts of the run engine: definition validation, templates, deterministic generation."""

from __future__ import annotations

import pytest

from fabric_platform.testing._engine.nodes import (
    NODE_TYPES,
    ai_generate,
    apply_transform,
    node_catalogue,
    normalize_nodes,
    price_for,
    render_template,
)


def test_normalize_fills_keys_and_config():
    nodes, errors = normalize_nodes(
        [{"type": "ai_generate"}, {"key": "gate", "type": "approval", "config": None}]
    )
    assert errors == []
    assert [n["key"] for n in nodes] == ["ai_generate_1", "gate"]
    assert nodes[1]["config"] == {}


@pytest.mark.parametrize(
    ("nodes", "path"),
    [
        ("nope", "nodes"),
        ([{"type": "teleport"}], "nodes.0.type"),
        ([{"type": "delay", "config": {"seconds": -1}}], "nodes.0.config.seconds"),
        ([{"type": "delay", "config": {"seconds": True}}], "nodes.0.config.seconds"),
        ([{"type": "subworkflow", "config": {}}], "nodes.0.config.workflow"),
        ([{"type": "fail", "config": {"message": 3}}], "nodes.0.config.message"),
        ([{"key": "a", "type": "fail"}, {"key": "a", "type": "fail"}], "nodes.1.key"),
        ([{"key": "a/b", "type": "fail"}], "nodes.0.key"),
        ([{"type": "transform", "config": {"pick": "x"}}], "nodes.0.config.pick"),
        ([3], "nodes.0"),
    ],
)
def test_normalize_reports_paths(nodes, path):
    _, errors = normalize_nodes(nodes)
    assert path in [e["path"] for e in errors]


def test_catalogue_covers_every_type():
    catalogue = node_catalogue()
    assert {n["id"] for n in catalogue} == set(NODE_TYPES)
    assert all(n["id"] == n["type"] and isinstance(n["config_schema"], dict) for n in catalogue)
    assert {"ai_generate", "transform", "delay", "approval", "wait_for_input", "fail", "subworkflow"} <= set(
        NODE_TYPES
    )


def test_render_template_prefers_node_outputs_and_keeps_unknown():
    text = render_template(
        "{topic} / {step.text} / {missing} / {n}", {"topic": "AI", "n": 3}, {"step": {"text": "hi"}}
    )
    assert text == "AI / hi / {missing} / 3"


def test_ai_generate_is_deterministic_and_priced_by_model():
    a = ai_generate("Write about AI", "gpt-4o")
    assert a == ai_generate("Write about AI", "gpt-4o")
    assert a["text"] != ai_generate("Write about cats", "gpt-4o")["text"]
    assert a["usage"]["cost_usd"] > 0
    for model in ("gpt-4o", "gpt-4o-mini"):
        usage = ai_generate("Write about AI", model)["usage"]
        units = usage["input_units"] + usage["output_units"]
        assert usage["cost_usd"] == round(units * price_for(model)[1] / 1000, 6)
    assert price_for("gpt-4o-mini")[1] < price_for("gpt-4o")[1]
    assert a["provider"] == "openai" and price_for("claude-3-5-haiku")[0] == "anthropic"
    assert price_for("something-new") == ("fabric", 0.002)
    short = ai_generate("Write about AI", "gpt-4o", max_tokens=3)
    assert len(short["text"].split(": ", 1)[1].split()) == 3


def test_transform_pick_rename_set_template():
    out = apply_transform(
        {"pick": ["a", "b"], "rename": {"a": "x"}, "set": {"c": 1}, "template": "{a}-{b}"},
        {"a": 1, "b": 2, "z": 9},
        {},
    )
    assert out == {"x": 1, "b": 2, "c": 1, "text": "1-2"}
    assert apply_transform({}, {"k": "v"}, {}) == {"k": "v"}
