"""Subscriptions and touchpoints: money, seats, dates checked; the account's figures read."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tend.crm.models import Subscription, SubscriptionStatus, Touchpoint
from tend.crm.selectors import (
    account_mrr,
    account_renewal,
    account_seats,
    accounts_mrr,
    accounts_renewal,
    accounts_seats,
)
from tend.crm.services import (
    account_create,
    contact_create,
    subscription_create,
    subscription_update,
    touchpoint_create,
)

JAN = date(2026, 1, 1)


def test_csm_records_a_subscription(csm):
    acme = account_create(actor=csm, name="Acme")

    sub = subscription_create(
        actor=csm,
        account=acme,
        plan="Business",
        starts_on=JAN,
        renews_on=date(2027, 1, 1),
        mrr_minor=1_250_000,
        currency="cny",
        seats=40,
        auto_renew=False,
    )

    sub = Subscription.objects.get(pk=sub.pk)
    assert (sub.plan, sub.mrr_minor, sub.currency, sub.seats) == ("Business", 1_250_000, "CNY", 40)
    assert (sub.renews_on, sub.auto_renew, sub.status) == (date(2027, 1, 1), False, "active")


def test_invalid_money_seats_and_dates_are_refused(csm):
    acme = account_create(actor=csm, name="Acme")

    with pytest.raises(ValidationError) as caught:
        subscription_create(
            actor=csm,
            account=acme,
            plan="",
            starts_on=JAN,
            mrr_minor=-5,
            currency="yuan",
            seats=True,
            status="paused",
        )

    assert set(caught.value.message_dict) == {"plan", "mrr_minor", "currency", "seats", "status"}
    with pytest.raises(ValidationError) as caught:
        subscription_create(
            actor=csm, account=acme, plan="Pro", starts_on=JAN, renews_on=date(2025, 12, 31)
        )
    assert "renews_on" in caught.value.message_dict
    assert not Subscription.objects.exists()


def test_update_checks_the_renewal_against_the_stored_start(csm):
    acme = account_create(actor=csm, name="Acme")
    sub = subscription_create(actor=csm, account=acme, plan="Pro", starts_on=JAN, seats=5)

    with pytest.raises(ValidationError):
        subscription_update(actor=csm, subscription=sub, renews_on=date(2025, 6, 1))
    sub = subscription_update(actor=csm, subscription=sub, seats=8, status="past_due")

    assert (sub.seats, sub.status, sub.renews_on) == (8, "past_due", None)


@pytest.mark.parametrize("who", ["agent", "readonly"])
def test_only_account_managers_and_csms_write_subscriptions(request, csm, who):
    user = request.getfixturevalue(who)
    acme = account_create(actor=csm, name="Acme")
    sub = subscription_create(actor=csm, account=acme, plan="Pro", starts_on=JAN)

    with pytest.raises(PermissionDenied):
        subscription_create(actor=user, account=acme, plan="Pro", starts_on=JAN)
    with pytest.raises(PermissionDenied):
        subscription_update(actor=user, subscription=sub, seats=100)
    assert Subscription.objects.get().seats == 0


def test_agents_log_touchpoints_but_readonly_does_not(csm, agent, readonly):
    acme = account_create(actor=csm, name="Acme")
    when = datetime(2026, 3, 1, 9, tzinfo=UTC)

    touchpoint_create(
        actor=agent, account=acme, kind="call", subject="Outage call", body="", happened_at=when
    )
    with pytest.raises(PermissionDenied):
        touchpoint_create(
            actor=readonly, account=acme, kind="note", subject="Hi", body="", happened_at=when
        )
    assert list(Touchpoint.objects.values_list("subject", flat=True)) == ["Outage call"]


def test_seats_mrr_and_renewal_count_only_running_subscriptions(csm):
    acme = account_create(actor=csm, name="Acme")

    def sub(status: str, seats: int, mrr: int, renews: date | None) -> None:
        subscription_create(
            actor=csm,
            account=acme,
            plan=status,
            starts_on=JAN,
            seats=seats,
            mrr_minor=mrr,
            currency="CNY",
            renews_on=renews,
            status=status,
        )

    sub(SubscriptionStatus.ACTIVE, 10, 100_00, date(2026, 12, 1))
    sub(SubscriptionStatus.PAST_DUE, 5, 50_00, date(2026, 9, 1))
    sub(SubscriptionStatus.TRIAL, 3, 0, None)
    sub(SubscriptionStatus.CANCELED, 100, 900_00, date(2026, 2, 1))
    sub(SubscriptionStatus.EXPIRED, 100, 900_00, date(2026, 1, 31))

    assert account_seats(acme) == 18
    assert account_mrr(acme) == (150_00, "CNY")
    assert account_renewal(acme) == date(2026, 9, 1)


def test_figures_for_a_list_take_one_query_each(csm, django_assert_num_queries):
    acme = account_create(actor=csm, name="Acme")
    globex = account_create(actor=csm, name="Globex")
    subscription_create(
        actor=csm, account=acme, plan="Pro", starts_on=JAN, seats=4, mrr_minor=999, currency="EUR"
    )
    ids = [acme.pk, globex.pk]

    with django_assert_num_queries(3):
        seats, mrr, renewal = accounts_seats(ids), accounts_mrr(ids), accounts_renewal(ids)

    assert seats == {acme.pk: 4, globex.pk: 0}
    assert mrr == {acme.pk: (999, "EUR"), globex.pk: (0, "USD")}
    assert renewal == {acme.pk: None, globex.pk: None}


def test_mixed_currencies_report_the_main_contract(csm):
    acme = account_create(actor=csm, name="Acme")
    for amount, currency in ((100, "USD"), (200, "USD"), (5000, "CNY")):
        subscription_create(
            actor=csm,
            account=acme,
            plan="Pro",
            starts_on=JAN,
            mrr_minor=amount,
            currency=currency,
        )

    assert account_mrr(acme) == (300, "USD")


def test_csm_logs_a_call_with_a_contact_of_the_account(csm, agent):
    acme = account_create(actor=csm, name="Acme")
    li = contact_create(actor=agent, email="li@acme.com", account=acme)
    when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

    call = touchpoint_create(
        actor=csm,
        account=acme,
        kind="call",
        subject="Renewal call",
        body="Wants SSO.",
        happened_at=when,
        contact=li,
    )

    call = Touchpoint.objects.get(pk=call.pk)
    assert (call.kind, call.contact, call.author, call.happened_at) == ("call", li, csm, when)


def test_touchpoint_checks(csm, agent):
    acme = account_create(actor=csm, name="Acme")
    stranger = contact_create(actor=agent, email="ann@globex.com")

    with pytest.raises(ValidationError) as caught:
        touchpoint_create(
            actor=csm,
            account=acme,
            kind="fax",
            subject="",
            body="",
            happened_at=datetime(2026, 3, 1, 9, 30),  # no zone
            contact=stranger,
        )
    assert set(caught.value.message_dict) == {"kind", "happened_at", "contact"}

    with pytest.raises(ValidationError) as caught:
        touchpoint_create(
            actor=csm,
            account=acme,
            kind="note",
            subject=" ",
            body="",
            happened_at=datetime(2026, 3, 1, tzinfo=UTC),
        )
    assert "body" in caught.value.message_dict
    assert not Touchpoint.objects.exists()
