"""Customer-success fields over the API: accounts (CSM, lifecycle, figures, health),
contacts (roles), subscriptions and touchpoints — round trips and who may do what."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import make_staff
from tend.core.models import AuditEntry
from tend.core.roles import Role as StaffRole
from tend.crm import events
from tend.crm.models import Account, Contact, Subscription, Touchpoint
from tend.crm.services import (
    account_create,
    account_update,
    contact_create,
    subscription_create,
)
from tend.health.models import HealthSnapshot
from tend.usage.ingest import ingest_messages
from tend.usage.models import DailyRollup, Event
from tend.usage.services import writekey_create


@pytest.fixture
def csm(db):
    return make_staff("carl", StaffRole.CSM, first_name="Carl")


@pytest.fixture
def acme(manager):
    return account_create(actor=manager, name="Acme", domains=["acme.com"], external_id="crm-1")


# --- accounts ---------------------------------------------------------------------------


def test_csm_creates_an_account_with_cs_fields(api_as, csm, acme):
    response = api_as(csm).post(
        "/api/v1/accounts",
        {
            "name": "Acme China",
            "domains": ["acme.cn"],
            "parent": acme.pk,
            "owner": csm.pk,
            "segment": "Enterprise",
            "tier": "Gold",
            "lifecycle": "adopting",
            "notes": "Pays yearly.",
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["parent"] == {"id": acme.pk, "name": "Acme"}
    assert body["owner"] == {"id": csm.pk, "username": "carl", "name": "Carl"}
    assert (body["segment"], body["tier"], body["lifecycle"]) == ("Enterprise", "Gold", "adopting")
    assert (body["seats"], body["mrr"], body["renews_on"]) == (
        0,
        {"minor": 0, "currency": "USD"},
        None,
    )
    assert body["health"] is None


def test_account_items_carry_figures_and_latest_health(api_as, agent, csm, acme):
    subscription_create(
        actor=csm,
        account=acme,
        plan="Business",
        starts_on=date(2026, 1, 1),
        renews_on=date(2027, 1, 1),
        seats=25,
        mrr_minor=880_000,
        currency="CNY",
    )
    HealthSnapshot.objects.create(account=acme, day=date(2026, 3, 1), score=41.0, band="red")
    HealthSnapshot.objects.create(account=acme, day=date(2026, 3, 2), score=72.5, band="green")

    body = api_as(agent).get("/api/v1/accounts", external_id="crm-1").json()

    assert body["count"] == 1
    item = body["items"][0]
    assert item["health"] == {"score": 72.5, "band": "green"}
    assert (item["seats"], item["mrr"], item["renews_on"]) == (
        25,
        {"minor": 880_000, "currency": "CNY"},
        "2027-01-01",
    )


def test_account_list_queries_do_not_grow_with_the_page(api_as, manager, csm):
    client = api_as(manager)

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/accounts").status_code == 200
        return len(ctx.captured_queries)

    account_create(actor=manager, name="A0", owner=csm)
    queries_for_list()  # the token's first use is recorded once
    few = queries_for_list()
    for i in range(1, 6):
        account = account_create(actor=manager, name=f"A{i}", domains=[f"a{i}.com"], owner=csm)
        subscription_create(actor=csm, account=account, plan="Pro", starts_on=date(2026, 1, 1))

    assert queries_for_list() == few


def test_account_list_filters_by_owner_and_lifecycle(api_as, csm, manager):
    mine = account_create(actor=manager, name="Mine", owner=csm, lifecycle="at_risk")
    account_create(actor=manager, name="Nobody's")
    client = api_as(csm)

    assert [a["id"] for a in client.get("/api/v1/accounts", owner="me").json()["items"]] == [
        mine.pk
    ]
    assert client.get("/api/v1/accounts", owner="none").json()["count"] == 1
    assert client.get("/api/v1/accounts", lifecycle="at_risk").json()["count"] == 1
    assert client.get("/api/v1/accounts", owner="someone").status_code == 422


def test_patch_account(api_as, csm, acme):
    response = api_as(csm).patch(
        f"/api/v1/accounts/{acme.pk}",
        {"lifecycle": "mature", "owner": csm.pk, "domains": ["acme.com", "acme.cn"]},
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["lifecycle"], body["owner"]["id"]) == ("mature", csm.pk)
    assert body["domains"] == ["acme.cn", "acme.com"]
    assert body["name"] == "Acme"  # untouched

    cleared = api_as(csm).patch(f"/api/v1/accounts/{acme.pk}", {"owner": None})
    assert cleared.json()["owner"] is None


def test_patch_account_refusals(api_as, csm, agent, acme):
    child = account_create(actor=csm, name="Acme Shop", parent=acme)
    client = api_as(csm)

    cycle = client.patch(f"/api/v1/accounts/{acme.pk}", {"parent": child.pk})
    assert cycle.status_code == 422 and "parent" in cycle.json()["errors"]
    assert client.patch(f"/api/v1/accounts/{acme.pk}", {"name": None}).status_code == 422
    assert client.patch(f"/api/v1/accounts/{acme.pk}", {"lifecycle": "asleep"}).status_code == 422
    assert client.patch(f"/api/v1/accounts/{acme.pk}", {"colour": "red"}).status_code == 422
    unknown_owner = client.patch(f"/api/v1/accounts/{acme.pk}", {"owner": 999999})
    assert unknown_owner.json()["errors"] == {"owner": ["No staff user with id 999999."]}
    assert api_as(agent).patch(f"/api/v1/accounts/{acme.pk}", {"tier": "x"}).status_code == 403

    nobody = make_staff("norole", StaffRole.AGENT)
    nobody.groups.clear()
    assert api_as(nobody).patch(f"/api/v1/accounts/{acme.pk}", {"tier": "x"}).status_code == 404
    assert Account.objects.get(pk=acme.pk).parent is None


# --- contacts ---------------------------------------------------------------------------


def test_contact_round_trip_with_roles(api_as, agent, acme):
    client = api_as(agent)

    created = client.post(
        "/api/v1/contacts",
        {
            "email": "li@acme.com",
            "name": "Li Wei",
            "external_id": "u-1",
            "other_emails": ["Li.Wei@Gmail.com"],
            "phones": ["+86 21 5555 0100"],
            "social": {"wechat": "liwei"},
            "roles": ["champion", "user"],
            "evangelist_stage": "evangelist",
            "title": "CTO",
        },
    )
    assert created.status_code == 201, created.json()
    contact_id = created.json()["id"]

    body = client.get(f"/api/v1/contacts/{contact_id}").json()
    assert body["account"] == {"id": acme.pk, "name": "Acme"}
    assert body["roles"] == ["user", "champion"]
    assert body["other_emails"] == ["li.wei@gmail.com"]
    assert (body["social"], body["evangelist_stage"]) == ({"wechat": "liwei"}, "evangelist")
    champions = client.get("/api/v1/contacts", role="champion").json()
    assert [c["id"] for c in champions["items"]] == [contact_id]


def test_patching_away_the_champion_role_sends_role_lost(
    api_as, agent, acme, django_capture_on_commit_callbacks
):
    li = contact_create(actor=agent, email="li@acme.com", roles=["champion"])
    received = []

    def record(sender, contact_id, account_id, role, **kwargs):
        received.append((contact_id, account_id, role))

    events.contact_role_lost.connect(record, dispatch_uid="api-test-role-lost")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = api_as(agent).patch(f"/api/v1/contacts/{li.pk}", {"roles": ["user"]})
    finally:
        events.contact_role_lost.disconnect(dispatch_uid="api-test-role-lost")

    assert response.status_code == 200 and response.json()["roles"] == ["user"]
    assert received == [(li.pk, acme.pk, "champion")]


def test_patch_contact_refusals(api_as, agent, readonly):
    li = contact_create(actor=agent, email="li@acme.com")
    client = api_as(agent)

    bad = client.patch(f"/api/v1/contacts/{li.pk}", {"roles": ["boss"]})
    assert bad.status_code == 422
    bad_email = client.patch(f"/api/v1/contacts/{li.pk}", {"other_emails": ["nope"]})
    assert "other_emails" in bad_email.json()["errors"]
    assert client.patch(f"/api/v1/contacts/{li.pk}", {"account": 424242}).status_code == 422
    assert api_as(readonly).patch(f"/api/v1/contacts/{li.pk}", {"name": "X"}).status_code == 403
    assert Contact.objects.get(pk=li.pk).name == ""


def test_only_a_manager_deletes_a_contact_and_it_is_audited(api_as, agent, manager):
    li = contact_create(actor=agent, email="li@acme.com")

    assert (
        api_as(agent)
        .client.delete(f"/api/v1/contacts/{li.pk}", headers=api_as(agent).headers)
        .status_code
        == 403
    )
    manager_client = api_as(manager)
    response = manager_client.client.delete(
        f"/api/v1/contacts/{li.pk}?reason=GDPR+request", headers=manager_client.headers
    )

    assert response.status_code == 204
    assert not Contact.objects.filter(pk=li.pk).exists()
    assert AuditEntry.objects.get(action="crm.contact_delete").reason == "GDPR request"


def test_only_a_manager_deletes_an_account_and_it_is_audited(api_as, csm, manager, acme):
    key, _secret = writekey_create(actor=None, name="product")
    account_update(actor=None, account=acme, external_id="acme-1")
    ingest_messages(
        write_key_id=key.pk,
        messages=[
            {
                "type": "track",
                "event": "Report Built",
                "userId": "u1",
                "context": {"groupId": "acme-1"},
                "messageId": "m1",
            }
        ],
    )
    assert Event.objects.filter(account_id=acme.pk).count() == 1
    url = f"/api/v1/accounts/{acme.pk}?reason=test+account"
    csm_client = api_as(csm)
    assert csm_client.client.delete(url, headers=csm_client.headers).status_code == 403
    manager_client = api_as(manager)

    response = manager_client.client.delete(url, headers=manager_client.headers)

    assert response.status_code == 204
    assert not Account.objects.filter(pk=acme.pk).exists()
    assert not Event.objects.filter(account_id=acme.pk).exists()
    assert not DailyRollup.objects.filter(account_id=acme.pk).exists()
    assert AuditEntry.objects.get(action="crm.account_delete").reason == "test account"
    assert manager_client.client.delete(url, headers=manager_client.headers).status_code == 404


def test_a_contact_with_tickets_cannot_be_deleted(api_as, manager, make_ticket):
    ticket = make_ticket(requester_email="li@acme.com")
    client = api_as(manager)

    response = client.client.delete(
        f"/api/v1/contacts/{ticket.requester_id}", headers=client.headers
    )

    assert response.status_code == 422 and "tickets" in response.json()["detail"]
    assert Contact.objects.filter(pk=ticket.requester_id).exists()
    assert not AuditEntry.objects.filter(action="crm.contact_delete").exists()


# --- subscriptions and touchpoints ------------------------------------------------------


def test_subscription_round_trip(api_as, csm, readonly, acme):
    client = api_as(csm)

    created = client.post(
        f"/api/v1/accounts/{acme.pk}/subscriptions",
        {
            "plan": "Business",
            "starts_on": "2026-01-01",
            "renews_on": "2027-01-01",
            "mrr_minor": 500_00,
            "currency": "eur",
            "seats": 10,
        },
    )
    assert created.status_code == 201, created.json()
    sub_id = created.json()["id"]
    assert created.json()["currency"] == "EUR"

    patched = client.patch(f"/api/v1/subscriptions/{sub_id}", {"seats": 12, "renews_on": None})
    assert patched.status_code == 200
    assert (patched.json()["seats"], patched.json()["renews_on"]) == (12, None)

    listed = api_as(readonly).get(f"/api/v1/accounts/{acme.pk}/subscriptions").json()
    assert [s["id"] for s in listed["items"]] == [sub_id] and listed["count"] == 1
    account = api_as(readonly).get(f"/api/v1/accounts/{acme.pk}").json()
    assert (account["seats"], account["mrr"]) == (12, {"minor": 500_00, "currency": "EUR"})


def test_only_a_manager_deletes_a_subscription_and_the_audit_row_keeps_it(
    api_as, csm, manager, acme
):
    sub = subscription_create(
        actor=csm,
        account=acme,
        plan="Pro",
        starts_on=date(2026, 1, 1),
        mrr_minor=900_00,
        currency="CNY",
        seats=5,
    )
    url = f"/api/v1/subscriptions/{sub.pk}?reason=entered+twice"
    csm_client = api_as(csm)
    assert csm_client.client.delete(url, headers=csm_client.headers).status_code == 403
    manager_client = api_as(manager)

    response = manager_client.client.delete(url, headers=manager_client.headers)

    assert response.status_code == 204
    assert not Subscription.objects.filter(pk=sub.pk).exists()
    entry = AuditEntry.objects.get(action="crm.subscription_delete")
    assert (entry.actor_id, entry.target, entry.reason) == (
        manager.pk,
        f"subscription:{sub.pk}",
        "entered twice",
    )
    assert entry.data["mrr_minor"] == 900_00 and entry.data["currency"] == "CNY"
    account = api_as(manager).get(f"/api/v1/accounts/{acme.pk}").json()
    assert account["seats"] == 0 and account["mrr"]["minor"] == 0
    gone = manager_client.client.delete(url, headers=manager_client.headers)
    assert gone.status_code == 404


def test_subscription_refusals(api_as, csm, agent, acme):
    sub = subscription_create(actor=csm, account=acme, plan="Pro", starts_on=date(2026, 1, 1))
    client = api_as(csm)
    url = f"/api/v1/accounts/{acme.pk}/subscriptions"

    early = client.post(url, {"plan": "Pro", "starts_on": "2026-02-01", "renews_on": "2026-01-01"})
    assert early.status_code == 422 and "renews_on" in early.json()["errors"]
    assert client.post(
        url, {"plan": "Pro", "starts_on": "2026-02-01", "seats": -1}
    ).status_code == (422)
    assert client.post(url, {"plan": "Pro", "starts_on": "2026-02-01", "currency": "RMB!"}).json()[
        "errors"
    ] == {"currency": ["“RMB!” is not a three-letter ISO currency code."]}
    assert client.patch(f"/api/v1/subscriptions/{sub.pk}", {"plan": None}).status_code == 422
    assert api_as(agent).post(url, {"plan": "Pro", "starts_on": "2026-02-01"}).status_code == 403
    assert api_as(agent).patch(f"/api/v1/subscriptions/{sub.pk}", {"seats": 9}).status_code == 403
    assert Subscription.objects.count() == 1


def test_agent_logs_a_call_and_the_timeline_lists_it(api_as, agent, readonly, acme):
    li = contact_create(actor=agent, email="li@acme.com")
    client = api_as(agent)
    url = f"/api/v1/accounts/{acme.pk}/touchpoints"

    first = client.post(
        url, {"kind": "note", "body": "Asked about SSO.", "happened_at": "2026-03-01T09:00:00Z"}
    )
    call = client.post(
        url,
        {
            "kind": "call",
            "subject": "Renewal",
            "happened_at": "2026-03-02T10:00:00+08:00",
            "contact": li.pk,
        },
    )

    assert first.status_code == 201 and call.status_code == 201, call.json()
    assert call.json()["author"]["id"] == agent.pk
    assert call.json()["contact"]["id"] == li.pk
    timeline = api_as(readonly).get(url).json()
    assert [t["kind"] for t in timeline["items"]] == ["call", "note"]


def test_touchpoint_refusals(api_as, agent, readonly, acme):
    stranger = contact_create(actor=agent, email="ann@globex.com")
    url = f"/api/v1/accounts/{acme.pk}/touchpoints"
    client = api_as(agent)

    other = client.post(url, {"subject": "Hi", "contact": stranger.pk})
    assert other.status_code == 422 and "contact" in other.json()["errors"]
    naive = client.post(url, {"subject": "Hi", "happened_at": "2026-03-01T09:00:00"})
    assert naive.status_code == 422 and "happened_at" in naive.json()["errors"]
    assert client.post(url, {}).status_code == 422  # neither subject nor text
    assert api_as(readonly).post(url, {"subject": "Hi"}).status_code == 403
    assert client.post("/api/v1/accounts/999999/touchpoints", {"subject": "Hi"}).status_code == 404
    assert not Touchpoint.objects.exists()


def test_refusals_speak_the_token_owners_language(api_as, manager, acme):
    li = make_staff("li", StaffRole.CSM, language="zh-hans")
    child = account_create(actor=manager, name="Acme Shop", parent=acme)

    response = api_as(li).patch(f"/api/v1/accounts/{acme.pk}", {"parent": child.pk})

    assert response.json()["errors"] == {"parent": ["客户账户不能直接或间接地成为自己的上级账户。"]}


def test_search_finds_a_contact_by_another_address_and_title(
    api_as, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        li = contact_create(
            actor=agent, email="li@acme.com", other_emails=["liwei@qq.com"], title="Procurement"
        )
    client = api_as(agent)

    for term in ("liwei@qq.com", "procurement"):
        body = client.get("/api/v1/search", q=term).json()
        assert [c["id"] for c in body["contacts"]["items"]] == [li.pk], term
