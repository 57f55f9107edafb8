"""Queues, saved views and bulk actions, as agents, outsiders and read-only staff see them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tend.core.business_hours import business_calendar_create
from tend.crm.services import account_create
from tend.desk import services
from tend.desk.models import Priority, SavedView, Status, Ticket
from tend.desk.sla import sla_policy_create
from tend.web.tests.helpers import new_ticket

pytestmark = pytest.mark.django_db


def numbers(response) -> set[int]:  # type: ignore[no-untyped-def]
    return {ticket.number for ticket in response.context["page"].object_list}


@pytest.fixture
def sla_policy():  # type: ignore[no-untyped-def]
    """Round-the-clock: first reply within 4 hours, solved within 16."""
    always = {str(day): [["00:00", "23:59"]] for day in range(1, 8)}
    calendar = business_calendar_create(name="Always", time_zone="UTC", weekly_hours=always)
    return sla_policy_create(
        name="Standard", calendar=calendar, targets={Priority.NORMAL: (240, 960)}, is_default=True
    )


@pytest.fixture
def desk(agent, teammate, outsider, team, other_team, sla_policy):  # type: ignore[no-untyped-def]
    """One ticket per situation; names say where each belongs."""
    now = timezone.now()
    t = {
        "unassigned": new_ticket("Printer on fire", team=team),
        "mine": new_ticket("My open ticket", team=team, assignee=agent),
        "teammates": new_ticket("Bob's ticket", team=team, assignee=teammate),
        "billing": new_ticket("Invoice is wrong", team=other_team),
        "pending": new_ticket("Waiting on customer", team=team, assignee=agent),
        "on_hold": new_ticket("Waiting on vendor", team=team, assignee=agent),
        "solved": new_ticket("Fixed already", team=team, assignee=agent),
        "late": new_ticket("Late reply", team=team, assignee=teammate),
    }
    services.ticket_update(actor=agent, ticket=t["pending"], status=Status.PENDING)
    services.ticket_update(actor=agent, ticket=t["on_hold"], status=Status.ON_HOLD)
    services.ticket_solve(actor=agent, ticket=t["solved"], reason="Customer said thanks by phone")
    # The SLA clock set this due time earlier; it has since passed.
    Ticket.objects.filter(pk=t["late"].pk).update(first_response_due_at=now - timedelta(minutes=5))
    return {key: Ticket.objects.get(pk=ticket.pk) for key, ticket in t.items()}


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        ("unassigned", {"unassigned"}),
        ("mine", {"mine", "pending", "on_hold"}),
        ("open", {"unassigned", "mine", "teammates", "late"}),
        ("pending", {"pending"}),
        ("on_hold", {"on_hold"}),
        ("sla", {"late"}),
        ("solved", {"solved"}),
    ],
)
def test_each_queue_lists_its_tickets_and_never_another_teams(client, agent, desk, queue, expected):
    client.force_login(agent)

    response = client.get(reverse("web:queue", args=[queue]))

    assert response.status_code == 200
    assert numbers(response) == {desk[key].number for key in expected}
    assert desk["billing"].subject not in response.content.decode()


def test_outsider_sees_their_teams_ticket_in_the_queue(client, outsider, desk):
    client.force_login(outsider)

    response = client.get(reverse("web:queue", args=["unassigned"]))

    assert numbers(response) == {desk["billing"].number}


def test_queue_shows_the_columns_and_an_sla_badge(client, agent, desk):
    client.force_login(agent)

    page = client.get(reverse("web:queue", args=["sla"])).content.decode()

    for header in [
        "Subject",
        "Requester",
        "Account",
        "Status",
        "Priority",
        "Assignee",
        "Team",
        "SLA due",
        "Updated",
    ]:
        assert f">{header}</th>" in page
    assert 'class="badge sla-breached"' in page


def test_sidebar_counts_every_queue(client, agent, desk):
    client.force_login(agent)

    response = client.get(reverse("web:queue", args=["mine"]))

    counts = {q.slug: q.count for q in response.context["queues"]}
    assert counts == {
        "unassigned": 1,
        "mine": 3,
        "open": 4,
        "pending": 1,
        "on_hold": 1,
        "sla": 1,
        "solved": 1,
    }


def test_unknown_queue_is_not_found(client, agent):
    client.force_login(agent)

    assert client.get("/queues/everything/").status_code == 404


def test_home_sends_agents_to_their_queue_and_read_only_staff_to_open(client, agent, readonly):
    client.force_login(agent)
    assert client.get("/")["Location"] == reverse("web:queue", args=["mine"])

    client.force_login(readonly)
    assert client.get("/")["Location"] == reverse("web:queue", args=["open"])


def test_queue_query_count_does_not_grow_with_rows(client, agent, team):
    acme = account_create(actor=None, name="Acme", domains=["acme.cn"])
    for i in range(5):
        new_ticket(f"Ticket {i}", team=team, assignee=agent, tags=["vip", f"t{i}"])
    client.force_login(agent)
    url = reverse("web:queue", args=["mine"])

    def queries() -> tuple[int, Any]:
        # Without the queue counts and the cache: those are a fixed number of queries
        # made when the counts are not cached (per ticket change, per minute; see
        # test_a_queue_page_counts_the_queues_once), whatever the number of rows.
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        sql = [q["sql"] for q in captured.captured_queries]
        fixed = [
            q
            for q in sql
            if q.startswith(("SELECT COUNT(*)", "SAVEPOINT", "RELEASE SAVEPOINT"))
            or 'MAX("desk_ticket"."updated_at")' in q
            or "tend_cache" in q
            or '"desk_team_members"' in q  # the agent's teams, for the counts
        ]
        return len(sql) - len(fixed), response

    client.get(url)  # warm per-process caches
    few, response = queries()
    assert len(response.context["page"].object_list) == 5
    assert response.context["page"].object_list[0].account == acme

    for i in range(5, 50):
        new_ticket(f"Ticket {i}", team=team, assignee=agent, tags=["vip", f"t{i}"])
    many, response = queries()
    assert len(response.context["page"].object_list) == 50
    assert many == few

    # Cold cache: the 7 queue counts and the cache write are added to the ~14 above.
    cache.clear()
    with CaptureQueriesContext(connection) as cold:
        client.get(url)
    assert len(cold) <= 30


def test_a_queue_page_counts_the_queues_once(client, agent, team):
    new_ticket("Ticket", team=team, assignee=agent)
    client.force_login(agent)
    cache.clear()

    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("web:queue", args=["mine"]))

    # The page's own count and the sidebar's are one computation: one probe for the
    # last ticket change, and each queue counted once.
    assert response.status_code == 200
    sql = [q["sql"] for q in captured.captured_queries]
    assert sum('MAX("desk_ticket"."updated_at")' in q for q in sql) == 1
    assert sum(q.startswith("SELECT COUNT(*)") and "desk_ticket" in q for q in sql) == 7


def test_queue_pages_fifty_rows_at_a_time(client, agent, team):
    for i in range(51):
        new_ticket(f"Ticket {i}", team=team)
    client.force_login(agent)

    first = client.get(reverse("web:queue", args=["unassigned"]))
    second = client.get(reverse("web:queue", args=["unassigned"]), {"page": 2})

    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 1
    assert 'rel="next"' in first.content.decode()


# --- read-only staff -------------------------------------------------------------------


def test_read_only_user_sees_tickets_but_has_no_bulk_bar(client, readonly):
    ticket = new_ticket("No team yet")
    client.force_login(readonly)

    page = client.get(reverse("web:queue", args=["open"]))

    assert numbers(page) == {ticket.number}
    assert 'name="ticket"' not in page.content.decode()
    assert "bulk-form" not in page.content.decode()


def test_read_only_user_cannot_bulk_update(client, readonly):
    ticket = new_ticket("No team yet")
    client.force_login(readonly)

    response = client.post(
        reverse("web:tickets_bulk"),
        {"ticket": [ticket.pk], "action": "status", "status": Status.PENDING},
    )

    assert response.status_code == 403
    assert "permission" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


# --- bulk actions ----------------------------------------------------------------------


def test_bulk_assign_to_a_teammate(client, agent, teammate, desk):
    client.force_login(agent)
    chosen = [desk["unassigned"].pk, desk["mine"].pk]

    response = client.post(
        reverse("web:tickets_bulk"),
        {
            "ticket": chosen,
            "action": "assign",
            "assign_to": f"user:{teammate.pk}",
            "next": "/queues/mine/",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == "/queues/mine/"
    assert "Updated 2 tickets." in response.content.decode()
    assert set(Ticket.objects.filter(pk__in=chosen).values_list("assignee", flat=True)) == {
        teammate.pk
    }


def test_bulk_assign_to_a_team_and_unassign(client, agent, other_team, desk):
    client.force_login(agent)

    client.post(
        reverse("web:tickets_bulk"),
        {
            "ticket": [desk["unassigned"].pk],
            "action": "assign",
            "assign_to": f"team:{other_team.pk}",
        },
    )
    client.post(
        reverse("web:tickets_bulk"),
        {"ticket": [desk["mine"].pk], "action": "assign", "assign_to": "none"},
    )

    assert Ticket.objects.get(pk=desk["unassigned"].pk).team == other_team
    assert Ticket.objects.get(pk=desk["mine"].pk).assignee is None


def test_bulk_set_status_and_tags(client, agent, desk):
    client.force_login(agent)
    chosen = [desk["mine"].pk, desk["teammates"].pk]

    client.post(
        reverse("web:tickets_bulk"), {"ticket": chosen, "action": "status", "status": "pending"}
    )
    client.post(
        reverse("web:tickets_bulk"), {"ticket": chosen, "action": "add_tag", "tag": "Outage"}
    )

    for ticket in Ticket.objects.filter(pk__in=chosen):
        assert ticket.status == Status.PENDING
        assert list(ticket.tags.values_list("name", flat=True)) == ["outage"]

    client.post(
        reverse("web:tickets_bulk"), {"ticket": chosen, "action": "remove_tag", "tag": "outage"}
    )
    assert not Ticket.objects.filter(pk__in=chosen, tags__name="outage").exists()


def test_bulk_update_skips_tickets_the_agent_cannot_see(client, agent, desk):
    client.force_login(agent)

    response = client.post(
        reverse("web:tickets_bulk"),
        {"ticket": [desk["billing"].pk], "action": "status", "status": "pending"},
        follow=True,
    )

    assert "Updated 0 tickets." in response.content.decode()
    assert Ticket.objects.get(pk=desk["billing"].pk).status == Status.NEW


def test_bulk_without_a_selection_explains_what_is_missing(client, agent, desk):
    client.force_login(agent)

    response = client.post(
        reverse("web:tickets_bulk"), {"action": "status", "status": "pending"}, follow=True
    )

    assert "Select at least one ticket." in response.content.decode()


def test_bulk_refuses_a_status_agents_cannot_set(client, agent, desk):
    client.force_login(agent)

    response = client.post(
        reverse("web:tickets_bulk"),
        {"ticket": [desk["mine"].pk], "action": "status", "status": "solved"},
        follow=True,
    )

    assert response.status_code == 200
    assert Ticket.objects.get(pk=desk["mine"].pk).status == Status.OPEN


# --- filters and saved views ---------------------------------------------------------------


def test_filter_form_narrows_the_list(client, agent, team, desk):
    services.ticket_update(
        actor=agent, ticket=desk["teammates"], add_tags=["billing"], priority="urgent"
    )
    client.force_login(agent)

    response = client.get(
        reverse("web:ticket_list"), {"tags": "billing", "status": ["open", "new"]}
    )
    assert numbers(response) == {desk["teammates"].number}

    by_team = client.get(reverse("web:ticket_list"), {"team": str(team.pk), "sort": "-priority"})
    assert by_team.context["page"].object_list[0] == desk["teammates"]
    assert desk["billing"].number not in numbers(by_team)


def test_agent_saves_a_personal_view_and_opens_it(client, agent, teammate, desk):
    services.ticket_update(actor=agent, ticket=desk["teammates"], add_tags=["billing"])
    client.force_login(agent)

    response = client.post(
        reverse("web:saved_view_new") + "?tags=billing&status=open&sort=-created_at",
        {"name": "Billing questions"},
    )

    view = SavedView.objects.get()
    assert response["Location"] == reverse("web:saved_view", args=[view.pk])
    assert view.owner == agent
    assert view.filters == {"status": ["open"], "tags": ["billing"]}
    assert view.sort == "-created_at"
    page = client.get(response["Location"])
    assert numbers(page) == {desk["teammates"].number}
    assert "Billing questions" in page.content.decode()  # in the sidebar and the heading

    client.force_login(teammate)
    assert client.get(response["Location"]).status_code == 404


def test_saved_view_with_an_assignee_filter_and_unassigned(client, agent, desk):
    client.force_login(agent)

    client.post(
        reverse("web:saved_view_new")
        + f"?assignee={agent.pk}&assignee=none&status=new&status=open",
        {"name": "Mine or nobody's"},
    )

    view = SavedView.objects.get()
    assert view.filters["assignee"] == [agent.pk, "none"]
    assert numbers(client.get(reverse("web:saved_view", args=[view.pk]))) == {
        desk["unassigned"].number,
        desk["mine"].number,
    }


def test_only_managers_share_views(client, agent, manager, desk):
    client.force_login(agent)
    refused = client.post(
        reverse("web:saved_view_new") + "?status=new", {"name": "New", "shared": "on"}
    )
    assert refused.status_code == 403
    assert not SavedView.objects.exists()

    client.force_login(manager)
    client.post(
        reverse("web:saved_view_new") + "?status=new", {"name": "Everything new", "shared": "on"}
    )
    view = SavedView.objects.get()
    assert view.owner is None

    client.force_login(agent)
    page = client.get(reverse("web:queue", args=["mine"]))
    assert "Everything new" in page.content.decode()
    assert numbers(client.get(reverse("web:saved_view", args=[view.pk]))) == {
        desk["unassigned"].number
    }


def test_owner_deletes_their_view(client, agent, desk):
    client.force_login(agent)
    client.post(reverse("web:saved_view_new") + "?status=new", {"name": "Fresh"})
    view = SavedView.objects.get()

    response = client.post(reverse("web:saved_view_delete", args=[view.pk]))

    assert response.status_code == 302
    assert not SavedView.objects.exists()


# --- language ------------------------------------------------------------------------------


def test_switching_to_chinese_translates_the_queue_page(client, agent, desk):
    client.force_login(agent)

    response = client.post(
        reverse("web:language_set"), {"language": "zh-hans", "next": "/queues/mine/"}
    )
    assert response["Location"] == "/queues/mine/"

    page = client.get("/queues/mine/").content.decode()
    assert '<html lang="zh-hans">' in page
    assert ">主题</th>" in page  # "Subject"
    assert "批量操作" in page  # "Bulk actions …"
    agent.refresh_from_db()
    assert agent.language == "zh-hans"
