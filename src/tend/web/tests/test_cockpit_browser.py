"""The cockpit in a real browser: "My accounts" sorts by a header click, and the
account 360 page shows its timeline. Screenshots land in $TEND_SCREENSHOTS if set."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from conftest import make_staff, shot
from tend.core.roles import Role
from tend.crm.models import Account, Contact, Subscription, Touchpoint, TouchpointKind
from tend.health.models import HealthSnapshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_my_accounts_and_account_page(signed_in: Callable[..., Any]) -> None:
    csm = make_staff("carla", Role.CSM, first_name="Carla")
    today = timezone.localdate()
    for name, score, band, mrr in (("Acme", 35, "red", 49_900), ("Globex", 82, "green", 9_900)):
        account = Account.objects.create(name=name, owner=csm, segment="SMB")
        HealthSnapshot.objects.create(
            account=account, day=today - dt.timedelta(days=1), score=90, band="green"
        )
        HealthSnapshot.objects.create(account=account, day=today, score=score, band=band)
        Subscription.objects.create(
            account=account,
            plan="Pro",
            mrr_minor=mrr,
            seats=20,
            starts_on=today - dt.timedelta(days=200),
            renews_on=today + dt.timedelta(days=40),
        )
        Contact.objects.create(
            name=f"{name} Champion",
            email=f"c@{name.lower()}.test",
            account=account,
            roles=["champion"],
        )
        Touchpoint.objects.create(
            account=account,
            author=csm,
            kind=TouchpointKind.CALL,
            subject="Renewal call",
            body="Budget approved.",
            happened_at=timezone.now() - dt.timedelta(hours=2),
        )
    page = signed_in(csm, viewport={"width": 1280, "height": 900})

    page.goto("/cs/accounts/")
    page.click("a[data-sort=health]")
    page.wait_for_url("**sort=health**")
    names = page.locator("#my-accounts tbody tr td:first-child").all_inner_texts()
    assert names == ["Acme", "Globex"]
    shot(page, "cockpit-my-accounts")

    page.click("#my-accounts a:text-is('Acme')")
    page.wait_for_url("**/accounts/*/")
    assert page.locator("#account-timeline li[data-kind=call]").count() == 1
    assert page.locator("#account-timeline li[data-kind=health_change]").count() == 1
    shot(page, "cockpit-account-360")


def test_view_as_customer_from_the_account_page(signed_in: Callable[..., Any]) -> None:
    from tend.desk.services import ticket_create

    csm = make_staff("carla", Role.CSM, first_name="Carla")
    ticket = ticket_create(
        actor=None,
        subject="Export is empty",
        description="No rows.",
        requester_email="li@acme.test",
        requester_name="Li Wei",
    )
    contact = ticket.requester
    account = Account.objects.create(name="Acme", owner=csm)
    Contact.objects.filter(pk=contact.pk).update(account=account)
    page = signed_in(csm, viewport={"width": 1100, "height": 800})

    page.goto(f"/accounts/{account.pk}/")
    page.click("text=View as customer")
    page.fill("textarea[name=reason]", "Checking what Li sees")
    page.click("button[type=submit].primary")
    page.wait_for_url("**/portal/view-as/")
    assert "Viewing as Li Wei" in page.locator("#view-as-banner").inner_text()
    assert page.locator("text=Export is empty").count() == 1
    shot(page, "view-as-home")

    page.click("#view-as-banner button")
    page.wait_for_url(f"**/contacts/{contact.pk}/")
