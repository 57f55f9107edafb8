"""Mailboxes: only Admins configure them, passwords never rest in clear, and the
`tend mailbox` command scripts the same thing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from tend.mail.mailboxes import (
    mailbox_addresses,
    mailbox_create,
    mailbox_default,
    mailbox_delete,
    mailbox_for_recipients,
    mailbox_password,
    mailbox_update,
)
from tend.mail.models import Mailbox
from tend.mail.secrets import SecretUnreadable, secret_decrypt, secret_encrypt

pytestmark = pytest.mark.django_db


def imap_box(**extra: object) -> Mailbox:
    params: dict[str, object] = {
        "actor": None,
        "address": "Support@Acme.test",
        "name": "Acme Support",
        "inbound_method": "imap",
        "imap_host": "imap.acme.test",
        "imap_user": "support",
        "imap_password": "s3cret-imap",
    }
    params.update(extra)
    return mailbox_create(**params)  # type: ignore[arg-type]


# ---------------------------------------------------------------- secrets


def test_secret_round_trips_and_is_not_the_plain_text():
    token = secret_encrypt("hunter2 密码")
    assert "hunter2" not in token
    assert secret_decrypt(token) == "hunter2 密码"


def test_secret_from_another_secret_key_gives_a_clear_error():
    with override_settings(SECRET_KEY="old-key-" + "x" * 50):
        token = secret_encrypt("hunter2")
    with (
        override_settings(SECRET_KEY="new-key-" + "y" * 50),
        pytest.raises(SecretUnreadable, match="secret key has probably changed"),
    ):
        secret_decrypt(token)


# ---------------------------------------------------------------- permissions


def test_admin_creates_mailbox_and_address_is_lower_cased(admin_user, team):
    mailbox = mailbox_create(actor=admin_user, address=" Help@Acme.TEST ", default_team=team)
    assert mailbox.address == "help@acme.test"
    assert mailbox.default_team == team


@pytest.mark.parametrize("who", ["agent", "manager", "readonly"])
def test_non_admins_cannot_create_change_or_delete(request, who):
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        mailbox_create(actor=user, address="help@acme.test")
    mailbox = mailbox_create(actor=None, address="help@acme.test")
    with pytest.raises(PermissionDenied):
        mailbox_update(actor=user, mailbox=mailbox, name="Mine now")
    with pytest.raises(PermissionDenied):
        mailbox_delete(actor=user, mailbox=mailbox)
    assert Mailbox.objects.get().name == ""


def test_address_is_unique_whatever_the_case(admin_user):
    mailbox_create(actor=admin_user, address="help@acme.test")
    with pytest.raises(ValidationError):
        mailbox_create(actor=admin_user, address="HELP@acme.test")


def test_invalid_address_is_refused(admin_user):
    with pytest.raises(ValidationError) as exc:
        mailbox_create(actor=admin_user, address="not an address")
    assert "address" in exc.value.message_dict


# ---------------------------------------------------------------- IMAP settings


def test_imap_mailbox_needs_host_user_and_a_password():
    with pytest.raises(ValidationError) as exc:
        mailbox_create(actor=None, address="help@acme.test", inbound_method="imap")
    assert {"imap_host", "imap_user", "imap_password"} <= set(exc.value.message_dict)


def test_imap_password_is_stored_encrypted_only():
    mailbox = imap_box()
    row = Mailbox.objects.get(pk=mailbox.pk)
    assert "s3cret-imap" not in row.imap_password_encrypted
    assert mailbox_password(row, "imap") == "s3cret-imap"
    assert mailbox_password(row, "smtp") == ""


def test_env_var_reference_wins_over_stored_password(monkeypatch):
    monkeypatch.setenv("ACME_IMAP_PASSWORD", "from-env")
    mailbox = imap_box(imap_password_env="ACME_IMAP_PASSWORD")
    assert mailbox_password(mailbox, "imap") == "from-env"


def test_env_var_alone_is_enough_for_imap(monkeypatch):
    monkeypatch.setenv("ACME_IMAP_PASSWORD", "from-env")
    mailbox = imap_box(imap_password=None, imap_password_env="ACME_IMAP_PASSWORD")
    assert mailbox.imap_password_encrypted == ""
    assert mailbox_password(mailbox, "imap") == "from-env"


def test_env_var_reference_must_be_a_name_not_a_password():
    with pytest.raises(ValidationError) as exc:
        imap_box(imap_password=None, imap_password_env="pa ss-word!")
    assert "imap_password_env" in exc.value.message_dict


def test_no_tls_is_allowed_only_on_loopback():
    with pytest.raises(ValidationError) as exc:
        imap_box(imap_security="none")
    assert "imap_security" in exc.value.message_dict
    assert imap_box(imap_security="none", imap_host="127.0.0.1").imap_security == "none"


def test_update_keeps_password_when_none_replaces_or_removes_it():
    mailbox = imap_box(smtp_host="smtp.acme.test", smtp_user="u", smtp_password="smtp-1")
    mailbox = mailbox_update(actor=None, mailbox=mailbox, name="Renamed", imap_password=None)
    assert mailbox_password(mailbox, "imap") == "s3cret-imap"
    mailbox = mailbox_update(actor=None, mailbox=mailbox, imap_password="new-one")
    assert mailbox_password(mailbox, "imap") == "new-one"
    mailbox = mailbox_update(actor=None, mailbox=mailbox, smtp_user="", smtp_password="")
    assert mailbox.smtp_password_encrypted == ""


def test_removing_the_only_imap_password_is_refused():
    mailbox = imap_box()
    with pytest.raises(ValidationError):
        mailbox_update(actor=None, mailbox=mailbox, imap_password="")
    assert mailbox_password(Mailbox.objects.get(pk=mailbox.pk), "imap") == "s3cret-imap"


def test_settings_save_does_not_overwrite_the_pollers_position():
    mailbox = imap_box()
    # The poller advances meanwhile (another process, same row).
    Mailbox.objects.filter(pk=mailbox.pk).update(imap_uidvalidity=7, imap_last_uid=42)
    mailbox_update(actor=None, mailbox=mailbox, name="New name")
    row = Mailbox.objects.get(pk=mailbox.pk)
    assert (row.imap_uidvalidity, row.imap_last_uid) == (7, 42)


def test_pointing_at_another_folder_restarts_the_poller():
    mailbox = imap_box()
    Mailbox.objects.filter(pk=mailbox.pk).update(
        imap_uidvalidity=7, imap_last_uid=42, imap_last_error="login failed"
    )
    mailbox_update(actor=None, mailbox=mailbox, imap_folder="Support")
    row = Mailbox.objects.get(pk=mailbox.pk)
    assert (row.imap_uidvalidity, row.imap_last_uid, row.imap_last_error) == (None, 0, "")


# ---------------------------------------------------------------- selectors


def test_selectors_see_active_mailboxes_only_any_case():
    mailbox_create(actor=None, address="b-help@acme.test")
    mailbox_create(actor=None, address="a-sales@acme.test")
    mailbox_create(actor=None, address="old@acme.test", is_active=False)
    assert mailbox_addresses() == {"b-help@acme.test", "a-sales@acme.test"}
    found = mailbox_for_recipients(["someone@else.test", "B-HELP@acme.test"])
    assert found is not None and found.address == "b-help@acme.test"
    # The first named wins: To before Cc.
    found = mailbox_for_recipients(["b-help@acme.test", "a-sales@acme.test"])
    assert found is not None and found.address == "b-help@acme.test"
    assert mailbox_for_recipients(["old@acme.test"]) is None
    assert mailbox_for_recipients([]) is None
    default = mailbox_default()
    assert default is not None and default.address == "a-sales@acme.test"


# ---------------------------------------------------------------- the command


def run(*args: str) -> str:
    out = StringIO()
    call_command("mailbox", *args, stdout=out)
    return out.getvalue()


def test_cli_add_list_remove(monkeypatch, team):
    monkeypatch.setenv("SUPPORT_IMAP_PASSWORD", "pw")
    out = run(
        "add",
        "Support@Acme.test",
        "--name",
        "Acme Support",
        "--imap-host",
        "imap.acme.test",
        "--imap-user",
        "support",
        "--imap-password-env",
        "SUPPORT_IMAP_PASSWORD",
        "--team",
        "support",
        "--auto-acknowledge",
    )
    assert "support@acme.test" in out
    mailbox = Mailbox.objects.get()
    assert mailbox.inbound_method == "imap"
    assert mailbox.default_team == team
    assert mailbox.auto_acknowledge
    assert mailbox_password(mailbox, "imap") == "pw"

    listing = run("list")
    assert "support@acme.test" in listing and "imap.acme.test" in listing

    assert "support@acme.test" in run("remove", "SUPPORT@acme.test")
    assert not Mailbox.objects.exists()


def test_cli_add_push_mailbox_by_default():
    run("add", "help@acme.test")
    assert Mailbox.objects.get().inbound_method == "push"


def test_cli_reports_errors_by_option():
    with pytest.raises(CommandError, match="--imap-user"):
        run("add", "help@acme.test", "--imap-host", "imap.acme.test")
    with pytest.raises(CommandError, match="No team named"):
        run("add", "help@acme.test", "--team", "Nope")
    with pytest.raises(CommandError, match="No mailbox"):
        run("remove", "nobody@acme.test")
    assert not Mailbox.objects.exists()


# ---------------------------------------------------------------- the Django admin


def test_django_admin_shows_mailboxes_without_their_secrets(client, admin_user):
    mailbox = imap_box()
    client.force_login(admin_user)
    for url in ("/admin/mail/mailbox/", f"/admin/mail/mailbox/{mailbox.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "support@acme.test" in html
        assert "s3cret-imap" not in html
        assert mailbox.imap_password_encrypted not in html
