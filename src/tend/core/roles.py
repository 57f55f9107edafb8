"""Staff roles as Django groups, and the checks services and selectors call.

Roles are groups so an Admin can adjust them in the Django admin, but the code never
asks "is this user in group X"; it asks for a permission, so a custom group works too.
"""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from tend.core.models import User


class Role(StrEnum):
    ADMIN = "Admin"
    MANAGER = "Manager"
    CSM = "CSM"
    AGENT = "Agent"
    READ_ONLY = "Read-only"


ROLE_LABELS = {
    Role.ADMIN: _("Admin"),
    Role.MANAGER: _("Manager"),
    Role.CSM: _("CSM"),
    Role.AGENT: _("Agent"),
    Role.READ_ONLY: _("Read-only"),
}

_VIEW = ["view_"]
_ALL = ["view_", "add_", "change_", "delete_"]
_WRITE = ["view_", "add_", "change_"]

# The desk's everyday models (SLA configuration is the Manager's alone).
_DESK_MODELS = [
    "ticket",
    "comment",
    "attachment",
    "macro",
    "savedview",
    "team",
    "tag",
    "productarea",
    "feature",
]

# What everyone who works tickets (CSM, Agent) may do on the desk.
_DESK_WORKER = {
    "ticket": _WRITE,
    "comment": _WRITE,
    "attachment": _WRITE,
    "macro": _WRITE,
    "savedview": _WRITE,
    "team": _VIEW,
    "tag": _WRITE,
    "productarea": _VIEW,
    "feature": _VIEW,
}

_CRM_MODELS = ["account", "contact", "accountdomain", "subscription", "touchpoint"]
_USAGE_READ = {m: _VIEW for m in ["metric", "metricvalue", "dailyrollup", "event", "ingestdrop"]}
_HEALTH_READ = {
    m: _VIEW for m in ["healthmodel", "healthmodelversion", "healthsnapshot", "contactgrade"]
}
_KB_CONTENT = ["category", "section", "article", "articletranslation", "articleimage"]
_KB_STATS = {m: _VIEW for m in ["articledailystat", "articlevote", "searchterm", "suggestionopen"]}
_KB_EDITOR = {**{m: _WRITE for m in _KB_CONTENT}, **_KB_STATS}
_KB_READ = {**{m: _VIEW for m in _KB_CONTENT}, **_KB_STATS}
_SURVEYS_READ = {m: _VIEW for m in ["survey", "invitation", "response"]}

# app label -> model -> verbs, per role. "desk.view_all_tickets" lifts team scoping.
ROLE_PERMISSIONS: dict[Role, dict[str, dict[str, list[str]]]] = {
    Role.MANAGER: {
        "desk": {m: _ALL for m in [*_DESK_MODELS, "slapolicy", "slatarget"]},
        "crm": {m: _ALL for m in _CRM_MODELS},
        "core": {m: _ALL for m in ["businesscalendar", "holiday"]},
        "usage": {**_USAGE_READ, "metric": _ALL},
        "health": {**_HEALTH_READ, "healthmodel": _ALL, "healthmodelversion": _ALL},
        "success": {"task": _ALL, "risksettings": ["view_", "change_"]},
        "kb": {**{m: _ALL for m in _KB_CONTENT}, **_KB_STATS},
        "surveys": {
            "survey": _ALL,
            "surveysettings": ["view_", "change_"],
            "invitation": _WRITE,
            "response": _VIEW,
        },
    },
    Role.CSM: {
        "desk": _DESK_WORKER,
        "crm": {m: _WRITE for m in _CRM_MODELS},
        "usage": _USAGE_READ,
        "health": _HEALTH_READ,
        "success": {"task": _WRITE, "risksettings": _VIEW},
        "kb": _KB_EDITOR,
        "surveys": {**_SURVEYS_READ, "invitation": _WRITE},
    },
    Role.AGENT: {
        "desk": _DESK_WORKER,
        "crm": {
            "account": _VIEW,
            "contact": _WRITE,
            "accountdomain": _VIEW,
            "subscription": _VIEW,
            "touchpoint": ["view_", "add_"],
        },
        "usage": {"metric": _VIEW, "metricvalue": _VIEW},
        "health": {"healthsnapshot": _VIEW, "contactgrade": _VIEW},
        "success": {"task": _VIEW},
        "kb": _KB_EDITOR,
        "surveys": _SURVEYS_READ,
    },
    Role.READ_ONLY: {
        "desk": {m: _VIEW for m in _DESK_MODELS},
        "crm": {m: _VIEW for m in _CRM_MODELS},
        "usage": {"metric": _VIEW, "metricvalue": _VIEW},
        "health": _HEALTH_READ,
        "success": {"task": _VIEW},
        "kb": _KB_READ,
        "surveys": _SURVEYS_READ,
    },
}
EXTRA_PERMISSIONS: dict[Role, list[str]] = {
    Role.MANAGER: [
        "desk.view_all_tickets",
        "desk.manage_shared_macros",
        "desk.manage_shared_views",
        "crm.view_as_customer",
    ],
    Role.CSM: ["crm.view_as_customer"],
    Role.READ_ONLY: [],
}


def ensure_role_groups() -> None:
    """Create the five role groups and grant their permissions (idempotent)."""
    for role in Role:
        group, _created = Group.objects.get_or_create(name=role.value)
        if role is Role.ADMIN:
            # Admins are superusers in practice; the group still carries every permission
            # so "Admin" means the same thing whichever way a user was made one.
            group.permissions.set(Permission.objects.all())
            continue
        wanted: list[Permission] = []
        for app_label, models in ROLE_PERMISSIONS.get(role, {}).items():
            for model, verbs in models.items():
                codenames = [f"{verb}{model}" for verb in verbs]
                wanted += Permission.objects.filter(
                    content_type__app_label=app_label,
                    content_type__model=model,
                    codename__in=codenames,
                )
        for dotted in EXTRA_PERMISSIONS.get(role, []):
            app_label, codename = dotted.split(".")
            wanted += Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            )
        group.permissions.set(wanted)


def assign_role(user: User, role: Role) -> None:
    """Give a user exactly one role; Admins also get the Django admin."""
    role_groups = Group.objects.filter(name__in=[r.value for r in Role])
    user.groups.remove(*role_groups)
    user.groups.add(Group.objects.get(name=role.value))
    user.is_staff = role is Role.ADMIN
    user.is_superuser = role is Role.ADMIN
    user.save(update_fields=["is_staff", "is_superuser"])


def user_role(user: User) -> Role | None:
    if user.is_superuser:
        return Role.ADMIN
    names = set(user.groups.values_list("name", flat=True))
    for role in Role:
        if role.value in names:
            return role
    return None


def require_perm(user: User, perm: str) -> None:
    """Raise PermissionDenied unless the user holds ``perm`` (e.g. "desk.change_ticket")."""
    if not (user.is_active and user.has_perm(perm)):
        raise PermissionDenied(_("You do not have permission to do that."))
