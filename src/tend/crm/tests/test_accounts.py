"""Account services: the fields a CSM fills in, their checks, the hierarchy, who may write."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from conftest import make_staff
from tend.core.roles import Role
from tend.crm.models import Account, Contact, Lifecycle
from tend.crm.services import account_create, account_update, contact_for_email


def test_manager_creates_account_with_every_field(manager, csm):
    parent = account_create(actor=manager, name="Acme Group")

    account = account_create(
        actor=manager,
        name="  Acme China ",
        domains=["Acme.CN", "@acme.cn", "shop.acme.cn"],
        external_id="sf-1",
        parent=parent,
        owner=csm,
        segment="Enterprise",
        tier="Gold",
        lifecycle=Lifecycle.ADOPTING,
        notes="Renews through the reseller.",
    )

    account = Account.objects.get(pk=account.pk)
    assert account.name == "Acme China"
    assert sorted(d.domain for d in account.domains.all()) == ["acme.cn", "shop.acme.cn"]
    assert (account.parent, account.owner, account.external_id) == (parent, csm, "sf-1")
    assert (account.segment, account.tier, account.lifecycle) == ("Enterprise", "Gold", "adopting")
    assert account.notes == "Renews through the reseller."


def test_every_invalid_field_is_reported_at_once(manager):
    with pytest.raises(ValidationError) as caught:
        account_create(
            actor=manager, name=" ", lifecycle="sleeping", domains=["not a domain"], tier="x" * 51
        )

    assert set(caught.value.message_dict) == {"name", "lifecycle", "domains", "tier"}
    assert not Account.objects.exists()


def test_external_id_names_one_account(manager):
    first = account_create(actor=manager, name="Acme", external_id="sf-1")

    with pytest.raises(ValidationError) as caught:
        account_create(actor=manager, name="Acme again", external_id="sf-1")
    assert "external_id" in caught.value.message_dict
    # Saving an account with its own external id is not a clash.
    assert account_update(actor=manager, account=first, external_id="sf-1").external_id == "sf-1"


def test_owner_must_be_active_staff_who_sees_accounts(manager, csm):
    nobody = make_staff("norole", Role.AGENT)
    nobody.groups.clear()
    gone = make_staff("gone", Role.CSM, is_active=False)

    for owner in (nobody, gone):
        with pytest.raises(ValidationError) as caught:
            account_create(actor=manager, name="Acme", owner=owner)
        assert "owner" in caught.value.message_dict
    assert account_create(actor=manager, name="Acme", owner=csm).owner == csm


def test_update_changes_only_what_is_given(csm):
    account = account_create(actor=csm, name="Acme", segment="SMB", notes="old")

    updated = account_update(actor=csm, account=account, lifecycle=Lifecycle.AT_RISK, owner=csm)

    assert (updated.lifecycle, updated.owner, updated.segment) == ("at_risk", csm, "SMB")
    assert Account.objects.get(pk=account.pk).notes == "old"


def test_update_refuses_an_unknown_lifecycle(csm):
    account = account_create(actor=csm, name="Acme")

    with pytest.raises(ValidationError) as caught:
        account_update(actor=csm, account=account, lifecycle="sleeping")

    assert "lifecycle" in caught.value.message_dict
    assert Account.objects.get(pk=account.pk).lifecycle == Lifecycle.ONBOARDING


def test_an_account_cannot_be_its_own_ancestor(manager):
    group = account_create(actor=manager, name="Group")
    region = account_create(actor=manager, name="Region", parent=group)
    shop = account_create(actor=manager, name="Shop", parent=region)

    for parent in (group, shop):
        with pytest.raises(ValidationError) as caught:
            account_update(actor=manager, account=group, parent=parent)
        assert "parent" in caught.value.message_dict
    assert Account.objects.get(pk=group.pk).parent is None
    # Moving a branch elsewhere in the tree is fine.
    assert account_update(actor=manager, account=shop, parent=group).parent == group


def test_domains_are_replaced_and_new_ones_bring_their_contacts(manager):
    li = contact_for_email(email="li@globex.com")
    account = account_create(actor=manager, name="Acme", domains=["acme.com"])

    account_update(actor=manager, account=account, domains=["globex.com"])

    assert list(account.domains.values_list("domain", flat=True)) == ["globex.com"]
    assert Contact.objects.get(pk=li.pk).account_id == account.pk


def test_a_domain_of_another_account_is_refused(manager):
    account_create(actor=manager, name="Acme", domains=["acme.com"])
    globex = account_create(actor=manager, name="Globex", domains=["globex.com"])

    with pytest.raises(ValidationError) as caught:
        account_update(actor=manager, account=globex, domains=["globex.com", "acme.com"])

    assert "acme.com" in caught.value.message_dict["domains"][0]
    assert list(globex.domains.values_list("domain", flat=True)) == ["globex.com"]


def test_a_misspelt_field_is_a_programming_error(manager):
    account = account_create(actor=manager, name="Acme")

    with pytest.raises(TypeError):
        account_update(actor=manager, account=account, lifecyle="mature")


@pytest.mark.parametrize("who", ["agent", "readonly"])
def test_agents_and_readonly_may_not_write_accounts(request, manager, who):
    user = request.getfixturevalue(who)
    account = account_create(actor=manager, name="Acme")

    with pytest.raises(PermissionDenied):
        account_create(actor=user, name="Globex")
    with pytest.raises(PermissionDenied):
        account_update(actor=user, account=account, name="Renamed")
    assert list(Account.objects.values_list("name", flat=True)) == ["Acme"]
