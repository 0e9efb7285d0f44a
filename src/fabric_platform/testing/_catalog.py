"""The built-in workflows the local Fabric emulator ships (wire contract §3).

Each workflow declares pydantic v2 input/output types (and per-task types), from
which its JSON Schemas are derived once, at import. Running one is pure and
deterministic: the output, the artifacts' bytes and the cost depend only on the
input and the variant index. No HTTP, no database, and no URL in an input is ever
fetched: URLs only feed the hash that names the (fake) result.

The run engine owns everything else: timing, events, persistence, variants and
bundles (``bundle/ad-hoc`` has an entry here so that its schemas exist).
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Literal, Optional, Sequence, Tuple, Type

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._artifacts import ArtifactSpec, big_artifact, make_mp4, make_png

__all__ = [
    "BUILTINS",
    "ArtifactSpec",
    "BuiltinWorkflow",
    "WorkflowInputError",
    "WorkflowResult",
    "big_artifact",
    "get_builtin",
    "make_png",
    "schemas_document",
]

Kind = Optional[Literal["video", "carousel", "image", "text"]]
# Keys that steer the engine rather than the workflow: never part of what makes output.
_CONTROL_KEYS = frozenset({"variants", "bundle", "regenerate"})
DIRECTIONS = ("punchier", "deeper", "contrarian", "visual", "data-first", "surprise")


@dataclass(frozen=True)
class WorkflowResult:
    """What one run of a built-in produced."""

    output: Dict[str, Any]
    artifacts: List[ArtifactSpec]
    cost_usd: float
    units: int


class WorkflowInputError(ValueError):
    """The input does not satisfy the workflow's input schema.

    Attributes:
        errors: ``[{"path", "message"}]``, as :meth:`BuiltinWorkflow.validate` reports them.
    """

    def __init__(self, workflow: str, errors: List[Dict[str, str]]) -> None:
        self.errors = errors
        detail = "; ".join(f"{e['path'] or '(input)'}: {e['message']}" for e in errors[:5])
        super().__init__(f"invalid input for {workflow}: {detail}")


# --- pydantic types ----------------------------------------------------------------------
# Inputs allow extra fields: the seed says output-shaped fields replayed from an earlier
# run "survive validation as pass-through extras".


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Regenerate(_Open):
    """Marks a run as a variation of an earlier run/variant (lineage + prompt hints)."""

    direction: Optional[str] = Field(
        None,
        description="How to shift the result: " + ", ".join(DIRECTIONS) + ". Workflows opt in to honour it.",
        examples=list(DIRECTIONS),
    )
    keep: Optional[List[str]] = Field(None, description="Input fields the variation must keep.")
    extra_instructions: Optional[str] = None
    parent_run_id: Optional[str] = None
    parent_variant_index: Optional[int] = Field(None, ge=0)


class WorkflowInput(_Open):
    """Fields every built-in accepts besides its own."""

    regenerate: Optional[Regenerate] = None
    variants: Optional[int] = Field(None, ge=1, le=10, description="Fan out to N variants (1-10).")


# research/trends


class TrendsInput(WorkflowInput):
    topic: str = Field(..., min_length=1)
    depth: int = Field(3, ge=1, le=10, description="How many trends to return.")


class Signal(BaseModel):
    source: str
    phrase: str
    strength: float


class TrendSignals(BaseModel):
    topic: str
    signals: List[Signal]


class Trend(BaseModel):
    title: str
    score: float = Field(..., ge=0, le=1)


class TrendsOutput(BaseModel):
    topic: str
    trends: List[Trend]


# content/threads-post


class ThreadsPostInput(WorkflowInput):
    topic: str = Field(..., min_length=1)
    tone_of_voice: str = "conversational"
    platform: str = "threads"


class PostOutline(BaseModel):
    topic: str
    beats: List[str]


class ThreadsPostOutput(BaseModel):
    posts: List[str]


# image/generate


class ImageGenerateInput(WorkflowInput):
    topic: str = Field(..., min_length=1)
    hook: Optional[str] = None
    platform: str = "youtube"
    thumbnail_text: Optional[str] = None
    thumbnail_style: str = "bold"
    num_thumbnails: int = Field(1, ge=1, le=4)


class ThumbnailBrief(BaseModel):
    overlay_text: str
    visual_prompt: str
    num_thumbnails: int


class ImageGenerateOutput(BaseModel):
    overlay_text: str
    visual_prompt: str
    thumbnail_paths: List[str]


# image/generate-post


class CarouselInput(WorkflowInput):
    topic: str = Field(..., min_length=1)
    slides: int = Field(5, ge=1, le=20)


class Slide(BaseModel):
    index: int = Field(..., ge=1, description="1-based position in the carousel.")
    text: str


class CarouselOutline(BaseModel):
    topic: str
    beats: List[str]


class CarouselOutput(BaseModel):
    slides: List[Slide]


# video/ai_shorts


class ShortsInput(WorkflowInput):
    topic: str = Field(..., min_length=1)
    voice: str = "narrator"
    duration_seconds: int = Field(45, ge=5, le=180)
    style: str = "explainer"
    audience: str = "general"
    platforms: List[str] = Field(default_factory=lambda: ["youtube_shorts", "tiktok"])


class ShortsScript(BaseModel):
    title: str
    script: str
    tags: List[str]


class ShortsOutput(BaseModel):
    title: str
    script: str
    tags: List[str]
    video_asset_id: str


# video/face-swap

_ONE_TARGET = "exactly one of target_url and persona_gallery_id is required"


class FaceSwapInput(WorkflowInput):
    """Swap a face onto ``source_url``; the face comes from exactly one place."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            # A string-valued key counts as given; an explicit null does not (the SDK may
            # send the unused one as null).
            "allOf": [
                {
                    "description": _ONE_TARGET,
                    "oneOf": [
                        {"required": ["target_url"], "properties": {"target_url": {"type": "string"}}},
                        {
                            "required": ["persona_gallery_id"],
                            "properties": {"persona_gallery_id": {"type": "string"}},
                        },
                    ],
                }
            ]
        },
    )

    source_url: str = Field(..., min_length=1)
    target_url: Optional[str] = None
    persona_gallery_id: Optional[str] = None
    persona_index: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _one_target(self) -> FaceSwapInput:
        if (self.target_url is None) == (self.persona_gallery_id is None):
            raise ValueError(_ONE_TARGET)
        return self


