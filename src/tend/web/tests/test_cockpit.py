"""The CSM cockpit: "My accounts" (filters, sorts, constant query count) and the
account 360 page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from conftest import make_staff
from tend.core.models import AuditEntry, User
from tend.core.roles import Role
from tend.crm import services as crm_services
from tend.crm.models import (
    Account,
    Contact,
    Lifecycle,
    Subscription,
    SubscriptionStatus,
    TouchpointKind,
)
from tend.health.models import HealthSnapshot
from tend.success.models import Task, TaskStatus, TaskType

pytestmark = pytest.mark.django_db

URL = "/cs/accounts/"


@pytest.fixture
def csm(db: Any) -> User:
    return make_staff("carla", Role.CSM, first_name="Carla")


def _account(
    name: str,
    owner: User | None,
    *,
    score: float | None = None,
    band: str = "",
    week_ago: float | None = None,
    mrr: int = 0,
    currency: str = "USD",
    renews_in: int | None = None,
    tasks: int = 0,
    **fields: Any,
) -> Account:
    account = Account.objects.create(name=name, owner=owner, **fields)
    today = timezone.localdate()
    if score is not None or band:
        HealthSnapshot.objects.create(account=account, day=today, score=score, band=band)
    if week_ago is not None:
        HealthSnapshot.objects.create(
            account=account, day=today - dt.timedelta(days=7), score=week_ago, band="yellow"
        )
    if mrr or renews_in is not None:
        Subscription.objects.create(
            account=account,
            plan="Pro",
            mrr_minor=mrr,
            currency=currency,
            seats=10,
            starts_on=today - dt.timedelta(days=300),
            renews_on=today + dt.timedelta(days=renews_in) if renews_in is not None else None,
        )
    for i in range(tasks):
        Task.objects.create(
            account=account, type=TaskType.MANUAL, title=f"Call {name} {i}", due_on=today
        )
    return account


def _names(client: Client, query: str = "") -> list[str]:
    response = client.get(URL + query)
    assert response.status_code == 200
    return [a.name for a in response.context["page"].object_list]


def test_my_accounts_shows_mine_by_default_and_all_or_unassigned_on_request(
    client: Client, csm: User, manager: User
) -> None:
    _account("Acme", csm)
    _account("Globex", manager)
    _account("Initech", None)
    client.force_login(csm)

    assert _names(client) == ["Acme"]
    assert _names(client, "?scope=all") == ["Acme", "Globex", "Initech"]
    assert _names(client, "?scope=unassigned") == ["Initech"]


def test_my_accounts_filters(client: Client, csm: User) -> None:
    _account("Red one", csm, score=20, band="red", renews_in=20, segment="SMB")
    _account(
        "Green one",
        csm,
        score=90,
        band="green",
        renews_in=200,
        segment="Enterprise",
        lifecycle=Lifecycle.MATURE,
    )
    _account("Unscored", csm, lifecycle=Lifecycle.AT_RISK)
    client.force_login(csm)

    assert _names(client, "?band=red") == ["Red one"]
    assert _names(client, "?band=none") == ["Unscored"]
    assert _names(client, "?lifecycle=mature") == ["Green one"]
    assert _names(client, "?segment=SMB") == ["Red one"]
    assert _names(client, "?renewal=30") == ["Red one"]
    assert _names(client, "?renewal=180&band=green") == []
    assert _names(client, "?q=green") == ["Green one"]
    # Nonsense in the query string falls back to the defaults instead of failing.
    assert len(_names(client, "?band=purple&sort=password")) == 3


def test_my_accounts_sorts_by_each_column_missing_values_last(client: Client, csm: User) -> None:
    _account("B", csm, score=50, band="yellow", week_ago=70, mrr=5_000, renews_in=10, tasks=2)
    _account("A", csm, score=80, band="green", week_ago=60, mrr=90_000, renews_in=100)
    _account("C", csm, segment="Zed", lifecycle=Lifecycle.CHURNED)
    client.force_login(csm)

    assert _names(client, "?sort=health") == ["B", "A", "C"]
    assert _names(client, "?sort=-health") == ["A", "B", "C"]
    assert _names(client, "?sort=-mrr") == ["A", "B", "C"]
    assert _names(client, "?sort=renewal") == ["B", "A", "C"]
    assert _names(client, "?sort=-tasks") == ["B", "A", "C"]
    assert _names(client, "?sort=trend") == ["B", "A", "C"]  # −20, +20, none
    assert _names(client, "?sort=-segment") == ["C", "A", "B"]
    assert _names(client, "?sort=-name") == ["C", "B", "A"]


def test_my_accounts_row_shows_health_trend_mrr_renewal_and_tasks(
    client: Client, csm: User
) -> None:
    _account(
        "Acme",
        csm,
        score=42,
        band="red",
        week_ago=70,
        mrr=1_234_56,
        currency="CNY",
        renews_in=30,
        tasks=3,
        segment="SMB",
    )
    client.force_login(csm)
    response = client.get(URL)
    row = response.context["page"].object_list[0]
    assert (row.health_score, row.health_band, row.trend) == (42, "red", "down")
    assert row.mrr_display == "¥1,234.56"
    assert row.renews_on == timezone.localdate() + dt.timedelta(days=30)
    assert row.open_tasks == 3
    html = response.content.decode()
    assert "¥1,234.56" in html and "band-red" in html and "trend-down" in html


def test_my_accounts_query_count_does_not_grow_with_rows(client: Client, csm: User) -> None:
    client.force_login(csm)
    _account("First", csm, score=50, band="yellow", week_ago=40, mrr=100, renews_in=5, tasks=1)
    client.get(URL)  # warm caches (sessions, permissions) outside the measurement
    with CaptureQueriesContext(connection) as one:
        assert client.get(URL).status_code == 200
    for i in range(29):
        _account(f"Acct {i:02}", csm, score=i, band="red", week_ago=i, mrr=i, renews_in=i, tasks=2)
    with CaptureQueriesContext(connection) as thirty:
        response = client.get(URL)
    assert len(response.context["page"].object_list) == 30
    assert len(thirty) == len(one)


def test_my_accounts_needs_account_permission(client: Client) -> None:
    nobody = User.objects.create_user(username="nobody", password="x")
    client.force_login(nobody)
    assert client.get(URL).status_code == 403


def test_account_360_page_shows_header_contacts_subscriptions_tasks_and_timeline(
    client: Client, csm: User
) -> None:
    account = _account(
        "Acme",
        csm,
        score=75,
        band="green",
        mrr=99_00,
        renews_in=60,
        tasks=1,
        segment="Enterprise",
        tier="Gold",
        lifecycle=Lifecycle.ADOPTING,
    )
    Contact.objects.create(
        name="Li Wei",
        email="li@acme.cn",
        account=account,
        roles=["champion", "user"],
        last_seen_at=timezone.now() - dt.timedelta(hours=3),
    )
    client.force_login(csm)

    response = client.get(reverse("web:account", args=[account.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "Acme",
        "Enterprise",
        "Gold",
        "Adopting",
        "$99.00",
        "Li Wei",
        "Champion, User",
        "Pro",
        "Call Acme 0",
        "Carla",
    ):
        assert text in html, text
    kinds = [e.kind for e in response.context["timeline"]]
    assert "task_raised" in kinds


def test_account_page_logs_a_call_onto_the_timeline(client: Client, csm: User) -> None:
    account = _account("Acme", csm)
    client.force_login(csm)

    response = client.post(
        reverse("web:account_touchpoint_add", args=[account.pk]),
        {"kind": TouchpointKind.CALL, "subject": "Renewal call", "body": "Budget is approved."},
    )

    assert response.status_code == 302
    page = client.get(reverse("web:account", args=[account.pk]))
    entry = page.context["timeline"][0]
    assert (entry.kind, entry.title) == ("call", "Renewal call")


def test_closed_tasks_are_not_counted_as_open(client: Client, csm: User) -> None:
    account = _account("Acme", csm, tasks=2)
    Task.objects.filter(account=account).update(status=TaskStatus.CLOSED)
    client.force_login(csm)
    assert client.get(URL).context["page"].object_list[0].open_tasks == 0


def test_canceled_subscriptions_do_not_count_toward_mrr(client: Client, csm: User) -> None:
    account = _account("Acme", csm, mrr=500, renews_in=10)
    Subscription.objects.create(
        account=account,
        plan="Old",
        mrr_minor=10_000,
        seats=5,
        starts_on=timezone.localdate(),
        status=SubscriptionStatus.CANCELED,
    )
    client.force_login(csm)
    row = client.get(URL).context["page"].object_list[0]
    assert (row.mrr_minor, row.seats) == (500, 10)


def test_the_author_or_a_manager_takes_a_touchpoint_off_the_timeline(
    client: Client, csm: User
) -> None:
    account = _account("Acme", csm, score=80, band="green", mrr=100, renews_in=30)
    when = timezone.now() - dt.timedelta(hours=1)
    mine = crm_services.touchpoint_create(
        actor=csm,
        account=account,
        kind=TouchpointKind.CALL,
        subject="Wrong account",
        body="Budget talk.",
        happened_at=when,
    )
    other_csm = make_staff("omar", Role.CSM)
    theirs = crm_services.touchpoint_create(
        actor=other_csm,
        account=account,
        kind=TouchpointKind.NOTE,
        subject="Omar's note",
        body="Keep.",
        happened_at=when,
    )
    mine_url = reverse("web:account_touchpoint_delete", args=[mine.pk])
    theirs_url = reverse("web:account_touchpoint_delete", args=[theirs.pk])
    client.force_login(csm)
    page = client.get(reverse("web:account", args=[account.pk])).content.decode()
    assert mine_url in page and theirs_url not in page
    assert client.post(theirs_url, {"reason": "x"}).status_code == 403

    assert "Wrong account" in client.get(mine_url).content.decode()
    response = client.post(mine_url, {"reason": "logged on the wrong account"})

    assert response["Location"] == reverse("web:account", args=[account.pk]) + "#account-timeline"
    assert list(account.touchpoints.values_list("pk", flat=True)) == [theirs.pk]
    entry = AuditEntry.objects.get(action="crm.touchpoint_delete")
    assert (entry.actor_id, entry.reason, entry.data["subject"], entry.data["author_id"]) == (
        csm.pk,
        "logged on the wrong account",
        "Wrong account",
        csm.pk,
    )
    assert "body" not in entry.data
    manager = Client()
    manager.force_login(make_staff("mia", Role.MANAGER))
    # From an older page of the timeline, back to that page.
    older = (timezone.now() - dt.timedelta(minutes=1)).isoformat()
    page = manager.get(reverse("web:account", args=[account.pk]), {"before": older})
    link = f"{theirs_url}?before="
    assert link in page.content.decode()
    back = manager.post(f"{theirs_url}?{urlencode({'before': older})}")
    assert back.status_code == 302
    assert back["Location"].startswith(reverse("web:account", args=[account.pk]) + "?before=")
    assert back["Location"].endswith("#account-timeline")
    assert not account.touchpoints.exists()


def test_read_only_staff_see_the_page_but_cannot_log_touchpoints(
    client: Client, readonly: User, csm: User
) -> None:
    account = _account("Acme", csm)
    client.force_login(readonly)

    page = client.get(reverse("web:account", args=[account.pk]))
    response = client.post(
        reverse("web:account_touchpoint_add", args=[account.pk]),
        {"kind": TouchpointKind.NOTE, "body": "Sneaky"},
    )

    assert page.status_code == 200 and page.context["touchpoint_form"] is None
    assert response.status_code == 403
    assert not account.touchpoints.exists()


def test_account_page_pages_back_through_the_timeline(client: Client, csm: User) -> None:
    account = _account("Acme", csm)
    now = timezone.now()
    for i in range(60):
        Task.objects.create(
            account=account, type=TaskType.MANUAL, title=f"T{i:02}", due_on=timezone.localdate()
        )
    for i, task in enumerate(Task.objects.filter(account=account).order_by("pk")):
        Task.objects.filter(pk=task.pk).update(created_at=now - dt.timedelta(hours=i + 1))
    client.force_login(csm)

    first = client.get(reverse("web:account", args=[account.pk]))
    older = first.context["timeline_older"]
    second = client.get(reverse("web:account", args=[account.pk]), {"before": older.isoformat()})

    assert len(first.context["timeline"]) == 50
    assert [e.title for e in second.context["timeline"]] == [
        f"Task raised: T{i:02}" for i in range(50, 60)
    ]
    assert "Older" in first.content.decode()


def test_cockpit_pages_render_in_chinese(client: Client, csm: User) -> None:
    account = _account("Acme", csm, score=80, band="green", mrr=100, renews_in=3)
    client.force_login(csm)
    headers = {"Accept-Language": "zh-hans"}
    assert client.get(URL, headers=headers).status_code == 200
    assert client.get(reverse("web:account", args=[account.pk]), headers=headers).status_code == 200
