"""Forms of the ticket page, the new-ticket page and the macro editor.

They only parse and validate input; every write still goes through tend.desk.services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from tend.core.models import User
from tend.desk.models import (
    Channel,
    Feature,
    Priority,
    ProductArea,
    Status,
    Team,
    Ticket,
    TicketType,
)

# Statuses an agent may pick by hand; "solved" goes through "ask to confirm" or
# "solve without confirmation", and "closed" only ever happens automatically.
SETTABLE_STATUSES = (Status.OPEN, Status.PENDING, Status.ON_HOLD)


def assignable_users() -> QuerySet[User]:
    """Active staff who may work tickets (read-only users cannot be assignees)."""
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


def parse_tags(raw: str) -> list[str]:
    """Split "billing, urgent billing ,vip" into ["billing", "urgent billing", "vip"]:
    order kept, duplicates dropped."""
    seen: dict[str, None] = {}
    for part in raw.split(","):
        name = part.strip()
        if name and name.casefold() not in {s.casefold() for s in seen}:
            seen[name] = None
    return list(seen)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class FeatureChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.product_area.name} / {obj.name}"


class TicketClassificationForm(forms.Form):
    """Who works a ticket and what it is about: the fields the header editor and the
    new-ticket form share."""

    assignee = UserChoiceField(
        label=_("Assignee"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Unassigned"),
    )
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.all(), required=False, empty_label=_("No team")
    )
    product_area = forms.ModelChoiceField(
        label=_("Product area"), queryset=ProductArea.objects.all(), required=False, empty_label="—"
    )
    feature = FeatureChoiceField(
        label=_("Feature"),
        queryset=Feature.objects.select_related("product_area"),
        required=False,
        empty_label="—",
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=1000,
        help_text=_("Separate tags with commas."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_users()  # type: ignore[attr-defined]


class TicketFieldsForm(TicketClassificationForm):
    """The header's field editor. Every field is optional: a missing one keeps its value."""

    field_order = [
        "status",
        "priority",
        "type",
        "assignee",
        "team",
        "product_area",
        "feature",
        "tags",
    ]

    status = forms.ChoiceField(label=_("Status"), required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, required=False)
    type = forms.ChoiceField(label=_("Type"), choices=TicketType.choices, required=False)
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    # Set only by the "Apply anyway" button of the collision warning.
    confirm_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "status": ticket.status,
                "priority": ticket.priority,
                "type": ticket.type,
                "assignee": ticket.assignee_id,
                "team": ticket.team_id,
                "product_area": ticket.product_area_id,
                "feature": ticket.feature_id,
                "tags": ", ".join(t.name for t in ticket.tags.all()),
                "expected_version": ticket.version,
            },
        )
        super().__init__(*args, **kwargs)
        self.ticket = ticket
        statuses = [s for s in Status if s in SETTABLE_STATUSES or s == ticket.status]
        status_field = self.fields["status"]
        assert isinstance(status_field, forms.ChoiceField)
        status_field.choices = [(s.value, s.label) for s in statuses]
        self.fields["feature"].widget.attrs["data-product-area-filter"] = "1"

    def changed_values(self) -> dict[str, Any]:
        """Only the fields whose value differs from the ticket, as service kwargs."""
        data = self.cleaned_data
        ticket = self.ticket
        out: dict[str, Any] = {}
        for name in ("status", "priority", "type"):
            if name in self.data and data.get(name) and data[name] != getattr(ticket, name):
                out[name] = data[name]
        for name in ("assignee", "team", "product_area", "feature"):
            if name not in self.data:
                continue
            value = data.get(name)
            current_id = getattr(ticket, f"{name}_id")
            if (value.pk if value else None) != current_id:
                out[name] = value
        if "tags" in self.data:
            wanted = parse_tags(data.get("tags") or "")
            current = [t.name for t in ticket.tags.all()]
            if sorted(n.casefold() for n in wanted) != sorted(n.casefold() for n in current):
                out["tags"] = wanted
        return out


COMPOSER_ACTIONS = ("send", "confirm", "solve")