class FaceSwapPlan(BaseModel):
    source_url: str
    face_reference: str


class FaceSwapOutput(BaseModel):
    face_swap_url: str


# video/motion-transfer


class MotionTransferInput(WorkflowInput):
    driving_video_url: str = Field(..., min_length=1)
    source_image_url: Optional[str] = None
    persona_gallery_id: Optional[str] = None
    persona_index: int = Field(0, ge=0)
    motion_model: Optional[str] = Field(None, description='e.g. "seedance/2.0" (full-body, premium)')
    prompt: Optional[str] = None


class MotionPlan(BaseModel):
    driving_video_url: str
    subject: str
    motion_model: str
    prompt: Optional[str] = None


class MotionTransferOutput(BaseModel):
    motion_transfer_url: str


# bundle/ad-hoc


class BundleEntry(_Open):
    workflow: str = Field(..., min_length=1)
    input: Dict[str, Any] = Field(default_factory=dict)


class BundleInput(_Open):
    bundle: List[BundleEntry] = Field(..., min_length=1, max_length=10)


# --- determinism -------------------------------------------------------------------------


class _Dice:
    """Deterministic choices from a workflow's input (stable across processes/versions)."""

    def __init__(self, *parts: str) -> None:
        self._base = "\x1f".join(parts)

    def number(self, label: str) -> int:
        digest = hashlib.sha256(f"{self._base}\x1e{label}".encode()).digest()
        return int.from_bytes(digest[:8], "big")

    def unit(self, label: str) -> float:
        return self.number(label) / 2.0**64

    def hex(self, label: str, length: int = 24) -> str:
        return hashlib.sha256(f"{self._base}\x1e{label}".encode()).hexdigest()[:length]

    def uuid(self, label: str) -> str:
        raw = hashlib.sha256(f"{self._base}\x1e{label}".encode()).digest()[:16]
        return str(uuid.UUID(bytes=raw, version=4))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _rotate(options: Sequence[str], dice: _Dice, label: str, variant_index: int, offset: int = 0) -> str:
    # Rotating by the variant index (instead of re-rolling) guarantees that variants
    # 0..len(options)-1 differ; every option list below has more than 10 entries.
    return options[(dice.number(label) + variant_index + offset) % len(options)]


