"""User grades from a contact's own usage, the account's distribution, the focus list."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import make_staff
from tend.core.roles import Role
from tend.health.grades import grade_for
from tend.health.models import ContactGrade
from tend.health.selectors import focus_list, grade_distribution
from tend.health.services import health_model_create, health_recompute
from tend.health.tests.factories import (
    DAY,
    make_account,
    make_contact,
    make_metric,
    metric_config,
    set_value,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("score", "grade"),
    [(95, "A"), (90, "A"), (85, "B+"), (70, "B"), (65, "B-"), (45, "C"), (44.9, "D"), (10, "F")],
)
def test_grade_floors(score: float, grade: str) -> None:
    assert grade_for(score) == grade


def test_users_are_graded_on_their_own_usage_and_counted_per_account() -> None:
    # Given a model whose only metric measure is logins (linear 0 → 0, 20 → 100)
    metric = make_metric()
    config = metric_config(metric)
    config["measures"][0].update(scale="linear", thresholds=[[0, 0], [20, 100]])
    health_model_create(actor=None, name="Default", config=config)
    account = make_account()
    set_value(metric, account, 10)
    power, steady, idle = make_contact(account), make_contact(account), make_contact(account)
    set_value(metric, account, 20, contact=power)  # 100 points → A
    set_value(metric, account, 10, contact=steady)  # 50 points → C
    # idle has no row: usage.metrics' default (0 for a count) → 0 points → F

    health_recompute(day=DAY)

    grades = dict(ContactGrade.objects.filter(day=DAY).values_list("contact_id", "grade"))
    assert grades == {power.pk: "A", steady.pk: "C", idle.pk: "F"}
    steady_grade = ContactGrade.objects.get(contact=steady)
    assert steady_grade.score == 50
    # Only metric measures grade a person (tickets and NPS are the account's).
    assert steady_grade.explanation["measures"] == {"logins": [10, 50]}
    distribution = grade_distribution(account)
    assert list(distribution) == ["A", "B+", "B", "B-", "C", "D", "F"]
    assert distribution["A"] == 1 and distribution["C"] == 1 and distribution["F"] == 1


def test_focus_list_shows_c_and_b_minus_users_of_my_accounts() -> None:
    metric = make_metric()
    config = metric_config(metric)
    config["measures"][0].update(scale="linear", thresholds=[[0, 0], [20, 100]])
    health_model_create(actor=None, name="Default", config=config)
    me = make_staff("carol", Role.CSM)
    other = make_staff("dave", Role.CSM)
    mine, theirs = make_account(owner=me), make_account(owner=other)
    b_minus, c, a = make_contact(mine), make_contact(mine), make_contact(mine)
    set_value(metric, mine, 13, contact=b_minus)  # 65 → B−
    set_value(metric, mine, 10, contact=c)  # 50 → C
    set_value(metric, mine, 19, contact=a)  # 95 → A
    elsewhere = make_contact(theirs)
    set_value(metric, theirs, 10, contact=elsewhere)

    health_recompute(day=DAY)

    assert [g.contact for g in focus_list(me)] == [b_minus, c]
    assert {g.contact for g in focus_list(None)} == {b_minus, c, elsewhere}
    # Someone without access to grades sees none.
    nobody = make_staff("nina", Role.AGENT)
    nobody.user_permissions.clear()
    nobody.groups.clear()
    assert list(focus_list(nobody)) == []


def test_a_contact_that_moved_accounts_is_graded_once() -> None:
    metric = make_metric()
    health_model_create(actor=None, name="Default", config=metric_config(metric))
    first, second = make_account(), make_account()
    person = make_contact(first)
    health_recompute(day=DAY)
    person.account = second
    person.save()

    health_recompute(day=DAY, account_ids=[second.pk])

    assert list(
        ContactGrade.objects.filter(contact=person).values_list("account_id", flat=True)
    ) == [second.pk]


def test_focus_list_reads_each_accounts_latest_grades() -> None:
    metric = make_metric()
    config = metric_config(metric)
    config["measures"][0].update(scale="linear", thresholds=[[0, 0], [20, 100]])
    health_model_create(actor=None, name="Default", config=config)
    early, late = make_account(), make_account()
    c_early, c_late = make_contact(early), make_contact(late)
    yesterday = DAY - timedelta(days=1)
    for contact, account in ((c_early, early), (c_late, late)):
        set_value(metric, account, 10, contact=contact, day=yesterday)
    health_recompute(day=yesterday)
    # Today only one account was recomputed so far (e.g. after its events arrived).
    set_value(metric, late, 10, contact=c_late)
    health_recompute(day=DAY, account_ids=[late.pk])

    assert {(g.contact, g.day) for g in focus_list(None)} == {
        (c_early, yesterday),
        (c_late, DAY),
    }
