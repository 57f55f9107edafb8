"""Inactivity tasks close themselves when the account or person is active again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format

from tend.core.models import User
from tend.crm.models import Account, Contact
from tend.crm.services import contact_update
from tend.success.models import Task, TaskOutcome, TaskStatus, TaskType
from tend.success.risks import risks_evaluate
from tend.success.services import task_close, task_create, task_raise, task_snooze
from tend.success.tests.conftest import TODAY, at, subscription
from tend.usage.events import events_ingested
from tend.usage.ingest import ingest_messages
from tend.usage.services import writekey_create

MakeContact = Callable[..., Contact]


def _seen(obj: Account | Contact, when: datetime) -> None:
    """What ingestion does: move last-seen to the newest event's time."""
    type(obj).objects.filter(pk=obj.pk).update(last_seen_at=when)


def _activity(*accounts: Account) -> None:
    events_ingested.send(sender=Task, account_ids=[a.pk for a in accounts])


def _inactive_account(account: Account) -> Task:
    _seen(account, at(TODAY - timedelta(days=9)))
    risks_evaluate(day=TODAY, account_ids=[account.pk], only=[TaskType.ACCOUNT_INACTIVE])
    return Task.objects.get(account=account, type=TaskType.ACCOUNT_INACTIVE)


def _inactive_user(contact: Contact) -> Task:
    return Task.objects.get(contact=contact, type=TaskType.USER_INACTIVE)


def _note(when: datetime) -> str:
    return f"Activity resumed on {date_format(timezone.localdate(when), 'SHORT_DATE_FORMAT')}."


def test_an_inactive_account_task_closes_when_the_account_is_seen_again(
    account: Account,
) -> None:
    # Given an account-inactive task
    task = _inactive_account(account)
    assert task.status == TaskStatus.OPEN

    # When someone at the account uses the product after the task was raised
    back = task.created_at + timedelta(minutes=5)
    _seen(account, back)
    _activity(account)

    # Then the task is resolved by Tend, saying when activity resumed
    task.refresh_from_db()
    assert task.status == TaskStatus.CLOSED
    assert task.outcome == TaskOutcome.RESOLVED
    assert task.outcome_note == _note(back)
    assert task.closed_at is not None


def test_a_task_raised_after_the_last_activity_stays_open(account: Account) -> None:
    # Given an account-inactive task
    task = _inactive_account(account)

    # When activity arrives that happened before the task was raised (a late event)
    _seen(account, at(TODAY - timedelta(days=8)))
    _activity(account)

    # Then the silence the task is about has not ended: it stays open
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and task.outcome == ""


def test_a_user_inactive_task_closes_only_when_that_user_is_seen(
    account: Account, make_contact: MakeContact
) -> None:
    # Given two inactive users with a task each
    li = make_contact("Li Wei", last_seen=TODAY - timedelta(days=20))
    bo = make_contact("Bo Chen", last_seen=TODAY - timedelta(days=20))
    risks_evaluate(day=TODAY, only=[TaskType.USER_INACTIVE])
    li_task, bo_task = _inactive_user(li), _inactive_user(bo)

    # When only Li comes back
    back = li_task.created_at + timedelta(minutes=1)
    _seen(li, back)
    _activity(account)

    # Then Li's task is resolved and Bo's is still open
    li_task.refresh_from_db()
    bo_task.refresh_from_db()
    assert li_task.status == TaskStatus.CLOSED and li_task.outcome == TaskOutcome.RESOLVED
    assert li_task.outcome_note == _note(back)
    assert bo_task.status == TaskStatus.OPEN