_ANGLES = (
    "the hidden cost of",
    "a beginner's map to",
    "the contrarian case on",
    "what nobody tells you about",
    "the next two years of",
    "five myths about",
    "the data behind",
    "a field guide to",
    "the quiet revolution in",
    "lessons from failing at",
    "the economics of",
    "a practical playbook for",
)
_QUALIFIERS = (
    "Rising",
    "Emerging",
    "Contested",
    "Accelerating",
    "Underrated",
    "Consolidating",
    "Cooling",
    "Surging",
    "Fragmenting",
    "Maturing",
    "Overhyped",
    "Quietly growing",
)
_SUBJECTS = (
    "tooling",
    "regulation",
    "open-source projects",
    "pricing models",
    "hiring",
    "infrastructure",
    "consumer apps",
    "automation",
    "benchmarks",
    "partnerships",
    "security practices",
    "education",
)
_BEATS = (
    "Start with the problem everyone feels but nobody names.",
    "Here is the number that changed my mind.",
    "The common advice gets one thing backwards.",
    "A small experiment you can run this week.",
    "What the early adopters are doing differently.",
    "The trade-off that decides most outcomes.",
    "Where the hype and the reality part ways.",
    "One tool, one habit, one metric.",
    "The mistake that cost the most time.",
    "What to ignore entirely.",
    "How to tell if it is working.",
    "The question to ask before you start.",
)
_COMPOSITIONS = (
    "rule-of-thirds portrait",
    "centered hero object",
    "split-screen before/after",
    "extreme close-up",
    "wide establishing shot",
    "top-down flat lay",
    "diagonal dynamic layout",
    "reaction face on the left",
    "minimal negative space",
    "collage of three panels",
    "silhouette against bright sky",
    "isometric illustration",
)
_PALETTES = (
    "teal and orange",
    "black and neon yellow",
    "pastel pink and navy",
    "red and white",
    "forest green and cream",
    "electric blue and magenta",
    "monochrome with one red accent",
    "sunset gradient",
    "charcoal and gold",
    "mint and coral",
    "purple and lime",
    "sand and terracotta",
)
_TAGS = (
    "NOW",
    "IN 60 SECONDS",
    "EXPLAINED",
    "UNFILTERED",
    "THE TRUTH",
    "RANKED",
    "DECODED",
    "REVEALED",
    "TESTED",
    "MAPPED",
    "SIMPLIFIED",
    "FOR REAL",
)
# direction -> (overlay text template, visual prompt lead). Every template includes a
# part that rotates with the variant index ({tag} or {angle}), so variants still differ.
_DIRECTION_STYLE = {
    "punchier": ("{short}! {tag}", "tight crop, high contrast, one bold focal point, heavy sans-serif"),
    "deeper": (
        "Why {core} really matters: {angle}",
        "layered documentary composition, rich background detail",
    ),
    "contrarian": (
        "{core}? Think again: {angle}",
        "flipped perspective, opposing visual metaphor, split red/blue",
    ),
    "visual": ("{short} · {tag}", "image-led, almost no text, cinematic wide shot, strong colour story"),
    "data-first": ("{core} by the numbers: {angle}", "big number call-out, clean chart overlay, grid layout"),
    "surprise": (
        "{core}, but not how you think ({tag})",
        "unexpected juxtaposition, playful surreal element",
    ),
}
_TONE_OPENERS = {
    "conversational": "Let's talk about",
    "professional": "A brief analysis of",
    "witty": "Hot take, lightly toasted:",
    "inspirational": "Imagine what changes with",
    "educational": "A quick lesson on",
}


