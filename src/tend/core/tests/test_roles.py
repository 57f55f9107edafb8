"""Roles are Django groups carrying permissions; the Django admin is for Admins."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from tend.core.roles import Role, user_role


@pytest.mark.django_db
def test_every_role_exists_as_a_group_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {r.value for r in Role}


@pytest.mark.django_db
def test_role_permissions(admin_user, manager, agent, readonly):
    assert user_role(admin_user) is Role.ADMIN and user_role(agent) is Role.AGENT
    assert manager.has_perm("desk.view_all_tickets") and not agent.has_perm("desk.view_all_tickets")
    assert agent.has_perm("desk.change_ticket") and not readonly.has_perm("desk.change_ticket")
    assert readonly.has_perm("desk.view_ticket")
    assert manager.has_perm("desk.manage_shared_macros") and not agent.has_perm(
        "desk.manage_shared_macros"
    )


@pytest.mark.django_db
def test_django_admin_is_available_to_admins_only(client, admin_user, manager, agent):
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/desk/ticket/").status_code == 200
    for user in (manager, agent):
        client.force_login(user)
        response = client.get("/admin/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