def test_manual_tasks_and_other_types_are_left_alone(
    account: Account,
    csm: User,
    make_contact: MakeContact,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Given a task made by hand, a champion who lost the role and under-used seats
    manual = task_create(actor=csm, account=account, title="Call about onboarding")
    boss = make_contact("Boss", roles=("champion",), last_seen=TODAY - timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        contact_update(actor=None, contact=boss, roles=["user"])
    subscription(account, seats=10)
    risks_evaluate(day=TODAY)
    champion = Task.objects.get(type=TaskType.CHAMPION_GONE)
    assert ":removed:" in champion.dedupe_key
    seats = Task.objects.get(type=TaskType.SEATS_UNDERUSED)

    # When the account and everyone in it are active again
    now = timezone.now() + timedelta(minutes=1)
    _seen(account, now)
    _seen(boss, now)
    _activity(account)

    # Then none of these tasks is closed
    for task in (manual, champion, seats):
        task.refresh_from_db()
        assert task.status == TaskStatus.OPEN, task.type


def test_a_quiet_champion_task_closes_when_the_champion_is_seen_again(
    account: Account, make_contact: MakeContact
) -> None:
    # Given a champion and a decision maker who went quiet, with a task each
    boss = make_contact("Boss", roles=("champion",), last_seen=TODAY - timedelta(days=40))
    cfo = make_contact("CFO", roles=("decision_maker",), last_seen=TODAY - timedelta(days=40))
    risks_evaluate(day=TODAY, only=[TaskType.CHAMPION_GONE])
    boss_task = Task.objects.get(type=TaskType.CHAMPION_GONE, contact=boss)
    cfo_task = Task.objects.get(type=TaskType.CHAMPION_GONE, contact=cfo)

    # When only the champion uses the product again
    back = boss_task.created_at + timedelta(minutes=2)
    _seen(boss, back)
    _activity(account)

    # Then the champion's task is resolved and the decision maker's stays open
    boss_task.refresh_from_db()
    cfo_task.refresh_from_db()
    assert boss_task.status == TaskStatus.CLOSED and boss_task.outcome == TaskOutcome.RESOLVED
    assert boss_task.outcome_note == _note(back)
    assert cfo_task.status == TaskStatus.OPEN


def test_a_snoozed_task_closes_too(account: Account, csm: User) -> None:
    # Given an account-inactive task snoozed for a week
    task = _inactive_account(account)
    task_snooze(actor=csm, task=task, until=timezone.localdate() + timedelta(days=7))

    # When the account is active again
    _seen(account, task.created_at + timedelta(minutes=5))
    _activity(account)

    # Then it is closed and no longer waits to wake up
    task.refresh_from_db()
    assert task.status == TaskStatus.CLOSED and task.outcome == TaskOutcome.RESOLVED
    assert task.snoozed_until is None


def test_a_task_a_person_closed_keeps_their_outcome(account: Account, csm: User) -> None:
    # Given a task the CSM closed with their own outcome
    task = _inactive_account(account)
    task_close(actor=csm, task=task, outcome=TaskOutcome.NO_ACTION, note="Seasonal")

    # When the account is active again
    _seen(account, task.created_at + timedelta(minutes=5))
    _activity(account)

    # Then the CSM's outcome and note stand
    task.refresh_from_db()
    assert task.outcome == TaskOutcome.NO_ACTION and task.outcome_note == "Seasonal"


def test_the_note_is_written_in_the_owners_language(account: Account, csm: User) -> None:
    # Given a CSM who reads Chinese, and an inactive account of theirs
    csm.language = "zh-hans"
    csm.save(update_fields=["language"])
    task = _inactive_account(account)

    # When the account is active again
    _seen(account, task.created_at + timedelta(minutes=5))
    _activity(account)

    # Then the note is in Chinese
    task.refresh_from_db()
    assert task.outcome_note.startswith("已于 ") and task.outcome_note.endswith("恢复使用产品。")


def test_queries_stay_flat_however_many_accounts(csm: User) -> None:
    def given_accounts_back(count: int) -> list[Account]:
        accounts = []
        for n in range(count):
            acc = Account.objects.create(name=f"Busy {n}", owner=csm)
            person = Contact.objects.create(name=f"P{n}", account=acc, roles=["user"])
            raised = [
                task_raise(account=acc, type=type, reason="quiet", reason_key="k", contact=who)
                for type, who in (
                    (TaskType.ACCOUNT_INACTIVE, None),
                    (TaskType.USER_INACTIVE, person),
                )
            ]
            later = raised[-1].created_at + timedelta(minutes=1)
            _seen(acc, later)
            _seen(person, later)
            accounts.append(acc)
        return accounts

    def queries_to_clear(accounts: list[Account]) -> int:
        with CaptureQueriesContext(connection) as queries:
            _activity(*accounts)
        return len(queries)

    one, five = given_accounts_back(1), given_accounts_back(5)

    assert queries_to_clear(one) == queries_to_clear(five)
    assert not Task.objects.exclude(status=TaskStatus.CLOSED).exists()
    assert Task.objects.filter(outcome=TaskOutcome.RESOLVED).count() == 12


def test_a_tracked_event_through_ingestion_clears_the_task(
    account: Account, make_contact: MakeContact, django_capture_on_commit_callbacks: Any
) -> None:
    # Given an inactive user known to the product by id
    li = make_contact("Li Wei", last_seen=TODAY - timedelta(days=20))
    Contact.objects.filter(pk=li.pk).update(external_id="u-li")
    Account.objects.filter(pk=account.pk).update(external_id="acme")
    risks_evaluate(day=TODAY, only=[TaskType.USER_INACTIVE])
    task = _inactive_user(li)
    key, _plaintext = writekey_create(actor=None, name="Product")

    # When Li uses the product and the event is ingested
    with django_capture_on_commit_callbacks(execute=True):
        ingest_messages(
            write_key_id=key.pk,
            messages=[
                {
                    "type": "track",
                    "event": "Report Viewed",
                    "userId": "u-li",
                    "messageId": "back-1",
                    "timestamp": (timezone.now() + timedelta(seconds=1)).isoformat(),
                    "context": {"groupId": "acme"},
                }
            ],
        )

    # Then the task is resolved
    task.refresh_from_db()
    assert task.status == TaskStatus.CLOSED and task.outcome == TaskOutcome.RESOLVED


def test_the_nightly_risk_job_closes_tasks_whose_signal_was_missed(account: Account) -> None:
    from tend.success.tasks import evaluate_risks

    # Given an account-inactive task, and activity since that no signal reported
    # (the process stopped between storing events and sending events_ingested)
    task = _inactive_account(account)
    back = task.created_at + timedelta(minutes=5)
    _seen(account, back)

    # When the nightly risk job runs
    evaluate_risks.call()

    # Then the task is resolved as if the signal had come
    task.refresh_from_db()
    assert (task.status, task.outcome, task.outcome_note) == (
        TaskStatus.CLOSED,
        TaskOutcome.RESOLVED,
        _note(back),
    )
