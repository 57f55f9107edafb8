"""Forms of the staff survey screens: the send-rule editor, the survey settings and the
results filters. They parse; surveys.services writes and checks the rules again."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tend.core.models import User
from tend.crm.models import Account
from tend.surveys.models import Survey, SurveyKind, SurveySettings
from tend.surveys.services import SURVEY_FIELDS

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SurveyForm(forms.ModelForm[Survey]):
    scale_max = forms.TypedChoiceField(
        label=_("CES scale"),
        choices=[(5, _("1 to 5")), (7, _("1 to 7"))],
        coerce=int,
        initial=5,
        required=False,
        help_text=_("CES only. NPS is always 0–10 and CSAT 1–5."),
    )

    class Meta:
        model = Survey
        fields = list(SURVEY_FIELDS)
        widgets = {
            "question": forms.TextInput(attrs={"class": "wide"}),
            "question_zh": forms.TextInput(attrs={"class": "wide", "lang": "zh-Hans"}),
        }
        help_texts = {
            "interval_days": _("Every N days per contact (relationship surveys)."),
            "delay_days": _("Days after the account's start date (or after the ticket is solved)."),
            "open_ticket_on_low_score": _(
                "A detractor, or a CSAT or CES in the bottom two, also opens a ticket for the "
                "contact. The account's CSM always gets a follow-up task."
            ),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") != SurveyKind.CES or not data.get("scale_max"):
            # Only CES has a choice of scale (1–5 unless 1–7 is chosen).
            data["scale_max"] = 5
        # The send rule's other checks (days for relationship / after-start rules, the
        # CES scale) are survey_save's; its errors land on these fields.
        return data


class SurveySettingsForm(forms.ModelForm[SurveySettings]):
    class Meta:
        model = SurveySettings
        fields = ["throttle_days"]

    def clean_throttle_days(self) -> int:
        days: int = self.cleaned_data["throttle_days"]
        if days < 1:
            raise forms.ValidationError(_("Enter a number of at least 1."))
        return days


PERIODS = (
    ("30", _("Last 30 days")),
    ("90", _("Last 90 days")),
    ("365", _("Last 12 months")),
    ("all", _("All time")),
    ("custom", _("Between dates")),
)

GROUPINGS = (
    ("account", _("Account")),
    ("csm", _("CSM")),
    ("segment", _("Segment")),
)


class ResultsFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Survey type"), choices=SurveyKind.choices, initial="nps")
    survey = forms.ModelChoiceField(
        label=_("Survey"),
        queryset=Survey.objects.order_by("kind", "name"),
        required=False,
        empty_label=_("Any survey"),
    )
    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, initial="90", required=False)
    since = forms.DateField(label=_("From"), required=False, widget=_DATE)
    until = forms.DateField(label=_("To"), required=False, widget=_DATE)
    account = forms.ModelChoiceField(
        label=_("Account"),
        queryset=Account.objects.none(),
        required=False,
        empty_label=_("Any account"),
    )
    csm = forms.ModelChoiceField(
        label=_("CSM"), queryset=User.objects.none(), required=False, empty_label=_("Any CSM")
    )
    segment = forms.ChoiceField(label=_("Segment"), choices=[], required=False)
    by = forms.ChoiceField(
        label=_("Group by"), choices=GROUPINGS, initial="account", required=False
    )

    def __init__(
        self,
        *args: Any,
        accounts: QuerySet[Account],
        csms: QuerySet[User],
        segments: list[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts  # type: ignore[attr-defined]
        self.fields["csm"].queryset = csms  # type: ignore[attr-defined]
        self.fields["csm"].label_from_instance = lambda user: user.display_name  # type: ignore[attr-defined]
        self.fields["segment"].choices = [  # type: ignore[attr-defined]
            ("", _("Any segment")),
            *((s, s) for s in segments),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen, kind = data.get("survey"), data.get("kind")
        if chosen is not None and kind and chosen.kind != kind:
            self.add_error("survey", _("This survey asks another type of question."))
        if data.get("period") == "custom":
            since, until = data.get("since"), data.get("until")
            if since and until and since > until:
                self.add_error("until", _("The end comes before the start."))
        return data

    def window(self, today: date | None = None) -> tuple[date | None, date | None]:
        """The chosen period as (first day, last day), either end open (None)."""
        data = self.cleaned_data
        period = data.get("period") or "90"
        if period == "custom":
            return data.get("since"), data.get("until")
        if period == "all":
            return None, None
        today = today or timezone.localdate()
        return today - timedelta(days=int(period) - 1), today

    def period_label(self) -> str:
        """The chosen period in words, for the collapsed filters' summary."""
        data = getattr(self, "cleaned_data", {})
        period = data.get("period") or "90"
        if period != "custom":
            return str(dict(PERIODS)[period])
        since, until = data.get("since"), data.get("until")
        return " – ".join(d.isoformat() if d else "…" for d in (since, until))

    def filters(self) -> dict[str, Any]:
        """The account / CSM / segment filters, as the surveys selectors take them."""
        data = self.cleaned_data
        return {
            "survey": data.get("survey"),
            "account": data.get("account"),
            "csm": data.get("csm"),
            "segment": data.get("segment") or None,
        }


class ResponsesFilterForm(ResultsFilterForm):
    kind = forms.ChoiceField(
        label=_("Survey type"), choices=[("", _("Any type")), *SurveyKind.choices], required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["by"]
