"""Reads the staff UI needs that no domain app offers (yet).

Candidates to move into tend.desk.selectors once another caller needs them.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from tend.core.models import User
from tend.desk.models import Team


def assignable_agents() -> QuerySet[User]:
    """Active staff who may work on tickets (the same rule ticket_update enforces)."""
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(groups__permissions__codename="change_ticket")
            | Q(user_permissions__codename="change_ticket")
        )
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def teams_all() -> QuerySet[Team]:
    return Team.objects.order_by("name")
