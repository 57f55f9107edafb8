"""Accounts and contacts over the API: list, filter, read, create, permissions."""

from __future__ import annotations

from conftest import make_staff
from tend.core.roles import Role
from tend.crm.models import Account, Contact
from tend.crm.services import account_create, contact_create


def test_account_list_filters_by_external_id(api_as, manager):
    account_create(actor=manager, name="Acme", domains=["acme.com"], external_id="crm-1")
    account_create(actor=manager, name="Globex", external_id="crm-2")

    response = api_as(manager).get("/api/v1/accounts", external_id="crm-1")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [(a["name"], a["domains"]) for a in body["items"]] == [("Acme", ["acme.com"])]


def test_account_list_paginates(api_as, manager):
    for i in range(5):
        account_create(actor=manager, name=f"Account {i}")

    body = api_as(manager).get("/api/v1/accounts", limit=2, offset=2).json()

    assert body["count"] == 5
    assert [a["name"] for a in body["items"]] == ["Account 2", "Account 3"]


def test_account_detail_and_missing_account(api_as, agent, manager):
    account = account_create(actor=manager, name="Acme", domains=["acme.com"])
    client = api_as(agent)

    assert client.get(f"/api/v1/accounts/{account.pk}").json()["name"] == "Acme"
    missing = client.get("/api/v1/accounts/999999")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found."}


def test_manager_creates_account(api_as, manager):
    response = api_as(manager).post(
        "/api/v1/accounts", {"name": "Acme", "domains": ["Acme.com"], "external_id": "sf-9"}
    )

    assert response.status_code == 201
    body = response.json()
    assert body["domains"] == ["acme.com"] and body["external_id"] == "sf-9"
    assert Account.objects.filter(pk=body["id"]).exists()


def test_agent_may_not_create_accounts(api_as, agent):
    response = api_as(agent).post("/api/v1/accounts", {"name": "Acme"})

    assert response.status_code == 403
    assert response.json()["detail"]
    assert not Account.objects.exists()


def test_duplicate_account_domain_is_a_clear_422(api_as, manager):
    account_create(actor=manager, name="Acme", domains=["acme.com"])

    response = api_as(manager).post("/api/v1/accounts", {"name": "Acme 2", "domains": ["acme.com"]})

    assert response.status_code == 422
    assert "acme.com" in response.json()["detail"]
    assert "domains" in response.json()["errors"]
    assert Account.objects.count() == 1


def test_agent_creates_contact_matched_to_account_by_domain(api_as, agent, manager):
    account = account_create(actor=manager, name="Acme", domains=["acme.com"])

    response = api_as(agent).post("/api/v1/contacts", {"email": "Li@Acme.com", "name": "Li Wei"})

    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "li@acme.com"
    assert body["account"] == {"id": account.pk, "name": "Acme"}


def test_contact_with_unknown_account_is_refused(api_as, agent):
    response = api_as(agent).post("/api/v1/contacts", {"email": "li@acme.com", "account": 424242})

    assert response.status_code == 422
    assert response.json()["errors"] == {"account": ["No account with id 424242."]}
    assert not Contact.objects.exists()


def test_duplicate_or_invalid_contact_email_is_422(api_as, agent):
    contact_create(actor=agent, email="li@acme.com")
    client = api_as(agent)

    assert client.post("/api/v1/contacts", {"email": "LI@acme.com"}).status_code == 422
    invalid = client.post("/api/v1/contacts", {"email": "not-an-address"})
    assert invalid.status_code == 422
    assert "email" in invalid.json()["errors"]
    assert Contact.objects.count() == 1


def test_contact_list_detail_and_email_filter(api_as, agent):
    li = contact_create(actor=agent, email="li@acme.com", name="Li")
    contact_create(actor=agent, email="ann@globex.com", name="Ann")
    client = api_as(agent)

    body = client.get("/api/v1/contacts", email="LI@ACME.COM").json()
    assert [c["id"] for c in body["items"]] == [li.pk] and body["count"] == 1
    assert client.get("/api/v1/contacts").json()["count"] == 2
    assert client.get(f"/api/v1/contacts/{li.pk}").json()["name"] == "Li"


def test_readonly_reads_but_cannot_create_contacts(api_as, readonly, agent):
    contact_create(actor=agent, email="li@acme.com")
    client = api_as(readonly)

    assert client.get("/api/v1/contacts").json()["count"] == 1
    response = client.post("/api/v1/contacts", {"email": "new@acme.com"})
    assert response.status_code == 403
    assert Contact.objects.count() == 1


def test_user_without_a_role_sees_no_contacts(api_as, agent, db):
    contact_create(actor=agent, email="li@acme.com")
    nobody = make_staff("norole", Role.AGENT)
    nobody.groups.clear()

    assert api_as(nobody).get("/api/v1/contacts").json() == {"items": [], "count": 0}
