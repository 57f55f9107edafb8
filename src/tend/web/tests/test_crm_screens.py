"""Accounts and contacts screens: lists, filters, sorting, create/edit, subscriptions,
deleting a contact or a subscription."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conftest import make_staff
from tend.core.models import AuditEntry, SearchDocument, User
from tend.core.roles import Role
from tend.crm.models import Account, Contact, Lifecycle, Subscription
from tend.crm.services import account_create, contact_create, subscription_create
from tend.desk.services import ticket_create, ticket_open

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def csm(db: None) -> User:
    return make_staff("casey", Role.CSM, first_name="Casey")


@pytest.fixture
def accounts(csm: User) -> dict[str, Account]:
    acme = account_create(
        actor=None, name="Acme", domains=["acme.cn"], segment="Enterprise", owner=csm
    )
    beta = account_create(actor=None, name="Beta Ltd", segment="SMB", lifecycle=Lifecycle.AT_RISK)
    zulu = account_create(actor=None, name="Zulu", segment="SMB", lifecycle=Lifecycle.MATURE)
    today = dt.date(2026, 11, 24)
    subscription_create(
        actor=None,
        account=acme,
        plan="Pro",
        starts_on=today,
        mrr_minor=50_000,
        currency="CNY",
        renews_on=today + dt.timedelta(days=300),
    )
    subscription_create(
        actor=None,
        account=zulu,
        plan="Team",
        starts_on=today,
        mrr_minor=900_000,
        currency="CNY",
        renews_on=today + dt.timedelta(days=30),
    )
    return {"acme": acme, "beta": beta, "zulu": zulu}


def _names_in_order(html: str, names: list[str]) -> list[str]:
    return sorted(names, key=html.index)


def test_agent_sees_the_account_list_linking_to_account_pages(
    agent: User, accounts: dict[str, Account]
) -> None:
    response = _client(agent).get(reverse("web:crm_accounts"))

    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("web:account", args=[accounts["acme"].pk]) in html
    assert "¥500.00" in html
    # An Agent may read accounts but not change them.
    assert reverse("web:crm_account_new") not in html
    assert reverse("web:crm_account_edit", args=[accounts["acme"].pk]) not in html


def test_account_list_sorts_by_mrr_and_renewal(csm: User, accounts: dict[str, Account]) -> None:
    client = _client(csm)
    names = ["Acme", "Beta Ltd", "Zulu"]

    by_mrr = client.get(reverse("web:crm_accounts"), {"sort": "-mrr"}).content.decode()
    by_renewal = client.get(reverse("web:crm_accounts"), {"sort": "renewal"}).content.decode()

    assert _names_in_order(by_mrr, names) == ["Zulu", "Acme", "Beta Ltd"]
    # No renewal date sorts last either way.
    assert _names_in_order(by_renewal, names) == ["Zulu", "Acme", "Beta Ltd"]


def test_account_list_filters_by_segment_lifecycle_owner_and_text(
    csm: User, accounts: dict[str, Account]
) -> None:
    client = _client(csm)
    url = reverse("web:crm_accounts")

    def listed(**params: str) -> set[str]:
        page = client.get(url, params).context["page"]
        return {a.name for a in page.object_list}

    assert listed(segment="SMB") == {"Beta Ltd", "Zulu"}
    assert listed(lifecycle="at_risk") == {"Beta Ltd"}
    assert listed(owner=str(csm.pk)) == {"Acme"}
    assert listed(owner="none") == {"Beta Ltd", "Zulu"}
    assert listed(q="acme.cn") == {"Acme"}


def test_staff_without_crm_permissions_are_refused(db: None) -> None:
    nobody = User.objects.create_user(username="nobody", password="x")
    client = _client(nobody)

    for name in ("web:crm_accounts", "web:crm_contacts", "web:crm_account_new"):
        assert client.get(reverse(name)).status_code == 403
    assert client.get(reverse("web:crm_accounts_export")).status_code == 403


def test_read_only_staff_cannot_create_or_edit(
    readonly: User, accounts: dict[str, Account]
) -> None:
    client = _client(readonly)

    assert client.get(reverse("web:crm_accounts")).status_code == 200
    assert client.get(reverse("web:crm_account_new")).status_code == 403
    response = client.post(
        reverse("web:crm_account_edit", args=[accounts["acme"].pk]), {"name": "Hacked"}
    )
    assert response.status_code == 403
    assert Account.objects.get(pk=accounts["acme"].pk).name == "Acme"


def test_csm_creates_and_edits_an_account(csm: User, accounts: dict[str, Account]) -> None:
    client = _client(csm)

    response = client.post(
        reverse("web:crm_account_new"),
        {
            "name": "Globex 中国",
            "domains": "globex.cn\nglobex.com",
            "external_id": "g-1",
            "parent": accounts["acme"].pk,
            "owner": csm.pk,
            "segment": "Enterprise",
            "tier": "Gold",
            "lifecycle": "adopting",
            "notes": "Met at the expo.",
        },
    )
    account = Account.objects.get(external_id="g-1")
    assert response.status_code == 302
    assert response["Location"] == reverse("web:account", args=[account.pk])
    assert account.name == "Globex 中国"
    assert account.parent == accounts["acme"]
    assert account.owner == csm
    assert sorted(d.domain for d in account.domains.all()) == ["globex.cn", "globex.com"]

    edit_url = reverse("web:crm_account_edit", args=[account.pk])
    form = client.get(edit_url)
    assert form.status_code == 200
    assert "globex.com" in form.content.decode()
    response = client.post(
        edit_url,
        {"name": "Globex", "domains": "globex.cn", "lifecycle": "mature", "external_id": "g-1"},
    )
    account.refresh_from_db()
    assert response.status_code == 302
    assert (account.name, account.lifecycle, account.parent, account.owner) == (
        "Globex",
        "mature",
        None,
        None,
    )
    assert [d.domain for d in account.domains.all()] == ["globex.cn"]


def test_account_form_shows_service_errors(csm: User, accounts: dict[str, Account]) -> None:
    response = _client(csm).post(
        reverse("web:crm_account_new"),
        {"name": "Copycat", "domains": "acme.cn", "lifecycle": "onboarding"},
    )

    assert response.status_code == 400
    assert "acme.cn" in response.context["form"].errors["domains"][0]
    assert not Account.objects.filter(name="Copycat").exists()


def test_subscriptions_are_added_and_edited_on_the_account(
    csm: User, accounts: dict[str, Account]
) -> None:
    client = _client(csm)
    beta = accounts["beta"]

    response = client.post(
        reverse("web:crm_subscription_new", args=[beta.pk]),
        {
            "plan": "Starter",
            "mrr": "199.50",
            "currency": "cny",
            "seats": "10",
            "starts_on": "2026-01-01",
            "renews_on": "2027-01-01",
            "auto_renew": "on",
            "status": "active",
        },
    )
    assert response.status_code == 302
    subscription = Subscription.objects.get(account=beta)
    assert (subscription.mrr_minor, subscription.currency, subscription.seats) == (
        19950,
        "CNY",
        10,
    )

    page = client.get(reverse("web:crm_account_edit", args=[beta.pk])).content.decode()
    assert "Starter" in page and "¥199.50" in page

    response = client.post(
        reverse("web:crm_subscription_edit", args=[subscription.pk]),
        {
            "plan": "Starter",
            "mrr": "199.50",
            "currency": "CNY",
            "seats": "12",
            "starts_on": "2026-01-01",
            "renews_on": "2025-01-01",
            "status": "active",
        },
    )
    # The renewal before the start is the service's complaint, shown on the field.
    assert response.status_code == 400
    assert response.context["form"].errors["renews_on"]


def test_a_three_decimal_currency_round_trips_through_the_form(
    csm: User, accounts: dict[str, Account]
) -> None:
    subscription = subscription_create(
        actor=None,
        account=accounts["beta"],
        plan="Gulf",
        starts_on=dt.date(2026, 1, 1),
        mrr_minor=1_234_567,
        currency="KWD",
    )
    client = _client(csm)
    url = reverse("web:crm_subscription_edit", args=[subscription.pk])
    form = client.get(url).context["form"]
    assert form.initial["mrr"] == Decimal("1234.567")

    response = client.post(
        url,
        {
            "plan": "Gulf",
            "mrr": "1234.567",
            "currency": "KWD",
            "seats": "0",
            "starts_on": "2026-01-01",
            "status": "active",
        },
    )

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.mrr_minor == 1_234_567
    page = client.get(reverse("web:crm_account_edit", args=[accounts["beta"].pk]))
    assert "1,234.567 KWD" in page.content.decode()


def test_a_manager_deletes_a_subscription_after_confirming_and_a_csm_cannot(
    csm: User, accounts: dict[str, Account]
) -> None:
    acme = accounts["acme"]
    subscription = Subscription.objects.filter(account=acme).first()
    assert subscription is not None
    url = reverse("web:crm_subscription_delete", args=[subscription.pk])
    edit = reverse("web:crm_subscription_edit", args=[subscription.pk])
    assert url not in _client(csm).get(edit).content.decode()
    assert _client(csm).post(url, {"reason": "x"}).status_code == 403
    manager = make_staff("morgan", Role.MANAGER)
    client = _client(manager)
    assert url in client.get(edit).content.decode()

    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Canceled or Expired instead" in confirm.content.decode()
    assert Subscription.objects.filter(pk=subscription.pk).exists()  # GET deletes nothing

    response = client.post(url, {"reason": "entered twice"})

    assert response.status_code == 302
    assert response["Location"] == reverse("web:crm_account_edit", args=[acme.pk])
    assert not Subscription.objects.filter(pk=subscription.pk).exists()
    entry = AuditEntry.objects.get(action="crm.subscription_delete")
    assert (entry.actor_id, entry.reason) == (manager.pk, "entered twice")


def test_a_manager_deletes_an_account_after_typing_its_name(
    csm: User, accounts: dict[str, Account], django_capture_on_commit_callbacks: Any
) -> None:
    zulu = accounts["zulu"]
    wu = contact_create(actor=None, email="wu@mail.example", name="Wu Fang", account=zulu)
    with django_capture_on_commit_callbacks(execute=True):  # indexing follows the commit
        ticket, _comment = ticket_open(
            actor=None,
            subject="Export fails",
            description="It times out.",
            requester_email=wu.email,
        )
    assert ticket.account_id == zulu.pk
    assert "zulu" in SearchDocument.objects.get(kind="ticket", object_id=ticket.pk).tokens
    url = reverse("web:crm_account_delete", args=[zulu.pk])
    edit = reverse("web:crm_account_edit", args=[zulu.pk])
    page = _client(csm).get(edit)
    assert page.status_code == 200 and url not in page.content.decode()
    assert _client(csm).post(url, {"name": "Zulu"}).status_code == 403
    manager = make_staff("morgan", Role.MANAGER)
    client = _client(manager)
    assert url in client.get(edit).content.decode()

    wrong = client.post(url, {"name": "Zulu Inc", "reason": "duplicate"})
    assert wrong.status_code == 400
    assert wrong.context["form"].errors["name"]
    assert Account.objects.filter(pk=zulu.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"name": "Zulu", "reason": "duplicate of Zulu Ltd"})

    assert response.status_code == 302 and response["Location"] == reverse("web:crm_accounts")
    assert not Account.objects.filter(pk=zulu.pk).exists()
    assert not Subscription.objects.filter(account_id=zulu.pk).exists()
    wu.refresh_from_db()
    ticket.refresh_from_db()
    assert wu.account_id is None and ticket.account_id is None  # people and tickets stay
    # The ticket is found by what it says, no longer by the account's name.
    assert "zulu" not in SearchDocument.objects.get(kind="ticket", object_id=ticket.pk).tokens
    entry = AuditEntry.objects.get(action="crm.account_delete")
    assert (entry.actor_id, entry.reason, entry.data["name"]) == (
        manager.pk,
        "duplicate of Zulu Ltd",
        "Zulu",
    )
    assert (entry.data["contact_ids"], entry.data["ticket_ids"]) == ([wu.pk], [ticket.pk])
    assert entry.data["subscriptions"] and entry.data["lifecycle"] == "mature"


def test_a_manager_deletes_a_contact_but_not_one_with_tickets(db: None) -> None:
    manager = make_staff("morgan", Role.MANAGER)
    client = _client(manager)
    li = contact_create(actor=None, email="li@acme.cn", name="Li Wei")
    wang = contact_create(actor=None, email="wang@acme.cn", name="Wang Fang")
    ticket_create(
        actor=None, subject="Export fails", description="It times out.", requester_email=wang.email
    )
    assert (
        reverse("web:crm_contact_delete", args=[li.pk])
        in client.get(reverse("web:crm_contact_edit", args=[li.pk])).content.decode()
    )

    kept = client.post(reverse("web:crm_contact_delete", args=[wang.pk]), {"reason": "asked"})
    assert kept.status_code == 400
    assert "still has tickets" in kept.content.decode()
    assert Contact.objects.filter(pk=wang.pk).exists()

    response = client.post(reverse("web:crm_contact_delete", args=[li.pk]), {"reason": "GDPR"})

    assert response.status_code == 302 and response["Location"] == reverse("web:crm_contacts")
    assert not Contact.objects.filter(pk=li.pk).exists()
    assert AuditEntry.objects.get(action="crm.contact_delete").reason == "GDPR"
    page = client.get(reverse("web:crm_contacts")).content.decode()
    assert "Contact Li Wei deleted." in page
    assert reverse("web:contact", args=[li.pk]) not in page
    assert reverse("web:contact", args=[wang.pk]) in page


def test_agent_creates_and_edits_a_contact_with_roles(
    agent: User, accounts: dict[str, Account]
) -> None:
    client = _client(agent)

    response = client.post(
        reverse("web:crm_contact_new"),
        {
            "name": "李伟",
            "email": "Li.Wei@acme.cn",
            "external_id": "u-1",
            "title": "CTO",
            "other_emails": "li@home.cn",
            "phones": "+86 138 0000 0000",
            "social": "wechat: li_wei\ntwitter: @liwei",
            "roles": ["champion", "decision_maker"],
            "evangelist_stage": "user",
        },
    )
    contact = Contact.objects.get(external_id="u-1")
    assert response.status_code == 302
    assert contact.email == "li.wei@acme.cn"
    assert contact.account == accounts["acme"]  # joined by the email's domain
    assert contact.roles == ["decision_maker", "champion"]
    assert contact.social == {"wechat": "li_wei", "twitter": "@liwei"}
    assert contact.phones == ["+86 138 0000 0000"]

    edit_url = reverse("web:crm_contact_edit", args=[contact.pk])
    assert client.get(edit_url).status_code == 200
    client.post(
        edit_url,
        {
            "name": "李伟",
            "email": "li.wei@acme.cn",
            "external_id": "u-1",
            "account": accounts["beta"].pk,
            "roles": ["user"],
            "evangelist_stage": "evangelist",
        },
    )
    contact.refresh_from_db()
    assert (contact.account, contact.roles, contact.evangelist_stage) == (
        accounts["beta"],
        ["user"],
        "evangelist",
    )


def test_contact_list_filters_and_links_to_contact_pages(
    agent: User, accounts: dict[str, Account]
) -> None:
    li = contact_create(actor=None, email="li@acme.cn", name="Li", roles=["champion"])
    contact_create(actor=None, email="zhang@beta.cn", name="Zhang", account=accounts["beta"])
    client = _client(agent)
    url = reverse("web:crm_contacts")

    def listed(**params: str) -> set[str]:
        return {c.name for c in client.get(url, params).context["page"].object_list}

    assert listed() == {"Li", "Zhang"}
    assert listed(role="champion") == {"Li"}
    assert listed(account=str(accounts["beta"].pk)) == {"Zhang"}
    assert listed(q="zhang@") == {"Zhang"}
    html = client.get(url).content.decode()
    assert reverse("web:contact", args=[li.pk]) in html
    assert "Champion" in html  # roles by their label


def test_contact_facts_partial_shows_the_customer_success_fields(agent: User) -> None:
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    contact = contact_create(
        actor=None,
        email="li@acme.cn",
        roles=["executive_sponsor"],
        phones=["+86 10 1234 5678"],
        social={"wechat": "li_wei"},
        title="CTO",
    )
    request = RequestFactory().get("/")
    request.user = agent

    html = render_to_string("web/crm/_contact_facts.html", {"contact": contact}, request=request)

    assert "Executive sponsor" in html and "CTO" in html and "wechat: li_wei" in html
    assert 'href="tel:+86 10 1234 5678"' in html
    assert reverse("web:crm_contact_edit", args=[contact.pk]) in html


def test_account_list_costs_the_same_queries_for_one_row_or_many(csm: User) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(csm)
    url = reverse("web:crm_accounts")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, {"sort": "-mrr"}).status_code == 200
        return len(captured.captured_queries)

    parent = account_create(actor=None, name="Parent", owner=csm)
    queries()  # the first request also loads the session and fills caches
    one = queries()
    for n in range(10):
        account = account_create(actor=None, name=f"Child {n}", parent=parent, owner=csm)
        subscription_create(
            actor=None, account=account, plan="Pro", starts_on=dt.date(2026, 1, 1), mrr_minor=n
        )

    # Warm again: on a loaded machine making the rows can outlast the per-process
    # caches' few seconds, and a cache refill is not a per-row query.
    queries()
    assert queries() == one


def test_contact_list_costs_the_same_queries_for_one_row_or_many(agent: User) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(agent)
    url = reverse("web:crm_contacts")
    acme = account_create(actor=None, name="Acme")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    contact_create(actor=None, email="a@x.cn", account=acme, roles=["user"])
    queries()  # the first request also loads the session and fills caches
    one = queries()
    for n in range(10):
        contact_create(actor=None, email=f"p{n}@x.cn", account=acme, roles=["champion"])

    queries()  # warm again (see the account list's test)
    assert queries() == one
