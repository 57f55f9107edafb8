"""User grades A–F: a contact's own usage scored on the account model's metric measures.

Only metric measures take part (tickets, NPS and onboarding belong to the account),
with the same thresholds and the same redistribution of missing weight, so a user's
score reads on the same 0–100 scale as the account's.
"""

from __future__ import annotations

from tend.health.models import Grade

# Grade floors, best first. Chosen so a user scoring like a "green" account (≥ 70 with
# the default bands) is B or better, one in the yellow middle is B−/C — the focus list,
# worth a CSM's time — and one below the usual red line is D (< 45) or F (< 30).
GRADE_FLOORS: tuple[tuple[float, str], ...] = (
    (90.0, Grade.A),
    (80.0, Grade.B_PLUS),
    (70.0, Grade.B),
    (60.0, Grade.B_MINUS),
    (45.0, Grade.C),
    (30.0, Grade.D),
)
GRADE_ORDER: tuple[str, ...] = (*(g for _, g in GRADE_FLOORS), Grade.F)
# A/B users need little help and D/F rarely convert: C and B− are where time pays off.
FOCUS_GRADES: tuple[str, ...] = (Grade.B_MINUS, Grade.C)


def grade_for(score: float) -> str:
    for floor, grade in GRADE_FLOORS:
        if score >= floor:
            return grade
    return Grade.F
