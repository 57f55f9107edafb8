"""Contact services: addresses, roles and stages checked; losing a champion is announced."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from conftest import make_staff
from tend.core.models import AuditEntry
from tend.core.roles import Role as StaffRole
from tend.crm.models import Contact, Role
from tend.crm.services import (
    account_create,
    contact_create,
    contact_delete,
    contact_update,
)


def test_contact_with_every_field_is_normalised(agent, manager):
    acme = account_create(actor=manager, name="Acme", domains=["acme.com"])

    li = contact_create(
        actor=agent,
        email=" Li@Acme.com ",
        name="Li Wei",
        external_id="u-1",
        other_emails=["LI.WEI@gmail.com", "li@acme.com", "li.wei@gmail.com"],
        phones=[" +86 21 5555 0100 ", ""],
        social={"WeChat": "liwei", "twitter": " "},
        roles=[Role.USER, Role.CHAMPION, Role.USER],
        evangelist_stage="evangelist",
        title="Head of IT",
    )

    li = Contact.objects.get(pk=li.pk)
    assert (li.email, li.account, li.external_id) == ("li@acme.com", acme, "u-1")
    assert li.other_emails == ["li.wei@gmail.com"]
    assert li.phones == ["+86 21 5555 0100"]
    assert li.social == {"wechat": "liwei"}
    assert li.roles == ["user", "champion"]
    assert (li.evangelist_stage, li.title) == ("evangelist", "Head of IT")


def test_invalid_roles_stages_and_addresses_are_refused_together(agent):
    with pytest.raises(ValidationError) as caught:
        contact_create(
            actor=agent,
            email="li@acme.com",
            roles=["champion", "boss"],
            evangelist_stage="fan",
            other_emails=["not-an-address"],
        )

    assert set(caught.value.message_dict) == {"roles", "evangelist_stage", "other_emails"}
    assert "boss" in caught.value.message_dict["roles"][0]
    assert not Contact.objects.exists()


def test_a_product_user_may_have_no_email_but_needs_some_identity(agent):
    known = contact_create(actor=agent, email="", external_id="user-42")
    assert (known.email, known.external_id, known.account) == ("", "user-42", None)

    with pytest.raises(ValidationError) as caught:
        contact_create(actor=agent, email="  ", name="Nameless")
    assert "email" in caught.value.message_dict


def test_external_id_and_email_name_one_contact(agent):
    li = contact_create(actor=agent, email="li@acme.com", external_id="u-1")
    ann = contact_create(actor=agent, email="ann@acme.com")

    with pytest.raises(ValidationError) as caught:
        contact_update(actor=agent, contact=ann, email="LI@acme.com", external_id="u-1")

    assert set(caught.value.message_dict) == {"email", "external_id"}
    assert contact_update(actor=agent, contact=li, email="li@acme.com").email == "li@acme.com"


def test_update_keeps_the_primary_address_out_of_other_emails(agent):
    li = contact_create(actor=agent, email="li@acme.com", other_emails=["li@home.cn"])

    li = contact_update(actor=agent, contact=li, email="li@home.cn", other_emails=["li@home.cn"])

    assert (li.email, li.other_emails) == ("li@home.cn", [])


def test_removing_the_champion_role_is_announced_after_commit(
    agent, manager, roles_lost, django_capture_on_commit_callbacks
):
    acme = account_create(actor=manager, name="Acme")
    li = contact_create(actor=agent, email="li@acme.com", account=acme, roles=["champion", "user"])

    with django_capture_on_commit_callbacks(execute=True):
        contact_update(actor=agent, contact=li, roles=["user"])
        assert roles_lost == []  # nothing before the commit

    assert roles_lost == [(li.pk, acme.pk, "champion")]


def test_other_role_changes_are_not_a_loss(
    agent, manager, roles_lost, django_capture_on_commit_callbacks
):
    acme = account_create(actor=manager, name="Acme")
    li = contact_create(actor=agent, email="li@acme.com", account=acme, roles=["champion"])

    with django_capture_on_commit_callbacks(execute=True):
        contact_update(actor=agent, contact=li, roles=["champion", "billing"], title="CTO")
        contact_update(actor=agent, contact=li, roles=["champion"])

    assert roles_lost == []


def test_moving_a_decision_maker_off_the_account_is_a_loss_for_the_old_account(
    agent, manager, roles_lost, django_capture_on_commit_callbacks
):
    acme = account_create(actor=manager, name="Acme")
    globex = account_create(actor=manager, name="Globex")
    li = contact_create(
        actor=agent, email="li@acme.com", account=acme, roles=["decision_maker", "champion"]
    )

    with django_capture_on_commit_callbacks(execute=True):
        li = contact_update(actor=agent, contact=li, account=globex)
    with django_capture_on_commit_callbacks(execute=True):
        contact_update(actor=agent, contact=li, account=None)

    assert roles_lost == [
        (li.pk, acme.pk, "champion"),
        (li.pk, acme.pk, "decision_maker"),
        (li.pk, globex.pk, "champion"),
        (li.pk, globex.pk, "decision_maker"),
    ]


def test_deleting_a_champion_is_audited_and_announced(
    agent, manager, roles_lost, django_capture_on_commit_callbacks
):
    acme = account_create(actor=manager, name="Acme")
    li = contact_create(actor=agent, email="li@acme.com", account=acme, roles=["champion"])
    contact_id = li.pk

    with django_capture_on_commit_callbacks(execute=True):
        contact_delete(actor=manager, contact=li, reason="Asked to be forgotten")

    assert not Contact.objects.filter(pk=contact_id).exists()
    entry = AuditEntry.objects.get(action="crm.contact_delete")
    assert (entry.actor, entry.target, entry.reason) == (
        manager,
        f"contact:{contact_id}",
        "Asked to be forgotten",
    )
    assert roles_lost == [(contact_id, acme.pk, "champion")]


def test_who_may_write_contacts(agent, outsider, readonly, manager):
    li = contact_create(actor=agent, email="li@acme.com")
    # Contacts carry no team scope: an agent of another team edits them too.
    assert contact_update(actor=outsider, contact=li, name="Li Wei").name == "Li Wei"

    nobody = make_staff("norole", StaffRole.AGENT)
    nobody.groups.clear()
    for user in (readonly, nobody):
        with pytest.raises(PermissionDenied):
            contact_create(actor=user, email="new@acme.com")
        with pytest.raises(PermissionDenied):
            contact_update(actor=user, contact=li, name="Changed")
    with pytest.raises(PermissionDenied):
        contact_delete(actor=agent, contact=li)  # deleting is a manager's call
    assert Contact.objects.get(pk=li.pk).name == "Li Wei"
