"""Search, account and contact pages, preferences and the away switch."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tend.crm.services import account_create
from tend.web.tests.helpers import new_ticket

pytestmark = pytest.mark.django_db


def test_search_groups_tickets_contacts_and_accounts(
    client, agent, team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the search index updates on commit
        account_create(actor=None, name="Acme Login Corp", domains=["acme.cn"])
        ticket = new_ticket("Login loops forever", team=team)
    client.force_login(agent)

    response = client.get(reverse("web:search"), {"q": "login"})

    results = response.context["results"]
    assert [t.number for t in results.tickets] == [ticket.number]
    assert [a.name for a in results.accounts] == ["Acme Login Corp"]
    page = response.content.decode()
    assert "Login loops forever" in page
    assert reverse("web:account", args=[results.accounts[0].pk]) in page


def test_search_never_shows_another_teams_ticket(
    client, agent, other_team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        new_ticket("Login for billing only", team=other_team)
    client.force_login(agent)

    response = client.get(reverse("web:search"), {"q": "billing"})

    assert response.context["results"].tickets == []
    assert "Login for billing only" not in response.content.decode()


def test_search_filters_by_status(client, agent, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        new_ticket("Login one", team=team)
        new_ticket("Login two", team=team, assignee=agent)  # open, not new
    client.force_login(agent)

    response = client.get(reverse("web:search"), {"q": "login", "status": "new"})

    assert [t.subject for t in response.context["results"].tickets] == ["Login one"]


def test_empty_search_shows_the_form_only(client, agent):
    client.force_login(agent)

    response = client.get(reverse("web:search"))

    assert response.status_code == 200
    assert response.context["results"] is None


def test_account_page_lists_its_visible_tickets_and_contacts(client, agent, team, other_team):
    acme = account_create(actor=None, name="Acme", domains=["acme.cn"])
    ours = new_ticket("Export fails", team=team)
    new_ticket("Refund please", team=other_team)
    client.force_login(agent)

    response = client.get(reverse("web:account", args=[acme.pk]))

    assert [t.number for t in response.context["page"].object_list] == [ours.number]
    page = response.content.decode()
    assert "acme.cn" in page
    assert "li.wei@acme.cn" in page  # the requester became a contact of the account
    assert "Refund please" not in page


def test_contact_page_lists_their_tickets(client, agent, team):
    ticket = new_ticket("Export fails", team=team)
    client.force_login(agent)

    response = client.get(reverse("web:contact", args=[ticket.requester_id]))

    assert response.status_code == 200
    assert [t.number for t in response.context["page"].object_list] == [ticket.number]
    assert "li.wei@acme.cn" in response.content.decode()


def test_preferences_save_language_time_zone_and_away(client, agent):
    client.force_login(agent)
    assert client.get(reverse("web:profile")).status_code == 200

    response = client.post(
        reverse("web:profile"),
        {"language": "en", "time_zone": "Asia/Shanghai", "is_away": "on"},
        follow=True,
    )

    assert "Preferences saved." in response.content.decode()
    agent.refresh_from_db()
    assert (agent.language, agent.time_zone, agent.is_away) == ("en", "Asia/Shanghai", True)


def test_preferences_refuse_an_unknown_time_zone(client, agent):
    client.force_login(agent)

    response = client.post(reverse("web:profile"), {"language": "en", "time_zone": "Mars/Olympus"})

    assert response.status_code == 200
    assert response.context["form"].errors["time_zone"]
    agent.refresh_from_db()
    assert agent.time_zone == "UTC"


def test_away_toggle_flips_and_answers_htmx_with_a_fragment(client, agent):
    client.force_login(agent)

    response = client.post(reverse("web:away_toggle"), HTTP_HX_REQUEST="true")

    agent.refresh_from_db()
    assert agent.is_away
    assert "<html" not in response.content.decode()
    assert 'id="away-dot"' in response.content.decode()

    back = client.post(reverse("web:away_toggle"), {"next": "/queues/open/"})
    agent.refresh_from_db()
    assert not agent.is_away
    assert back["Location"] == "/queues/open/"


def test_language_switch_ignores_a_foreign_next_url(client, agent):
    client.force_login(agent)

    response = client.post(
        reverse("web:language_set"), {"language": "en", "next": "https://evil.example/"}
    )

    assert response["Location"] == reverse("web:queue_default")


def test_base_page_has_skip_link_search_and_shortcut_help(client, agent):
    client.force_login(agent)

    page = client.get(reverse("web:queue", args=["open"])).content.decode()

    assert 'href="#main"' in page
    assert 'id="global-search"' in page
    assert 'id="shortcut-help"' in page
    assert 'data-go-key="u"' in page
    assert 'hx-headers=\'{"X-CSRFToken":' in page
