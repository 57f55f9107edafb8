"""/api/v1/mailboxes: Admin tokens manage mailboxes; passwords go in, never come out."""

from __future__ import annotations

import json

import pytest

from tend.mail.mailboxes import mailbox_create, mailbox_password
from tend.mail.models import Mailbox

pytestmark = pytest.mark.django_db

IMAP = {
    "address": "Help@Acme.test",
    "name": "Acme Help",
    "inbound_method": "imap",
    "imap_host": "imap.acme.test",
    "imap_user": "help",
    "imap_password": "imap-pass-XYZ",
}


def delete(api, path: str):  # type: ignore[no-untyped-def]
    return api.client.delete(path, headers=api.headers)


def test_admin_creates_mailbox_and_gets_no_password_back(api_as, admin_user, team):
    api = api_as(admin_user)
    response = api.post("/api/v1/mailboxes", {**IMAP, "default_team": team.pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["address"] == "help@acme.test"
    assert body["imap_password_set"] is True
    assert body["default_team"] == {"id": team.pk, "name": team.name}
    assert "imap-pass-XYZ" not in response.content.decode()
    assert "imap_password" not in body
    mailbox = Mailbox.objects.get()
    assert mailbox_password(mailbox, "imap") == "imap-pass-XYZ"

    listed = api.get("/api/v1/mailboxes")
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    detail = api.get(f"/api/v1/mailboxes/{mailbox.pk}")
    assert detail.status_code == 200
    for text in (listed.content.decode(), detail.content.decode()):
        assert "imap-pass-XYZ" not in text
        assert mailbox.imap_password_encrypted not in text


def test_patch_changes_only_what_is_sent_and_null_removes_a_password(api_as, admin_user):
    mailbox = mailbox_create(
        actor=None,
        address="help@acme.test",
        smtp_host="smtp.acme.test",
        smtp_user="help",
        smtp_password="smtp-pw",
    )
    api = api_as(admin_user)
    response = api.patch(f"/api/v1/mailboxes/{mailbox.pk}", {"name": "Renamed"})
    assert response.status_code == 200
    assert response.json()["smtp_password_set"] is True
    assert mailbox_password(Mailbox.objects.get(), "smtp") == "smtp-pw"

    response = api.patch(
        f"/api/v1/mailboxes/{mailbox.pk}",
        {"smtp_password": None, "smtp_password_env": "ACME_SMTP_PASSWORD"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["smtp_password_set"] is False
    assert response.json()["smtp_password_env"] == "ACME_SMTP_PASSWORD"


def test_business_rule_errors_are_422_by_field(api_as, admin_user):
    api = api_as(admin_user)
    response = api.post("/api/v1/mailboxes", {**IMAP, "imap_password": None})
    assert response.status_code == 422
    assert "imap_password" in response.json()["errors"]
    response = api.post("/api/v1/mailboxes", {**IMAP, "default_team": 999999})
    assert response.status_code == 422
    response = api.post("/api/v1/mailboxes", {**IMAP, "imap_pasword": "typo"})
    assert response.status_code == 422
    assert not Mailbox.objects.exists()


def test_admin_deletes_mailbox(api_as, admin_user):
    mailbox = mailbox_create(actor=None, address="help@acme.test")
    api = api_as(admin_user)
    assert delete(api, f"/api/v1/mailboxes/{mailbox.pk}").status_code == 204
    assert not Mailbox.objects.exists()
    assert api.get(f"/api/v1/mailboxes/{mailbox.pk}").status_code == 404


@pytest.mark.parametrize("who", ["agent", "manager", "readonly"])
def test_other_roles_cannot_read_or_write_mailboxes(api_as, request, who):
    mailbox = mailbox_create(actor=None, address="help@acme.test", name="Help")
    api = api_as(request.getfixturevalue(who))
    path = f"/api/v1/mailboxes/{mailbox.pk}"
    assert api.get("/api/v1/mailboxes").status_code == 403
    assert api.get(path).status_code == 403
    assert api.post("/api/v1/mailboxes", IMAP).status_code == 403
    assert api.patch(path, {"name": "Mine"}).status_code == 403
    assert delete(api, path).status_code == 403
    assert Mailbox.objects.get().name == "Help"


def test_anonymous_gets_401(anonymous_api):
    assert anonymous_api.get("/api/v1/mailboxes").status_code == 401


def test_openapi_documents_mailboxes_without_password_output(api_as, admin_user):
    schema = json.loads(api_as(admin_user).client.get("/api/v1/openapi.json").content)
    assert "/api/v1/mailboxes" in schema["paths"]
    out = schema["components"]["schemas"]["MailboxOut"]["properties"]
    assert "imap_password" not in out and "imap_password_set" in out
