"""Forms of the CSM cockpit: the "My accounts" filters and the account page's
"add a note / log a call" box."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tend.crm.models import Account, Contact, Lifecycle, TouchpointKind
from tend.health.models import Band
from tend.web.selectors_cockpit import SORTS, AccountFilters

RENEWAL_CHOICES = [
    ("", _("Any time")),
    ("30", _("Within 30 days")),
    ("60", _("Within 60 days")),
    ("90", _("Within 90 days")),
    ("180", _("Within 180 days")),
]


class AccountFilterForm(forms.Form):
    scope = forms.ChoiceField(
        label=_("Accounts"),
        required=False,
        choices=[
            # Context: the queue "Mine" means my tickets; here it means my accounts.
            ("mine", pgettext_lazy("accounts filter", "Mine")),
            ("all", _("All")),
            ("unassigned", _("Without a CSM")),
        ],
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    band = forms.ChoiceField(
        label=_("Health"),
        required=False,
        choices=[("", _("Any")), *Band.choices, ("none", _("No score yet"))],
    )
    lifecycle = forms.ChoiceField(
        label=_("Lifecycle stage"), required=False, choices=[("", _("Any")), *Lifecycle.choices]
    )
    segment = forms.ChoiceField(label=_("Segment"), required=False)
    renewal = forms.ChoiceField(label=_("Renewal"), required=False, choices=RENEWAL_CHOICES)
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, segments: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["segment"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Any")), *((s, s) for s in segments)]

    def filters(self) -> AccountFilters:
        """What the table shows; unknown or invalid values fall back to the defaults."""
        data = self.cleaned_data if self.is_valid() else {}
        sort = data.get("sort") or "name"
        if sort.lstrip("-") not in SORTS:
            sort = "name"
        renewal = data.get("renewal")
        return AccountFilters(
            scope=data.get("scope") or "mine",
            q=(data.get("q") or "").strip(),
            band=data.get("band") or "",
            lifecycle=data.get("lifecycle") or "",
            segment=data.get("segment") or "",
            renewal_days=int(renewal) if renewal else None,
            sort=sort,
        )


class TouchpointForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (TouchpointKind.NOTE, TouchpointKind.NOTE.label),
            (TouchpointKind.CALL, TouchpointKind.CALL.label),
            (TouchpointKind.MEETING, TouchpointKind.MEETING.label),
        ],
        initial=TouchpointKind.NOTE,
    )
    subject = forms.CharField(label=_("Subject"), max_length=300, required=False)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 3}))
    happened_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty for now."),
    )
    contact = forms.ModelChoiceField(
        label=_("With"), queryset=Contact.objects.none(), required=False
    )

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["contact"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Contact.objects.filter(account=account).order_by("name", "email")

    def clean_happened_at(self) -> Any:
        return self.cleaned_data.get("happened_at") or timezone.now()