def _title(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- the workflows' behaviour -------------------------------------------------------------


def _research_trends(m: TrendsInput, dice: _Dice, v: int) -> WorkflowResult:
    trends = []
    for i in range(m.depth):
        qualifier = _rotate(_QUALIFIERS, dice, "qualifier", v, i)
        subject = _SUBJECTS[(dice.number("subject") + i) % len(_SUBJECTS)]
        score = round(max(0.0, 0.97 - 0.08 * i - 0.04 * dice.unit(f"score{v}.{i}")), 3)
        trends.append({"title": f"{qualifier} {subject} in {m.topic}", "score": score})
    return WorkflowResult(
        output={"topic": m.topic, "trends": trends},
        artifacts=[],
        cost_usd=round(0.002 + 0.0015 * m.depth, 6),
        units=500 * m.depth,
    )


def _threads_post(m: ThreadsPostInput, dice: _Dice, v: int) -> WorkflowResult:
    count = 3 + dice.number("count") % 3
    opener = _TONE_OPENERS.get(m.tone_of_voice.lower(), f"In a {m.tone_of_voice} voice:")
    posts = [f"{opener} {_rotate(_ANGLES, dice, 'angle', v)} {m.topic}. A thread for {m.platform}:"]
    for i in range(1, count - 1):
        posts.append(f"{i}/ {_rotate(_BEATS, dice, 'beat', v, i)}")
    posts.append(f"{count - 1}/ That's the thread on {m.topic}. Which point would you push back on?")
    return WorkflowResult(
        output={"posts": posts},
        artifacts=[],
        cost_usd=round(0.002 + 0.001 * count, 6),
        units=120 * count,
    )


def _overlay_and_prompt(m: ImageGenerateInput, dice: _Dice, v: int) -> Tuple[str, str]:
    core = m.thumbnail_text or m.hook or m.topic
    short = " ".join(core.split()[:3]).upper()
    angle = f"{_rotate(_ANGLES, dice, 'angle', v)} {m.topic}"
    tag = _rotate(_TAGS, dice, "tag", v)
    composition = _rotate(_COMPOSITIONS, dice, "composition", v)
    palette = _PALETTES[dice.number("palette") % len(_PALETTES)]
    overlay = f"{core}: {angle}" if core != m.topic else _title(angle)
    scene = f"{m.thumbnail_style} {m.platform} thumbnail about {m.topic}, {composition}, {palette}"
    if m.hook:
        scene += f", hook: {m.hook}"
    directive = m.regenerate
    direction = (directive.direction or "").strip().lower() if directive is not None else ""
    if direction:
        # The seed: "punchier" yields a tighter hook and sharper composition, etc.
        text, lead = _DIRECTION_STYLE.get(
            direction, ("{core} ({direction}): {angle}", f"re-imagined in a {direction} direction")
        )
        overlay = text.format(core=core, short=short, tag=tag, angle=angle, direction=direction)
        scene = f"{lead}; {scene}"
    if directive is not None and directive.extra_instructions:
        scene += f". Extra instructions: {directive.extra_instructions}"
    return overlay, scene


def _image_generate(m: ImageGenerateInput, dice: _Dice, v: int) -> WorkflowResult:
    overlay, prompt = _overlay_and_prompt(m, dice, v)
    artifacts = [
        ArtifactSpec(
            filename=f"thumbnail_{i + 1}.png",
            content_type="image/png",
            size_bytes=len(png),
            artifact_type="image",
            task_id="render_thumbnails",
            content=png,
        )
        for i, png in enumerate(
            make_png(128, 72, seed=f"{dice.hex('thumb')}:{v}:{i}:{overlay}") for i in range(m.num_thumbnails)
        )
    ]
    return WorkflowResult(
        output={
            "overlay_text": overlay,
            "visual_prompt": prompt,
            "thumbnail_paths": [a.filename for a in artifacts],
        },
        artifacts=artifacts,
        cost_usd=round(0.003 + 0.04 * m.num_thumbnails, 6),
        units=m.num_thumbnails,
    )


def _carousel(m: CarouselInput, dice: _Dice, v: int) -> WorkflowResult:
    texts = [f"{_title(_rotate(_ANGLES, dice, 'angle', v))} {m.topic}"]
    texts += [_rotate(_BEATS, dice, "beat", v, i) for i in range(1, m.slides - 1)]
    if m.slides > 1:
        texts.append(f"Save this for later and share it with someone working on {m.topic}.")
    slides = [{"index": i + 1, "text": text} for i, text in enumerate(texts)]
    artifacts = []
    for slide in slides:
        png = make_png(108, 135, seed=f"{dice.hex('slide')}:{v}:{slide['index']}:{slide['text']}")
        artifacts.append(
            ArtifactSpec(
                filename=f"slide_{slide['index']:02d}.png",
                content_type="image/png",
                size_bytes=len(png),
                artifact_type="image",
                task_id="render_slides",
                content=png,
            )
        )
    return WorkflowResult(
        output={"slides": slides},
        artifacts=artifacts,
        cost_usd=round(0.002 + 0.02 * m.slides, 6),
        units=m.slides,
    )


def _ai_shorts(m: ShortsInput, dice: _Dice, v: int) -> WorkflowResult:
    angle = _rotate(_ANGLES, dice, "angle", v)
    title = f"{_title(angle)} {m.topic}"
    beats = [_rotate(_BEATS, dice, "beat", v, i) for i in range(3)]
    script = "\n".join(
        [
            f"[{m.voice}, {m.style}, for a {m.audience} audience, ~{m.duration_seconds}s]",
            f"HOOK: {title}.",
            *beats,
            f"OUTRO: Follow for more on {m.topic}.",
        ]
    )
    words = [w.strip(".,!?").lower() for w in m.topic.split()]
    tags = [*[w for w in dict.fromkeys(words) if w][:5], m.style.lower(), *(p.lower() for p in m.platforms)]
    video = make_mp4(seed=f"{dice.hex('video')}:{v}:{title}", payload_bytes=256 * m.duration_seconds)
    artifact = ArtifactSpec(
        filename="short.mp4",
        content_type="video/mp4",
        size_bytes=len(video),
        artifact_type="video",
        task_id="render_video",
        content=video,
    )
    return WorkflowResult(
        output={
            "title": title,
            "script": script,
            "tags": list(dict.fromkeys(tags)),
            # Deterministic; the engine may swap in the id of the asset it stores.
            "video_asset_id": dice.uuid(f"video{v}"),
        },
        artifacts=[artifact],
        cost_usd=round(0.01 + 0.015 * m.duration_seconds, 6),
        units=m.duration_seconds,
    )


def _face_swap(m: FaceSwapInput, dice: _Dice, v: int) -> WorkflowResult:
    name = dice.hex(f"swap{v}")
    png = make_png(96, 96, seed=f"face-swap:{name}")
    return WorkflowResult(
        # An opaque URL: nothing is ever fetched from the inputs' URLs, nor served here.
        output={"face_swap_url": f"https://cdn.fabric.local/face-swap/{name}.png"},
        artifacts=[
            ArtifactSpec(
                filename="face_swap.png",
                content_type="image/png",
                size_bytes=len(png),
                artifact_type="image",
                task_id="swap_face",
                content=png,
            )
        ],
        cost_usd=0.05,
        units=1,
    )


_DEFAULT_MOTION_MODEL = "fabric/motion-1"
_MOTION_SECONDS = 8
_MOTION_RATE = {_DEFAULT_MOTION_MODEL: 0.05, "seedance/2.0": 0.15}  # USD per output second


def _motion_transfer(m: MotionTransferInput, dice: _Dice, v: int) -> WorkflowResult:
    model = m.motion_model or _DEFAULT_MOTION_MODEL
    name = dice.hex(f"motion{v}")
    video = make_mp4(seed=f"motion:{name}", payload_bytes=512 * _MOTION_SECONDS)
    rate = _MOTION_RATE.get(model, _MOTION_RATE[_DEFAULT_MOTION_MODEL])
    return WorkflowResult(
        output={"motion_transfer_url": f"https://cdn.fabric.local/motion-transfer/{name}.mp4"},
        artifacts=[
            ArtifactSpec(
                filename="motion_transfer.mp4",
                content_type="video/mp4",
                size_bytes=len(video),
                artifact_type="video",
                task_id="transfer_motion",
                content=video,
            )
        ],
        cost_usd=round(rate * _MOTION_SECONDS, 6),
        units=_MOTION_SECONDS,
    )


def _untyped(data: Dict[str, Any], dice: _Dice, v: int) -> WorkflowResult:
    echo = {k: copy.deepcopy(val) for k, val in data.items() if k not in _CONTROL_KEYS}
    return WorkflowResult(output=echo, artifacts=[], cost_usd=0.0, units=0)


def _bundle(m: BundleInput, dice: _Dice, v: int) -> WorkflowResult:
    # The engine runs bundles itself (one output entry per member); this is the same
    # computation, pure, for callers that want it without an engine.
    outputs: List[Dict[str, Any]] = []
    artifacts: List[ArtifactSpec] = []
    cost, units = 0.0, 0
    for i, entry in enumerate(m.bundle):
        member = BUILTINS.get(entry.workflow)
        if member is None or member.name == BUNDLE:
            raise WorkflowInputError(
                BUNDLE, [{"path": f"bundle.{i}.workflow", "message": f"unknown workflow {entry.workflow!r}"}]
            )
        result = member.run(entry.input, variant_index=i)
        outputs.append({"workflow_name": member.name, "kind": member.kind, "output": result.output})
        artifacts.extend(result.artifacts)
        cost += result.cost_usd
        units += result.units
    return WorkflowResult(
        output={"outputs": outputs}, artifacts=artifacts, cost_usd=round(cost, 6), units=units
    )


# --- the catalogue -----------------------------------------------------------------------

ModelType = Optional[Type[BaseModel]]
Task = Tuple[str, ModelType, ModelType]
Runner = Callable[[Any, _Dice, int], WorkflowResult]


def _schema_of(model: ModelType) -> Optional[Dict[str, Any]]:
    return None if model is None else _nullable_as_type_list(model.model_json_schema())


def _nullable_as_type_list(node: Any) -> Any:
    """Rewrite pydantic's ``anyOf: [{type: X}, {type: null}]`` as ``type: [X, "null"]``.

    Same meaning; but a validator then reports "42 is not of type 'string', 'null'"
    instead of "42 is not valid under any of the given schemas".
    """
    if isinstance(node, list):
        return [_nullable_as_type_list(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable_as_type_list(value) for key, value in node.items()}
    branches = out.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
        other = branches[0] if branches[1] == {"type": "null"} else branches[1]
        if isinstance(other, dict) and isinstance(other.get("type"), str) and "type" not in out:
            del out["anyOf"]
            out.update(other)
            out["type"] = [other["type"], "null"]
    return out


def _leaf_errors(error: jsonschema.ValidationError) -> List[jsonschema.ValidationError]:
    """Replace an ``anyOf [X, null]`` failure with the failures inside X.

    "-1 is less than the minimum of 0" at ``regenerate.parent_variant_index`` says more
    than "{...} is not valid under any of the given schemas" at ``regenerate``.
    """
    if error.validator == "anyOf" and error.context:
        inner = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        if inner and len(inner) < len(error.context):
            return [leaf for e in inner for leaf in _leaf_errors(e)]
    return [error]


def _error_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        # Point at the missing property itself ("topic"), not at its parent object.
        missing = [p for p in error.validator_value if p not in error.instance]
        if missing:
            parts.append(str(missing[0]))
    return ".".join(parts)


def _error_message(error: jsonschema.ValidationError) -> str:
    # jsonschema's oneOf message repeats the whole instance; the subschema that declares
    # the rule carries a description (see FaceSwapInput) that says it better.
    if error.validator == "oneOf" and isinstance(error.schema, dict):
        description = error.schema.get("description")
        if isinstance(description, str) and description:
            return description
    return str(error.message)


class BuiltinWorkflow:
    """One built-in workflow: metadata, types, schemas and a deterministic runner."""

    def __init__(
        self,
        *,
        name: str,
        kind: Kind,
        description: str,
        category: str,
        tags: Sequence[str],
        estimated_duration_seconds: float,
        example_input: Dict[str, Any],
        input_model: ModelType,
        output_model: ModelType,
        tasks: Sequence[Task],
        runner: Runner,
        warnings: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.kind = kind
        self.description = description
        self.category = category
        self._tags = tuple(tags)
        self.estimated_duration_seconds = estimated_duration_seconds
        self._example_input = copy.deepcopy(example_input)
        self.input_model = input_model
        self.output_model = output_model
        self.tasks: List[Task] = list(tasks)
        self._runner = runner
        # Derived once, at import: the engine asks for them on every request.
        self._input_schema = _schema_of(input_model)
        self._output_schema = _schema_of(output_model)
        self._task_schemas = [
            {"task": task, "input_schema": _schema_of(tin), "output_schema": _schema_of(tout)}
            for task, tin, tout in self.tasks
            if not task.startswith("_")  # shim tasks are plumbing, not part of the contract
        ]
        self._warnings = list(warnings) + self._coverage_warnings()
        self._validator = (
            None if self._input_schema is None else jsonschema.Draft202012Validator(self._input_schema)
        )

    @property
    def tags(self) -> List[str]:
        return list(self._tags)

    @property
    def example_input(self) -> Dict[str, Any]:
        return copy.deepcopy(self._example_input)

    def __repr__(self) -> str:
        return f"BuiltinWorkflow({self.name!r}, kind={self.kind!r})"

    def _coverage_warnings(self) -> List[str]:
        if self.input_model is None and self.output_model is None:
            return [f"{self.name} declares no pydantic types: its schemas are null and validation is skipped"]
        missing = []
        for entry in self._task_schemas:
            for side in ("input", "output"):
                if entry[f"{side}_schema"] is None:
                    missing.append(f"task {entry['task']!r} has no {side} type")
        return missing

    def input_schema(self) -> Optional[Dict[str, Any]]:
        """The JSON Schema of the workflow input (None when untyped)."""
        return copy.deepcopy(self._input_schema)

    def output_schema(self) -> Optional[Dict[str, Any]]:
        """The JSON Schema of the workflow output (None when untyped)."""
        return copy.deepcopy(self._output_schema)

    def task_schemas(self) -> List[Dict[str, Any]]:
        """``[{task, input_schema, output_schema}]`` per task, shim tasks excluded."""
        return copy.deepcopy(self._task_schemas)

    def warnings(self) -> List[str]:
        """Type-coverage warnings (untyped workflow, tasks without types)."""
        return list(self._warnings)

    def validate(self, input: Any) -> List[Dict[str, str]]:
        """Check ``input`` against the input schema (JSON Schema Draft 2020-12).

        Args:
            input: The submitted input.

        Returns:
            ``[{"path": "topic", "message": "42 is not of type 'string'"}, ...]`` in path
            order; ``path`` joins the location with "." ("" for the root). Always ``[]``
            for an untyped workflow.
        """
        if self._validator is None:
            return []
        errors = sorted(
            (leaf for e in self._validator.iter_errors(input) for leaf in _leaf_errors(e)),
            key=lambda e: ([str(p) for p in e.absolute_path], str(e.message)),
        )
        return [{"path": _error_path(e), "message": _error_message(e)} for e in errors]

    def run(self, input: Dict[str, Any], *, variant_index: int = 0) -> WorkflowResult:
        """Compute the workflow's result; pure and deterministic.

        Args:
            input: The workflow input (``regenerate`` and ``variants`` keys allowed).
            variant_index: Which variant this is; different variants give different texts.

        Returns:
            The output, the artifact specs, the cost in USD and the metered units.

        Raises:
            WorkflowInputError: ``input`` does not satisfy the input schema.
        """
        if not isinstance(input, dict):
            raise WorkflowInputError(self.name, [{"path": "", "message": "the input must be an object"}])
        errors = self.validate(input)
        if errors:
            raise WorkflowInputError(self.name, errors)
        if self.input_model is None:
            return self._runner(input, _Dice(self.name, _canonical(input)), variant_index)
        model = self.input_model.model_validate(input)
        # Only declared fields make the output: pass-through extras and lineage do not.
        declared = set(type(model).model_fields) - _CONTROL_KEYS
        basis = model.model_dump(mode="json", include=declared)
        return self._runner(model, _Dice(self.name, _canonical(basis)), variant_index)


BUNDLE = "bundle/ad-hoc"

_WORKFLOWS = [
    BuiltinWorkflow(
        name="research/trends",
        kind="text",
        description="Find what is trending around a topic, ranked by momentum.",
        category="research",
        tags=["research", "trends", "text"],
        estimated_duration_seconds=20,
        example_input={"topic": "AI agents", "depth": 3},
        input_model=TrendsInput,
        output_model=TrendsOutput,
        tasks=[
            ("_prepare_input", None, None),
            ("collect_signals", TrendsInput, TrendSignals),
            ("rank_trends", TrendSignals, TrendsOutput),
        ],
        runner=_research_trends,
    ),
    BuiltinWorkflow(
        name="content/threads-post",
        kind="text",
        description="Write a short social thread about a topic in a given tone.",
        category="content",
        tags=["content", "social", "text"],
        estimated_duration_seconds=15,
        example_input={"topic": "AI agents", "tone_of_voice": "conversational", "platform": "threads"},
        input_model=ThreadsPostInput,
        output_model=ThreadsPostOutput,
        tasks=[
            ("_prepare_input", None, None),
            ("outline_thread", ThreadsPostInput, PostOutline),
            ("write_posts", PostOutline, ThreadsPostOutput),
        ],
        runner=_threads_post,
    ),
    BuiltinWorkflow(
        name="image/generate",
        kind="image",
        description="Distil overlay text and a visual prompt, then render thumbnails (honours regenerate.direction).",
        category="image",
        tags=["image", "thumbnail", "regenerate"],
        estimated_duration_seconds=40,
        example_input={
            "topic": "AI agents",
            "hook": "Stop scrolling",
            "platform": "youtube",
            "num_thumbnails": 1,
        },
        input_model=ImageGenerateInput,
        output_model=ImageGenerateOutput,
        tasks=[
            ("_prepare_input", None, None),
            ("distill_overlay_text", ImageGenerateInput, ThumbnailBrief),
            ("render_thumbnails", ThumbnailBrief, ImageGenerateOutput),
        ],
        runner=_image_generate,
    ),
    BuiltinWorkflow(
        name="image/generate-post",
        kind="carousel",
        description="Outline and render a carousel post, one image per slide.",
        category="image",
        tags=["image", "carousel", "social"],
        estimated_duration_seconds=60,
        example_input={"topic": "AI agents", "slides": 5},
        input_model=CarouselInput,
        output_model=CarouselOutput,
        tasks=[
            ("_prepare_input", None, None),
            ("outline_slides", CarouselInput, CarouselOutline),
            ("render_slides", CarouselOutline, CarouselOutput),
        ],
        runner=_carousel,
    ),
    BuiltinWorkflow(
        name="video/ai_shorts",
        kind="video",
        description="Script, voice and render a vertical short video about a topic.",
        category="video",
        tags=["video", "shorts", "script"],
        estimated_duration_seconds=120,
        example_input={"topic": "AI agents", "duration_seconds": 45, "platforms": ["youtube_shorts"]},
        input_model=ShortsInput,
        output_model=ShortsOutput,
        tasks=[
            ("_prepare_input", None, None),
            ("write_script", ShortsInput, ShortsScript),
            ("render_video", ShortsScript, ShortsOutput),
        ],
        runner=_ai_shorts,
    ),
    BuiltinWorkflow(
        name="video/face-swap",
        kind="image",
        description="Swap a persona's face (from a URL or an org gallery) onto a source image.",
        category="video",
        tags=["video", "persona", "face-swap"],
        estimated_duration_seconds=30,
        example_input={
            "source_url": "https://example.com/dance-still.jpg",
            "target_url": "https://example.com/persona-face.png",
        },
        input_model=FaceSwapInput,
        output_model=FaceSwapOutput,
        tasks=[
            ("_prepare_input", None, None),
            ("resolve_face", FaceSwapInput, FaceSwapPlan),
            ("swap_face", FaceSwapPlan, FaceSwapOutput),
        ],
        runner=_face_swap,
    ),
    BuiltinWorkflow(
        name="video/motion-transfer",
        kind="video",
        description="Animate a persona with the motion of a reference video (seedance/2.0 for full body).",
        category="video",
        tags=["video", "persona", "motion"],
        estimated_duration_seconds=90,
        example_input={
            "driving_video_url": "https://example.com/dance-reference.mp4",
            "source_image_url": "https://example.com/persona.png",
        },
        input_model=MotionTransferInput,
        output_model=MotionTransferOutput,
        tasks=[
            ("_prepare_input", None, None),
            ("plan_motion", MotionTransferInput, MotionPlan),
            ("transfer_motion", MotionPlan, MotionTransferOutput),
        ],
        runner=_motion_transfer,
    ),
    BuiltinWorkflow(
        name=BUNDLE,
        kind=None,
        description="Run N different workflows in parallel from one submission.",
        category="bundle",
        tags=["bundle"],
        estimated_duration_seconds=60,
        example_input={"bundle": [{"workflow": "research/trends", "input": {"topic": "AI agents"}}]},
        input_model=BundleInput,
        output_model=None,
        tasks=[("_expand_bundle", None, None), ("fan_out", BundleInput, None)],
        runner=_bundle,
        warnings=["bundle/ad-hoc has no single output type: each entry has its own workflow's output"],
    ),
    BuiltinWorkflow(
        name="some/untyped-workflow",
        kind=None,
        description="An untyped workflow: accepts anything and echoes it back.",
        category="examples",
        tags=["example", "untyped"],
        estimated_duration_seconds=5,
        example_input={"anything": "goes"},
        input_model=None,
        output_model=None,
        tasks=[("echo", None, None)],
        runner=_untyped,
    ),
]

BUILTINS: Dict[str, BuiltinWorkflow] = {wf.name: wf for wf in _WORKFLOWS}


def get_builtin(name: str) -> Optional[BuiltinWorkflow]:
    """The built-in workflow called ``name``, or None."""
    return BUILTINS.get(name)


def schemas_document(name: str) -> Optional[Dict[str, Any]]:
    """The ``GET /v1/workflow-schemas/{name}`` payload of a built-in, or None if unknown.

    Args:
        name: A workflow name such as ``research/trends``.

    Returns:
        ``{workflow_name, input_schema, output_schema, task_schemas, warnings}``; all
        schemas are None for an untyped workflow.
    """
    wf = BUILTINS.get(name)
    if wf is None:
        return None
    return {
        "workflow_name": wf.name,
        "input_schema": wf.input_schema(),
        "output_schema": wf.output_schema(),
        "task_schemas": wf.task_schemas(),
        "warnings": wf.warnings(),
    }
