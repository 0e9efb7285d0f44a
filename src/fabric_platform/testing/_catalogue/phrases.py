"""Phrase banks more than one family of built-ins writes its texts from, and how to pick.

Every bank has more than 10 entries: :func:`rotate` then guarantees that variants
0..9 of a run (``variants`` is at most 10) read differently.
"""

from __future__ import annotations

from typing import Sequence

from .workflow import Dice

__all__ = ["ANGLES", "BEATS", "rotate", "upper_first"]

ANGLES = (
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
BEATS = (
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


def rotate(options: Sequence[str], dice: Dice, label: str, variant_index: int, offset: int = 0) -> str:
    """Pick from ``options``: fixed by the input, shifted by the variant index.

    Args:
        options: The bank to pick from.
        dice: The run's dice.
        label: Names this choice, so different choices of one run are independent.
        variant_index: The variant being computed.
        offset: Shifts the pick further (the i-th item of a list).

    Returns:
        One entry of ``options``.
    """
    # Rotating by the variant index (instead of re-rolling) guarantees that variants
    # 0..len(options)-1 differ.
    return options[(dice.number(label) + variant_index + offset) % len(options)]


def upper_first(text: str) -> str:
    """``text`` with its first character in upper case (the rest untouched)."""
    return text[:1].upper() + text[1:]
