"""Scores computed exactly as the survey vendors define them (issue 5, point 6)."""

from __future__ import annotations

import pytest

from tend.surveys.scores import ces, csat, is_low, nps, split


def _answers(*groups: tuple[int, int]) -> list[int]:
    return [score for score, times in groups for _ in range(times)]


def test_csat_vendor_vector_is_70() -> None:
    # 40×5, 30×4, 10×3, 5×2, 15×1: 70 of 100 answered 4 or 5
    assert csat(_answers((5, 40), (4, 30), (3, 10), (2, 5), (1, 15))) == 70


def test_ces_vendor_vector_is_50() -> None:
    # 5 disagree, 5 neutral, 10 agree on 1–5
    assert ces(_answers((1, 3), (2, 2), (3, 5), (4, 6), (5, 4))) == 50


def test_ces_on_seven_points_counts_the_top_two_as_agree() -> None:
    assert ces(_answers((7, 3), (6, 2), (5, 4), (4, 1)), scale_max=7) == 50
    assert split("ces", 5, 7) == "neutral"
    with pytest.raises(ValueError):
        ces([1, 2], scale_max=10)


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        # 60 % promoters, 10 % detractors → 50 (the textbook example)
        (_answers((10, 30), (9, 30), (8, 20), (7, 10), (6, 5), (0, 5)), 50),
        # all detractors → −100; all promoters → 100; only passives → 0
        (_answers((0, 3), (6, 2)), -100),
        (_answers((9, 1), (10, 1)), 100),
        (_answers((7, 4), (8, 4)), 0),
        # 1 promoter, 2 detractors of 3 → −33.3…
        ([9, 0, 3], -100 / 3),
    ],
)
def test_nps_is_promoters_minus_detractors(answers: list[int], expected: float) -> None:
    assert nps(answers) == pytest.approx(expected)


def test_boundaries_between_the_splits() -> None:
    assert [split("nps", s) for s in (6, 7, 8, 9)] == [
        "negative",
        "neutral",
        "neutral",
        "positive",
    ]
    assert [split("csat", s) for s in (2, 3, 4)] == ["negative", "neutral", "positive"]
    assert is_low("nps", 6) and not is_low("nps", 7)
    assert is_low("csat", 2) and not is_low("csat", 3)


def test_no_answers_is_no_score_not_zero() -> None:
    assert nps([]) is None and csat([]) is None and ces([]) is None
