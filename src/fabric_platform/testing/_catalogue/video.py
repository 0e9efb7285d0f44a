"""The video built-ins: ``video/ai_shorts``, ``video/face-swap`` and ``video/motion-transfer``.

Each renders one real artifact (MP4, or PNG for a face swap). No URL in an input is ever
fetched: URLs only feed the hash that names the (fake, opaque) result URL.
"""

from __future__ import annotations

from typing import List, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .artifacts import make_mp4, make_png
from .phrases import ANGLES, BEATS, rotate, upper_first
from .workflow import Dice, WorkflowInput, WorkflowResult, inline_artifact, typed_workflow

__all__ = ["WORKFLOWS"]

# --- types (a model's docstring is published as its schema's description) ----------------


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


# --- the workflows -----------------------------------------------------------------------


@typed_workflow(
    "video/ai_shorts",
    kind="video",
    tags=["video", "shorts", "script"],
    estimated_duration_seconds=120,
    example_input={"topic": "AI agents", "duration_seconds": 45, "platforms": ["youtube_shorts"]},
    chain=(ShortsInput, "write_script", ShortsScript, "render_video", ShortsOutput),
)
def ai_shorts(m: ShortsInput, dice: Dice, v: int) -> WorkflowResult:
    """Script, voice and render a vertical short video about a topic."""
    angle = rotate(ANGLES, dice, "angle", v)
    title = f"{upper_first(angle)} {m.topic}"
    beats = [rotate(BEATS, dice, "beat", v, i) for i in range(3)]
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
    return WorkflowResult(
        output={
            "title": title,
            "script": script,
            "tags": list(dict.fromkeys(tags)),
            # Deterministic; the engine may swap in the id of the asset it stores.
            "video_asset_id": dice.uuid(f"video{v}"),
        },
        artifacts=[inline_artifact("short.mp4", video, task_id="render_video")],
        cost_usd=round(0.01 + 0.015 * m.duration_seconds, 6),
        units=m.duration_seconds,
    )


@typed_workflow(
    "video/face-swap",
    kind="image",
    tags=["video", "persona", "face-swap"],
    estimated_duration_seconds=30,
    example_input={
        "source_url": "https://example.com/dance-still.jpg",
        "target_url": "https://example.com/persona-face.png",
    },
    chain=(FaceSwapInput, "resolve_face", FaceSwapPlan, "swap_face", FaceSwapOutput),
)
def face_swap(m: FaceSwapInput, dice: Dice, v: int) -> WorkflowResult:
    """Swap a persona's face (from a URL or an org gallery) onto a source image."""
    name = dice.hex(f"swap{v}")
    png = make_png(96, 96, seed=f"face-swap:{name}")
    return WorkflowResult(
        # An opaque URL: nothing is ever fetched from the inputs' URLs, nor served here.
        output={"face_swap_url": f"https://cdn.fabric.local/face-swap/{name}.png"},
        artifacts=[inline_artifact("face_swap.png", png, task_id="swap_face")],
        cost_usd=0.05,
        units=1,
    )


_DEFAULT_MOTION_MODEL = "fabric/motion-1"
_MOTION_SECONDS = 8
_MOTION_RATE = {_DEFAULT_MOTION_MODEL: 0.05, "seedance/2.0": 0.15}  # USD per output second


@typed_workflow(
    "video/motion-transfer",
    kind="video",
    tags=["video", "persona", "motion"],
    estimated_duration_seconds=90,
    example_input={
        "driving_video_url": "https://example.com/dance-reference.mp4",
        "source_image_url": "https://example.com/persona.png",
    },
    chain=(MotionTransferInput, "plan_motion", MotionPlan, "transfer_motion", MotionTransferOutput),
)
def motion_transfer(m: MotionTransferInput, dice: Dice, v: int) -> WorkflowResult:
    """Animate a persona with the motion of a reference video (seedance/2.0 for full body)."""
    model = m.motion_model or _DEFAULT_MOTION_MODEL
    name = dice.hex(f"motion{v}")
    video = make_mp4(seed=f"motion:{name}", payload_bytes=512 * _MOTION_SECONDS)
    rate = _MOTION_RATE.get(model, _MOTION_RATE[_DEFAULT_MOTION_MODEL])
    return WorkflowResult(
        output={"motion_transfer_url": f"https://cdn.fabric.local/motion-transfer/{name}.mp4"},
        artifacts=[inline_artifact("motion_transfer.mp4", video, task_id="transfer_motion")],
        cost_usd=round(rate * _MOTION_SECONDS, 6),
        units=_MOTION_SECONDS,
    )


WORKFLOWS = [ai_shorts, face_swap, motion_transfer]
