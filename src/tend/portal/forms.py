"""Forms of the customer-facing pages."""

from __future__ import annotations

import time
from enum import StrEnum

from django import forms
from django.core import signing
from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from tend.desk.services import attachment_validate

# People need a few seconds to read and fill four fields; scripts post at once.
MIN_FILL_SECONDS = 3
STARTED_SALT = "tend.portal.support-form.started"


def form_started_token(at: float | None = None) -> str:
    """A signed note of when the form was served, so the POST can tell how fast it came back."""
    return signing.dumps(int(time.time() if at is None else at), salt=STARTED_SALT)


class Verdict(StrEnum):
    HUMAN = "human"
    BOT = "bot"
    # The timing note is missing or does not verify (old page after a key change,
    # or a hand-made POST): ask to send again rather than silently dropping it.
    STALE = "stale"


def submission_verdict(data: QueryDict) -> Verdict:
    """Whether a support-form POST came from a person, judged before anything is stored."""
    if str(data.get("website", "")).strip():
        return Verdict.BOT
    try:
        started = int(signing.loads(str(data.get("started", "")), salt=STARTED_SALT))
    except (signing.BadSignature, TypeError, ValueError):
        return Verdict.STALE
    if time.time() - started < MIN_FILL_SECONDS:
        return Verdict.BOT
    return Verdict.HUMAN


# While the customer types a subject or description, htmx asks the help center for
# articles that may answer it (debounced: one request once typing pauses).
SUGGEST_ATTRS = {
    "hx-get": reverse_lazy("portal:help_suggest"),
    "hx-trigger": "keyup changed delay:300ms",
    "hx-target": "#suggestions",
    "hx-include": "#id_subject, #id_description",
    # A newer keystroke's answer replaces an older one still on its way.
    "hx-sync": "#suggestions:replace",
}


class SupportForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(
        label=_("Your email"),
        max_length=254,
        help_text=_("We will reply to this address."),
    )
    subject = forms.CharField(
        label=_("Subject"),
        max_length=300,
        widget=forms.TextInput(attrs={**SUGGEST_ATTRS, "autocomplete": "off"}),
    )
    description = forms.CharField(
        label=_("How can we help?"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8, **SUGGEST_ATTRS}),
        help_text=_("Tell us what happened and what you expected."),
    )
    attachment = forms.FileField(
        label=_("Attachment"),
        required=False,
        help_text=_("Optional: one file, such as a screenshot."),
    )
    # Honeypot: off-screen and skipped by keyboard and screen readers, so only
    # form-filling scripts put anything in it.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip()

    def clean_attachment(self) -> UploadedFile | None:
        upload = self.cleaned_data.get("attachment")
        if upload:
            # The desk owns the size and type rules; checking here shows the
            # problem next to the field before any rate-limit budget is spent.
            attachment_validate(upload)
        return upload or None


class StillNeedHelpForm(forms.Form):
    body = forms.CharField(
        label=_("What is still not working?"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