class ComposerForm(forms.Form):
    body = forms.CharField(label=_("Message"), required=False, strip=False)
    mode = forms.ChoiceField(
        choices=[("public", _("Public reply")), ("note", _("Internal note"))], initial="public"
    )
    status = forms.ChoiceField(
        label=_("Submit as"),
        required=False,
        choices=[("", _("Keep status")), *[(s.value, s.label) for s in SETTABLE_STATUSES]],
    )
    macro_id = forms.IntegerField(required=False, min_value=1)
    solve_reason = forms.CharField(label=_("Reason"), required=False, max_length=2000)
    action = forms.ChoiceField(
        choices=[(a, a) for a in COMPOSER_ACTIONS], required=False, initial="send"
    )
    expected_version = forms.IntegerField(min_value=1)
    # Set only by the "Send anyway" button of the collision warning, together with
    # confirm_action (the action the agent had chosen before the warning).
    confirm_version = forms.IntegerField(required=False, min_value=1)
    confirm_action = forms.ChoiceField(choices=[(a, a) for a in COMPOSER_ACTIONS], required=False)

    @property
    def chosen_action(self) -> str:
        data = self.cleaned_data
        if data.get("confirm_version") and data.get("confirm_action"):
            return str(data["confirm_action"])
        return str(data.get("action") or "send")

    @property
    def chosen_version(self) -> int:
        data = self.cleaned_data
        return int(data.get("confirm_version") or data["expected_version"])


class TicketCreateForm(TicketClassificationForm):
    requester_email = forms.EmailField(label=_("Requester email"))
    requester_name = forms.CharField(label=_("Requester name"), required=False, max_length=200)
    subject = forms.CharField(label=_("Subject"), max_length=300)
    description = forms.CharField(
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("For a phone call, write your notes of the conversation here."),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL
    )
    type = forms.ChoiceField(
        label=_("Type"), choices=TicketType.choices, initial=TicketType.QUESTION
    )


class MacroForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    body = forms.CharField(
        label=_("Reply text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "Placeholders: {{ requester.name }}, {{ requester.first_name }}, "
            "{{ ticket.number }}, {{ ticket.subject }}, {{ agent.name }}, {{ account.name }}"
        ),
    )
    public = forms.TypedChoiceField(
        label=_("Post as"),
        choices=[("1", _("Public reply")), ("0", _("Internal note"))],
        coerce=lambda v: v == "1",
        initial="1",
    )
    status = forms.ChoiceField(
        label=_("Set status"),
        required=False,
        choices=[("", _("Leave unchanged")), *[(s.value, s.label) for s in SETTABLE_STATUSES]],
    )
    priority = forms.ChoiceField(
        label=_("Set priority"),
        required=False,
        choices=[("", _("Leave unchanged")), *Priority.choices],
    )
    team = forms.ModelChoiceField(
        label=_("Set team"),
        queryset=Team.objects.all(),
        required=False,
        empty_label=_("Leave unchanged"),
    )
    assignee = UserChoiceField(
        label=_("Set assignee"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Leave unchanged"),
    )
    add_tags = forms.CharField(
        label=_("Add tags"), required=False, help_text=_("Separate tags with commas.")
    )
    remove_tags = forms.CharField(
        label=_("Remove tags"), required=False, help_text=_("Separate tags with commas.")
    )
    shared = forms.BooleanField(
        label=_("Shared with everyone"),
        required=False,
        help_text=_("Only managers and admins can share macros."),
    )

    def __init__(self, *args: Any, can_share: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_users()  # type: ignore[attr-defined]
        if not can_share:
            del self.fields["shared"]

    @classmethod
    def initial_for(cls, macro: Any) -> dict[str, Any]:
        actions = macro.actions or {}
        return {
            "name": macro.name,
            "body": macro.body,
            "public": "0" if actions.get("public") is False else "1",
            "status": actions.get("status", ""),
            "priority": actions.get("priority", ""),
            "team": actions.get("team"),
            "assignee": actions.get("assignee"),
            "add_tags": ", ".join(actions.get("add_tags", [])),
            "remove_tags": ", ".join(actions.get("remove_tags", [])),
            "shared": macro.owner_id is None,
        }

    def actions(self) -> dict[str, Any]:
        """The macro's ``actions`` JSON, in the shape desk.models.Macro documents."""
        data = self.cleaned_data
        actions: dict[str, Any] = {}
        if not data["public"]:
            actions["public"] = False
        for name in ("status", "priority"):
            if data.get(name):
                actions[name] = data[name]
        for name in ("team", "assignee"):
            if data.get(name) is not None:
                actions[name] = data[name].pk
        for name in ("add_tags", "remove_tags"):
            tags = parse_tags(data.get(name) or "")
            if tags:
                actions[name] = tags
        return actions
