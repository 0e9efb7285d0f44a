"""The text built-ins: ``research/trends`` and ``content/threads-post``.

Their outputs are JSON only (no artifacts); cost and units grow with how much they write.
"""

from __future__ import annotations

from typing import List

from pydantic import BaseModel, Field

from .phrases import ANGLES, BEATS, rotate
from .workflow import Dice, WorkflowInput, WorkflowResult, typed_workflow

__all__ = ["WORKFLOWS"]

# --- types (a model's docstring is published as its schema's description) ----------------


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


class ThreadsPostInput(WorkflowInput):
    topic: str = Field(..., min_length=1)
    tone_of_voice: str = "conversational"
    platform: str = "threads"


class PostOutline(BaseModel):
    topic: str
    beats: List[str]


class ThreadsPostOutput(BaseModel):
    posts: List[str]


# --- phrase banks ------------------------------------------------------------------------

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
_TONE_OPENERS = {
    "conversational": "Let's talk about",
    "professional": "A brief analysis of",
    "witty": "Hot take, lightly toasted:",
    "inspirational": "Imagine what changes with",
    "educational": "A quick lesson on",
}

# --- the workflows -----------------------------------------------------------------------


@typed_workflow(
    "research/trends",
    kind="text",
    tags=["research", "trends", "text"],
    estimated_duration_seconds=20,
    example_input={"topic": "AI agents", "depth": 3},
    chain=(TrendsInput, "collect_signals", TrendSignals, "rank_trends", TrendsOutput),
)
def research_trends(m: TrendsInput, dice: Dice, v: int) -> WorkflowResult:
    """Find what is trending around a topic, ranked by momentum."""
    trends = []
    for i in range(m.depth):
        qualifier = rotate(_QUALIFIERS, dice, "qualifier", v, i)
        subject = _SUBJECTS[(dice.number("subject") + i) % len(_SUBJECTS)]
        score = round(max(0.0, 0.97 - 0.08 * i - 0.04 * dice.unit(f"score{v}.{i}")), 3)
        trends.append({"title": f"{qualifier} {subject} in {m.topic}", "score": score})
    return WorkflowResult(
        output={"topic": m.topic, "trends": trends},
        artifacts=[],
        cost_usd=round(0.002 + 0.0015 * m.depth, 6),
        units=500 * m.depth,
    )


@typed_workflow(
    "content/threads-post",
    kind="text",
    tags=["content", "social", "text"],
    estimated_duration_seconds=15,
    example_input={"topic": "AI agents", "tone_of_voice": "conversational", "platform": "threads"},
    chain=(ThreadsPostInput, "outline_thread", PostOutline, "write_posts", ThreadsPostOutput),
)
def threads_post(m: ThreadsPostInput, dice: Dice, v: int) -> WorkflowResult:
    """Write a short social thread about a topic in a given tone."""
    count = 3 + dice.number("count") % 3
    opener = _TONE_OPENERS.get(m.tone_of_voice.lower(), f"In a {m.tone_of_voice} voice:")
    posts = [f"{opener} {rotate(ANGLES, dice, 'angle', v)} {m.topic}. A thread for {m.platform}:"]
    for i in range(1, count - 1):
        posts.append(f"{i}/ {rotate(BEATS, dice, 'beat', v, i)}")
    posts.append(f"{count - 1}/ That's the thread on {m.topic}. Which point would you push back on?")
    return WorkflowResult(
        output={"posts": posts},
        artifacts=[],
        cost_usd=round(0.002 + 0.001 * count, 6),
        units=120 * count,
    )


WORKFLOWS = [research_trends, threads_post]
