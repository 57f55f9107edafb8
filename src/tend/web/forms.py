"""Forms of the staff UI shell: preferences, ticket filters, saved views, bulk actions.

Forms only parse and validate; writes go through services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tend.core.models import User
from tend.crm.models import Account
from tend.desk.models import Priority, ProductArea, Status, Tag, Team
from tend.desk.selectors import SORT_LABELS, SORTS
from tend.web.selectors import assignable_agents, teams_all
from tend.web.services import time_zone_names

# Statuses an agent may set directly (solving and closing have their own flows).
BULK_STATUSES = (Status.OPEN, Status.PENDING, Status.ON_HOLD)
NONE = "none"  # filter value meaning "no assignee" / "no team"


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        help_text=_("Dates and times are shown in this zone."),
    )
    is_away = forms.BooleanField(
        label=_("I am away"),
        required=False,
        help_text=_("While away you are skipped by automatic assignment."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(name, name) for name in time_zone_names()]  # type: ignore[attr-defined]


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)


def _person_label(user: User) -> str:
    return str(user.display_name)


class TicketFilterForm(forms.Form):
    """Builds a saved view's ``filters`` dict (see tend.desk.selectors.tickets_filtered)
    from a GET query, and back."""

    status = forms.MultipleChoiceField(label=_("Status"), choices=Status.choices, required=False)
    priority = forms.MultipleChoiceField(
        label=_("Priority"), choices=Priority.choices, required=False
    )
    tags = forms.MultipleChoiceField(label=_("Tags"), required=False)
    product_area = forms.TypedMultipleChoiceField(
        label=_("Product area"), required=False, coerce=int
    )
    assignee = forms.MultipleChoiceField(label=_("Assignee"), required=False)
    team = forms.MultipleChoiceField(label=_("Team"), required=False)
    account = forms.TypedMultipleChoiceField(label=_("Account"), required=False, coerce=int)
    sort = forms.ChoiceField(
        label=_("Sort by"), choices=list(SORT_LABELS.items()), required=False, initial="-updated_at"
    )

    FILTER_KEYS = ("status", "priority", "tags", "product_area", "assignee", "team", "account")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Choices are read when the form is built so new tags, teams and people show up.
        self.fields["tags"].choices = [  # type: ignore[attr-defined]
            (name, name) for name in Tag.objects.order_by("name").values_list("name", flat=True)
        ]
        self.fields["product_area"].choices = list(  # type: ignore[attr-defined]
            ProductArea.objects.order_by("name").values_list("id", "name")
        )
        self.fields["assignee"].choices = [(NONE, _("Unassigned"))] + [  # type: ignore[attr-defined]
            (str(user.pk), _person_label(user)) for user in assignable_agents()
        ]
        self.fields["team"].choices = [(NONE, _("No team"))] + [  # type: ignore[attr-defined]
            (str(team.pk), team.name) for team in teams_all()
        ]
        self.fields["account"].choices = list(  # type: ignore[attr-defined]
            Account.objects.order_by("name").values_list("id", "name")
        )

    @classmethod
    def data_from_view(cls, filters: dict[str, Any], sort: str) -> dict[str, Any]:
        """A saved view's filters as form data (to edit it or pre-fill a new one)."""
        data: dict[str, Any] = {
            key: [str(v) for v in filters.get(key, [])] for key in cls.FILTER_KEYS
        }
        data["sort"] = sort
        return data

    def filters(self) -> dict[str, list[Any]]:
        """The cleaned filters, without empty keys. Call after is_valid()."""
        out: dict[str, list[Any]] = {}
        for key in self.FILTER_KEYS:
            values = self.cleaned_data.get(key) or []
            if key in {"assignee", "team"}:
                values = [v if v == NONE else int(v) for v in values]
            if values:
                out[key] = list(values)
        return out

    def sort_order(self) -> str:
        sort = self.cleaned_data.get("sort") or "-updated_at"
        return sort if sort in SORTS else "-updated_at"

    def is_filtering(self) -> bool:
        return self.is_bound and self.is_valid() and bool(self.filters())


class SaveViewForm(forms.Form):
    name = forms.CharField(label=_("View name"), max_length=100)
    shared = forms.BooleanField(
        label=_("Share with everyone"),
        required=False,
        help_text=_("Shared views appear in every staff member's sidebar."),
    )


class TicketIdsField(forms.Field):
    """The ticked rows. Whether the user may touch each ticket is the service's call;
    here a value only has to be a list of integers."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": _("Select at least one ticket."),
        "invalid": _("The selection is not valid."),
    }

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        try:
            return [int(v) for v in value]
        except (TypeError, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class BulkActionForm(forms.Form):
    """One change applied to the selected tickets; ``action`` says which."""

    ACTIONS = (
        ("assign", _("Assign")),
        ("status", _("Set status")),
        ("add_tag", _("Add tag")),
        ("remove_tag", _("Remove tag")),
    )

    ticket = TicketIdsField()
    action = forms.ChoiceField(choices=ACTIONS)
    # "user:<id>", "team:<id>" or "none" (unassign).
    assign_to = forms.ChoiceField(label=_("Assign to"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", "—")] + [(s.value, s.label) for s in BULK_STATUSES],
    )
    tag = forms.CharField(label=_("Tag"), required=False, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assign_to"].choices = assign_choices()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action == "assign" and not data.get("assign_to"):
            self.add_error("assign_to", _("Choose an agent or a team."))
        if action == "status" and not data.get("status"):
            self.add_error("status", _("Choose a status."))
        if action in {"add_tag", "remove_tag"} and not (data.get("tag") or "").strip():
            self.add_error("tag", _("Type a tag."))
        return data

    def changes(self) -> dict[str, Any]:
        """Keyword arguments for tickets_bulk_update. Call after is_valid()."""
        data = self.cleaned_data
        action = data["action"]
        if action == "status":
            return {"status": data["status"]}
        if action == "add_tag":
            return {"add_tags": [data["tag"].strip()]}
        if action == "remove_tag":
            return {"remove_tags": [data["tag"].strip()]}
        target = data["assign_to"]
        if target == NONE:
            return {"assignee": None}
        kind, _sep, pk = target.partition(":")
        if kind == "team":
            return {"team": Team.objects.get(pk=int(pk))}
        return {"assignee": assignable_agents().get(pk=int(pk))}


def assign_choices() -> list[tuple[Any, Any]]:
    """Agents and teams as one grouped list: assigning to a team leaves the agent to it."""
    agents = [(f"user:{user.pk}", _person_label(user)) for user in assignable_agents()]
    teams = [(f"team:{team.pk}", team.name) for team in teams_all()]
    return [
        ("", "—"),
        (NONE, _("Unassigned")),
        (_("Agents"), agents),
        (_("Teams"), teams),
    ]
