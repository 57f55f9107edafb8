"""Survey scores, computed exactly as the survey vendors define them. Pure functions.

- NPS (0–10): % promoters (9–10) − % detractors (0–6), from −100 to 100.
- CSAT (1–5): % of satisfied answers (4–5).
- CES (1–5 or 1–7): % of "agree" answers, the top two points of the scale (4–5 on 1–5,
  6–7 on 1–7).

Every answer is split three ways — positive / neutral / negative (promoters / passives /
detractors for NPS) — and the selectors count those splits in the database with the
same thresholds, through :func:`positive_from` and :func:`negative_to`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

NPS_PROMOTER = 9
NPS_DETRACTOR_MAX = 6
# CSAT and CES: the bottom two points are the unhappy answers (close the loop on them).
LOW_MAX = 2

Split = Literal["positive", "neutral", "negative"]


def positive_from(kind: str, scale_max: int = 5) -> int:
    """The lowest score that counts as positive (promoter / satisfied / agree)."""
    if kind == "nps":
        return NPS_PROMOTER
    if kind == "csat":
        return 4
    return scale_max - 1  # CES: the top two points of its scale


def negative_to(kind: str) -> int:
    """The highest score that counts as negative (detractor / dissatisfied / disagree)."""
    return NPS_DETRACTOR_MAX if kind == "nps" else LOW_MAX


def split(kind: str, score: int, scale_max: int = 5) -> Split:
    if score >= positive_from(kind, scale_max):
        return "positive"
    if score <= negative_to(kind):
        return "negative"
    return "neutral"


def is_low(kind: str, score: int) -> bool:
    """A detractor, or a CSAT/CES answer in the bottom two: someone should follow up."""
    return score <= negative_to(kind)


def score_from_counts(kind: str, *, positive: int, negative: int, total: int) -> float | None:
    """The score of ``total`` answers of which ``positive``/``negative`` fall in those
    splits; None when nobody answered (a score of 0 would be a claim)."""
    if total <= 0:
        return None
    if kind == "nps":
        return 100.0 * (positive - negative) / total
    return 100.0 * positive / total


def _score(kind: str, scores: Iterable[int], scale_max: int = 5) -> float | None:
    counts = {"positive": 0, "neutral": 0, "negative": 0}
    for score in scores:
        counts[split(kind, int(score), scale_max)] += 1
    total = sum(counts.values())
    return score_from_counts(
        kind, positive=counts["positive"], negative=counts["negative"], total=total
    )


def nps(scores: Iterable[int]) -> float | None:
    return _score("nps", scores)


def csat(scores: Iterable[int]) -> float | None:
    return _score("csat", scores)


def ces(scores: Iterable[int], scale_max: int = 5) -> float | None:
    if scale_max not in (5, 7):
        raise ValueError("CES is asked on a 1–5 or a 1–7 scale")
    return _score("ces", scores, scale_max)
