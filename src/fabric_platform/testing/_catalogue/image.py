"""The image built-ins: ``image/generate`` (thumbnails) and ``image/generate-post`` (carousels).

Each renders real PNGs (see ``artifacts.make_png``), one artifact per image. Only
``image/generate`` honours ``regenerate.direction`` and ``regenerate.extra_instructions``.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from pydantic import BaseModel, Field

from .artifacts import make_png
from .phrases import ANGLES, BEATS, rotate, upper_first
from .workflow import Dice, WorkflowInput, WorkflowResult, inline_artifact, typed_workflow

__all__ = ["WORKFLOWS"]

# --- types (a model's docstring is published as its schema's description) ----------------


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


# --- phrase banks ------------------------------------------------------------------------

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

# --- the workflows -----------------------------------------------------------------------


def _overlay_and_prompt(m: ImageGenerateInput, dice: Dice, v: int) -> Tuple[str, str]:
    core = m.thumbnail_text or m.hook or m.topic
    short = " ".join(core.split()[:3]).upper()
    angle = f"{rotate(ANGLES, dice, 'angle', v)} {m.topic}"
    tag = rotate(_TAGS, dice, "tag", v)
    composition = rotate(_COMPOSITIONS, dice, "composition", v)
    palette = _PALETTES[dice.number("palette") % len(_PALETTES)]
    overlay = f"{core}: {angle}" if core != m.topic else upper_first(angle)
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


@typed_workflow(
    "image/generate",
    kind="image",
    tags=["image", "thumbnail", "regenerate"],
    estimated_duration_seconds=40,
    example_input={
        "topic": "AI agents",
        "hook": "Stop scrolling",
        "platform": "youtube",
        "num_thumbnails": 1,
    },
    chain=(
        ImageGenerateInput,
        "distill_overlay_text",
        ThumbnailBrief,
        "render_thumbnails",
        ImageGenerateOutput,
    ),
)
def image_generate(m: ImageGenerateInput, dice: Dice, v: int) -> WorkflowResult:
    """Distil overlay text and a visual prompt, then render thumbnails (honours regenerate.direction)."""
    overlay, prompt = _overlay_and_prompt(m, dice, v)
    artifacts = [
        inline_artifact(
            f"thumbnail_{i + 1}.png",
            make_png(128, 72, seed=f"{dice.hex('thumb')}:{v}:{i}:{overlay}"),
            task_id="render_thumbnails",
        )
        for i in range(m.num_thumbnails)
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


@typed_workflow(
    "image/generate-post",
    kind="carousel",
    tags=["image", "carousel", "social"],
    estimated_duration_seconds=60,
    example_input={"topic": "AI agents", "slides": 5},
    chain=(CarouselInput, "outline_slides", CarouselOutline, "render_slides", CarouselOutput),
)
def carousel(m: CarouselInput, dice: Dice, v: int) -> WorkflowResult:
    """Outline and render a carousel post, one image per slide."""
    texts = [f"{upper_first(rotate(ANGLES, dice, 'angle', v))} {m.topic}"]
    texts += [rotate(BEATS, dice, "beat", v, i) for i in range(1, m.slides - 1)]
    if m.slides > 1:
        texts.append(f"Save this for later and share it with someone working on {m.topic}.")
    slides = [{"index": i + 1, "text": text} for i, text in enumerate(texts)]
    artifacts = [
        inline_artifact(
            f"slide_{slide['index']:02d}.png",
            make_png(108, 135, seed=f"{dice.hex('slide')}:{v}:{slide['index']}:{slide['text']}"),
            task_id="render_slides",
        )
        for slide in slides
    ]
    return WorkflowResult(
        output={"slides": slides},
        artifacts=artifacts,
        cost_usd=round(0.002 + 0.02 * m.slides, 6),
        units=m.slides,
    )


WORKFLOWS = [image_generate, carousel]
