"""Each risk signal raises exactly one task, and evaluating again does not duplicate it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tend.core.models import User
from tend.crm.models import Account, Contact, Lifecycle
from tend.desk.models import Priority
from tend.desk.services import ticket_create
from tend.success.models import Task, TaskOutcome, TaskType
from tend.success.risks import USAGE_DROP_MIN_EVENTS, risks_evaluate
from tend.success.services import risk_settings_update, task_close
from tend.success.tests.conftest import TODAY, rollup, snapshot, subscription

MakeContact = Callable[..., Contact]


def _tasks(type: str) -> list[Task]:
    return list(Task.objects.filter(type=type))


def _evaluate_twice(**kw: Any) -> int:
    made = risks_evaluate(day=TODAY, **kw)
    assert risks_evaluate(day=TODAY, **kw) == 0  # dedupe: nothing new the second time
    return made


def test_user_inactive_past_the_threshold(account: Account, make_contact: MakeContact) -> None:
    li = make_contact("Li Wei", last_seen=TODAY - timedelta(days=20))
    make_contact("Recent", last_seen=TODAY - timedelta(days=2))
    make_contact("Never seen")  # never active: nothing to lose
    make_contact("Billing only", roles=("billing",), last_seen=TODAY - timedelta(days=40))

    assert _evaluate_twice() == 1

    (task,) = _tasks(TaskType.USER_INACTIVE)
    assert task.contact == li and task.account == account
    assert "Li Wei has not used the product for 20 days" in task.reason


def test_the_user_threshold_is_configurable(
    account: Account, make_contact: MakeContact, manager: User
) -> None:
    make_contact(last_seen=TODAY - timedelta(days=10))
    assert risks_evaluate(day=TODAY) == 0

    risk_settings_update(actor=manager, user_inactive_days=7)

    assert risks_evaluate(day=TODAY) == 1


def test_account_inactive(account: Account, make_contact: MakeContact) -> None:
    account.last_seen_at = TODAY_at(-9)
    account.save()
    Account.objects.create(name="Busy", last_seen_at=TODAY_at(-1))

    assert _evaluate_twice(only=[TaskType.ACCOUNT_INACTIVE]) == 1

    (task,) = _tasks(TaskType.ACCOUNT_INACTIVE)
    assert task.account == account
    assert "for 9 days" in task.reason


def TODAY_at(days: int) -> Any:
    from tend.success.tests.conftest import at

    return at(TODAY + timedelta(days=days))


def test_usage_down_week_over_week(account: Account) -> None:
    steady = Account.objects.create(name="Steady")
    tiny = Account.objects.create(name="Tiny")
    for back in range(8, 15):  # the week before last week
        rollup(account, TODAY - timedelta(days=back), 20)
        rollup(steady, TODAY - timedelta(days=back), 20)
        rollup(tiny, TODAY - timedelta(days=back), 2)
    for back in range(1, 8):  # last week
        rollup(account, TODAY - timedelta(days=back), 10)  # -50%
        rollup(steady, TODAY - timedelta(days=back), 19)  # -5%
    assert USAGE_DROP_MIN_EVENTS > 14  # tiny went from 14 to 0: too little to mean anything

    assert _evaluate_twice(only=[TaskType.USAGE_DROP]) == 1

    (task,) = _tasks(TaskType.USAGE_DROP)
    assert task.account == account
    assert "Usage fell 50% week over week: 70 events in the last 7 days, 140" in task.reason


def test_champion_inactive(account: Account, make_contact: MakeContact) -> None:
    champion = make_contact(
        "Zhang", roles=("user", "champion"), last_seen=TODAY - timedelta(days=15)
    )

    assert _evaluate_twice() == 1  # one task: champion gone, not also "user inactive"

    (task,) = _tasks(TaskType.CHAMPION_GONE)
    assert task.contact == champion
    assert "Zhang (champion) has not used the product for 15 days" in task.reason


def test_champion_removed_raises_through_crm_signal(
    account: Account, make_contact: MakeContact
) -> None:
    from tend.crm import events

    signal = events.contact_role_lost
    person = make_contact("Wang", roles=("decision_maker",))

    for _ in range(2):
        signal.send(
            sender=Contact, contact_id=person.pk, account_id=account.pk, role="decision_maker"
        )

    (task,) = _tasks(TaskType.CHAMPION_GONE)
    assert task.reason == "Wang is no longer the decision maker at Acme."


def test_seats_underused(account: Account, make_contact: MakeContact) -> None:
    subscription(account, seats=10)
    people = [make_contact() for _ in range(3)]
    for person in people:
        rollup(account, TODAY - timedelta(days=5), 4, contact=person)
    rollup(account, TODAY - timedelta(days=40), 4, contact=make_contact())  # too long ago
    well_used = Account.objects.create(name="Full")
    subscription(well_used, seats=1)
    rollup(well_used, TODAY, 1, contact=make_contact(of=well_used))

    assert _evaluate_twice(only=[TaskType.SEATS_UNDERUSED]) == 1

    (task,) = _tasks(TaskType.SEATS_UNDERUSED)
    assert task.account == account
    assert task.reason == "3 of 10 seats active in 30 days (30% < 50%)."


def test_ticket_spike_and_urgent_ticket_on_creation(
    account: Account,
    make_contact: MakeContact,
    agent: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    requester = make_contact("Asker")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_create(
            actor=agent,
            subject="Everything is down",
            description="",
            requester_email=requester.email,
            priority=Priority.URGENT,
        )
    (urgent,) = _tasks(TaskType.URGENT_TICKET)
    assert urgent.reason == f"Urgent ticket #{ticket.number}: Everything is down"

    with django_capture_on_commit_callbacks(execute=True):
        for n in range(4):
            ticket_create(
                actor=agent, subject=f"q{n}", description="", requester_email=requester.email
            )
    (spike,) = _tasks(TaskType.TICKET_SPIKE)
    assert spike.reason == "5 tickets in the last 7 days (alert at 5)."
    assert _evaluate_twice(only=[TaskType.TICKET_SPIKE, TaskType.URGENT_TICKET]) == 0
    assert Task.objects.count() == 2


def test_renewal_within_90_days_while_red(account: Account) -> None:
    subscription(account, seats=0, renews_on=TODAY + timedelta(days=45))
    snapshot(account, TODAY - timedelta(days=1), "red")
    green = Account.objects.create(name="Green")
    subscription(green, seats=0, renews_on=TODAY + timedelta(days=45))
    snapshot(green, TODAY - timedelta(days=3), "red")
    snapshot(green, TODAY - timedelta(days=1), "green")  # the latest band counts
    far = Account.objects.create(name="Far")
    subscription(far, seats=0, renews_on=TODAY + timedelta(days=200))
    snapshot(far, TODAY, "red")

    assert _evaluate_twice(only=[TaskType.RENEWAL_AT_RISK]) == 1

    (task,) = _tasks(TaskType.RENEWAL_AT_RISK)
    assert task.account == account
    assert "(in 45 days) while health is red" in task.reason


def test_closed_signal_is_raised_again_after_the_cool_down(
    account: Account, csm: User, make_contact: MakeContact
) -> None:
    from tend.success.services import RAISE_COOLDOWN_DAYS

    subscription(account, seats=10)
    assert risks_evaluate(day=TODAY, only=[TaskType.SEATS_UNDERUSED]) == 1
    task_close(actor=csm, task=Task.objects.get(), outcome=TaskOutcome.NO_ACTION)

    assert risks_evaluate(day=TODAY, only=[TaskType.SEATS_UNDERUSED]) == 0
    later = TODAY + timedelta(days=RAISE_COOLDOWN_DAYS)
    assert risks_evaluate(day=later, only=[TaskType.SEATS_UNDERUSED]) == 1


def test_churned_accounts_and_other_accounts_are_left_alone(
    account: Account, make_contact: MakeContact
) -> None:
    gone = Account.objects.create(name="Gone", lifecycle=Lifecycle.CHURNED)
    subscription(gone, seats=10)
    subscription(account, seats=10)
    other = Account.objects.create(name="Other")
    subscription(other, seats=10)

    assert risks_evaluate(day=TODAY, account_ids=[account.pk, gone.pk]) == 1
    assert list(Task.objects.values_list("account", flat=True)) == [account.pk]


def test_evaluation_does_not_query_per_account(
    make_contact: MakeContact, django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        acc = Account.objects.create(name=f"A{n}")
        subscription(acc, seats=100)  # under-used: 30 tasks to raise
    risks_evaluate(day=TODAY)
    # Nothing new: the second run is a fixed handful of queries whatever the number of accounts.
    with django_assert_max_num_queries(12):
        assert risks_evaluate(day=TODAY) == 0


def test_new_subscriptions_are_not_judged_on_seat_use_yet(account: Account) -> None:
    from tend.crm.models import Subscription

    Subscription.objects.create(account=account, plan="Team", seats=10, starts_on=TODAY)

    assert risks_evaluate(day=TODAY, only=[TaskType.SEATS_UNDERUSED]) == 0


def test_a_band_turning_red_raises_the_renewal_task_at_once(account: Account) -> None:
    from tend.health import events

    subscription(account, seats=0, renews_on=TODAY + timedelta(days=30))
    snapshot(account, TODAY, "red")

    for _ in range(2):
        events.band_changed.send(sender=Account, account_id=account.pk, old="yellow", new="red")

    (task,) = _tasks(TaskType.RENEWAL_AT_RISK)
    assert task.account == account


def test_a_subscription_change_checks_seats_at_once(account: Account) -> None:
    from tend.crm import events

    subscription(account, seats=20)

    events.subscription_changed.send(sender=Account, account_id=account.pk, subscription_id=1)

    (task,) = _tasks(TaskType.SEATS_UNDERUSED)
    assert task.reason == "0 of 20 seats active in 30 days (0% < 50%)."


def test_a_user_without_a_name_is_named_by_email(
    account: Account, make_contact: MakeContact
) -> None:
    person = make_contact(last_seen=TODAY - timedelta(days=30))
    Contact.objects.filter(pk=person.pk).update(name="")

    risks_evaluate(day=TODAY)

    (task,) = _tasks(TaskType.USER_INACTIVE)
    assert task.reason.startswith(f"{person.email} has not used the product for 30 days")
