"""Template helpers for crm data: role labels."""

from __future__ import annotations

from typing import Any

from django import template

from tend.crm.models import Role

register = template.Library()


@register.filter
def role_labels(roles: Any) -> list[str]:
    """["champion", "user"] → their labels in the active language."""
    names = dict(Role.choices)
    return [str(names.get(r, r)) for r in roles or []]
