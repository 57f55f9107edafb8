"""Forms of the "My tasks" pages and the risk settings. They parse; services write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tend.core.models import User
from tend.crm.models import Account
from tend.success.models import RiskSettings, TaskOutcome
from tend.success.services import RISK_SETTINGS_FIELDS

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SnoozeForm(forms.Form):
    until = forms.DateField(label=_("Snooze until"), widget=_DATE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"until": timezone.localdate() + timedelta(days=7)})
        super().__init__(*args, **kwargs)


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=TaskOutcome.choices)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class TaskForm(forms.Form):
    account = forms.ModelChoiceField(label=_("Account"), queryset=Account.objects.none())
    title = forms.CharField(label=_("Title"), max_length=300)
    reason = forms.CharField(
        label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    due_on = forms.DateField(
        label=_("Due"), required=False, widget=_DATE, help_text=_("Empty: the usual due days.")
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("Empty: the account's CSM."),
    )

    def __init__(
        self, *args: Any, accounts: QuerySet[Account], owners: QuerySet[User], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts  # type: ignore[attr-defined]
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]


class RiskSettingsForm(forms.ModelForm[RiskSettings]):
    class Meta:
        model = RiskSettings
        fields = list(RISK_SETTINGS_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["min"] = 1
