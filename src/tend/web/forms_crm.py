"""Account, contact and subscription forms. They only parse what was typed into the
keyword arguments of the crm services, which validate and save."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tend.core.models import User
from tend.core.money import exponent, minor_units
from tend.crm.cleaning import social_from_text
from tend.crm.csv_io import ImportKind
from tend.crm.models import (
    Account,
    Contact,
    EvangelistStage,
    Lifecycle,
    Role,
    Subscription,
    SubscriptionStatus,
)
from tend.web.selectors_crm import (
    ACCOUNT_SORTS,
    AccountListFilters,
    ContactListFilters,
    account_segments,
    csm_candidates,
)

_SPLIT = re.compile(r"[\s,;，；、]+")
_LINES = re.compile(r"[\r\n]+")


def _items(text: str, pattern: re.Pattern[str] = _SPLIT) -> list[str]:
    return [part.strip() for part in pattern.split(text or "") if part.strip()]


class AccountChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.external_id})" if obj.external_id else str(obj.name)


class UserChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class AccountForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    domains = forms.CharField(
        label=_("Email domains"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("People writing from these domains join the account. One per line."),
    )
    external_id = forms.CharField(
        label=_("External id"),
        required=False,
        max_length=100,
        help_text=_("The account's id in your product or billing system (Segment groupId)."),
    )
    parent = AccountChoiceField(
        label=_("Parent account"), queryset=Account.objects.none(), required=False
    )
    owner = UserChoiceField(label=_("CSM"), queryset=User.objects.none(), required=False)
    segment = forms.CharField(label=_("Segment"), required=False, max_length=100)
    tier = forms.CharField(label=_("Tier"), required=False, max_length=50)
    lifecycle = forms.ChoiceField(label=_("Lifecycle stage"), choices=Lifecycle.choices)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, account: Account | None = None, **kwargs: Any) -> None:
        if account is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": account.name,
                    "domains": "\n".join(sorted(d.domain for d in account.domains.all())),
                    "external_id": account.external_id,
                    "parent": account.parent_id,
                    "owner": account.owner_id,
                    "segment": account.segment,
                    "tier": account.tier,
                    "lifecycle": account.lifecycle,
                    "notes": account.notes,
                },
            )
        super().__init__(*args, **kwargs)
        parents = Account.objects.order_by("name")
        if account is not None:
            parents = parents.exclude(pk=account.pk)
        self.fields["parent"].queryset = parents  # type: ignore[attr-defined]
        self.fields["owner"].queryset = csm_candidates()  # type: ignore[attr-defined]
        segments = account_segments()
        self.fields["segment"].widget.attrs["list"] = "segment-choices"
        self.segment_choices = segments

    def changes(self) -> dict[str, Any]:
        """Keyword arguments for account_create/account_update."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "domains": _items(data["domains"]),
            "external_id": data["external_id"],
            "parent": data["parent"],
            "owner": data["owner"],
            "segment": data["segment"],
            "tier": data["tier"],
            "lifecycle": data["lifecycle"],
            "notes": data["notes"],
        }


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    email = forms.CharField(
        label=_("Email"),
        required=False,
        max_length=254,
        help_text=_("May stay blank for someone known only by their external id."),
    )
    external_id = forms.CharField(
        label=_("External id"),
        required=False,
        max_length=100,
        help_text=_("The person's user id in your product (Segment userId)."),
    )
    title = forms.CharField(label=_("Job title"), required=False, max_length=200)
    account = AccountChoiceField(
        label=_("Account"), queryset=Account.objects.none(), required=False
    )
    other_emails = forms.CharField(
        label=_("Other emails"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line."),
    )
    phones = forms.CharField(
        label=_("Phones"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line."),
    )
    social = forms.CharField(
        label=_("Social handles"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line, as “network: handle”, e.g. “wechat: li_wei”."),
    )
    roles = forms.MultipleChoiceField(
        label=_("Roles"),
        required=False,
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    evangelist_stage = forms.ChoiceField(
        label=_("Evangelist stage"), choices=EvangelistStage.choices
    )

    def __init__(self, *args: Any, contact: Contact | None = None, **kwargs: Any) -> None:
        if contact is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": contact.name,
                    "email": contact.email,
                    "external_id": contact.external_id,
                    "title": contact.title,
                    "account": contact.account_id,
                    "other_emails": "\n".join(contact.other_emails or []),
                    "phones": "\n".join(contact.phones or []),
                    "social": "\n".join(f"{k}: {v}" for k, v in (contact.social or {}).items()),
                    "roles": list(contact.roles or []),
                    "evangelist_stage": contact.evangelist_stage,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.order_by("name")  # type: ignore[attr-defined]

    def clean_social(self) -> dict[str, str]:
        try:
            return social_from_text(_items(self.cleaned_data["social"], _LINES))
        except ValueError:
            raise ValidationError(
                _("Write each handle as “network: handle”, e.g. “wechat: li_wei”.")
            ) from None

    def changes(self) -> dict[str, Any]:
        """Keyword arguments for contact_create/contact_update."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "email": data["email"],
            "external_id": data["external_id"],
            "title": data["title"],
            "account": data["account"],
            "other_emails": _items(data["other_emails"]),
            "phones": _items(data["phones"], _LINES),
            "social": data["social"],
            "roles": data["roles"],
            "evangelist_stage": data["evangelist_stage"],
        }


class SubscriptionForm(forms.Form):
    plan = forms.CharField(label=_("Plan"), max_length=100)
    mrr = forms.DecimalField(
        label=_("MRR"),
        min_value=Decimal(0),
        max_digits=16,
        # Three for KWD, BHD and OMR; clean() refuses what the currency cannot hold.
        decimal_places=3,
        initial=Decimal(0),
        help_text=_("Monthly recurring revenue, e.g. 1999.00."),
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="USD")
    seats = forms.IntegerField(label=_("Seats"), min_value=0, initial=0)
    starts_on = forms.DateField(
        label=_("Start date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    renews_on = forms.DateField(
        label=_("Renewal or end date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    auto_renew = forms.BooleanField(label=_("Renews automatically"), required=False, initial=True)
    status = forms.ChoiceField(
        label=_("Status"), choices=SubscriptionStatus.choices, initial=SubscriptionStatus.ACTIVE
    )

    def __init__(self, *args: Any, subscription: Subscription | None = None, **kwargs: Any) -> None:
        if subscription is not None:
            kwargs.setdefault(
                "initial",
                {
                    "plan": subscription.plan,
                    # 19950 CNY reads 199.50, not 199.5.
                    "mrr": Decimal(subscription.mrr_minor).scaleb(-exponent(subscription.currency)),
                    "currency": subscription.currency,
                    "seats": subscription.seats,
                    "starts_on": subscription.starts_on,
                    "renews_on": subscription.renews_on,
                    "auto_renew": subscription.auto_renew,
                    "status": subscription.status,
                },
            )
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        mrr, currency = data.get("mrr"), (data.get("currency") or "").strip().upper()
        if mrr is not None and currency:
            minor = mrr * minor_units(currency)
            if minor != minor.to_integral_value():
                self.add_error(
                    "mrr", _("%(currency)s has no smaller unit.") % {"currency": currency}
                )
            else:
                data["mrr_minor"] = int(minor)
        return data

    def changes(self) -> dict[str, Any]:
        """Keyword arguments for subscription_create/subscription_update."""
        data = self.cleaned_data
        return {
            "plan": data["plan"],
            "mrr_minor": data["mrr_minor"],
            "currency": data["currency"],
            "seats": data["seats"],
            "starts_on": data["starts_on"],
            "renews_on": data["renews_on"],
            "auto_renew": data["auto_renew"],
            "status": data["status"],
        }


def _sort_choices() -> list[tuple[str, Any]]:
    labels = {
        "name": _("Name"),
        "mrr": _("MRR"),
        "renewal": _("Renewal"),
        "lifecycle": _("Lifecycle stage"),
    }
    return [(key, labels[key]) for key in ACCOUNT_SORTS] + [
        (f"-{key}", labels[key]) for key in ACCOUNT_SORTS
    ]


class AccountFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    segment = forms.ChoiceField(label=_("Segment"), required=False)
    lifecycle = forms.ChoiceField(
        label=_("Lifecycle stage"),
        required=False,
        choices=[("", _("Any")), *Lifecycle.choices],
    )
    owner = forms.ChoiceField(label=_("CSM"), required=False)
    sort = forms.ChoiceField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = [("", _("Any"))] + [  # type: ignore[attr-defined]
            (s, s) for s in account_segments()
        ]
        self.fields["owner"].choices = [  # type: ignore[attr-defined]
            ("", _("Anyone")),
            ("none", _("Nobody")),
            *((str(u.pk), u.display_name) for u in csm_candidates()),
        ]
        self.fields["sort"].choices = _sort_choices()  # type: ignore[attr-defined]

    def filters(self) -> AccountListFilters:
        """What to show; a bad value is ignored rather than an error page."""
        data = self.cleaned_data if self.is_valid() else {}
        return AccountListFilters(
            q=(data.get("q") or "").strip(),
            segment=data.get("segment") or "",
            lifecycle=data.get("lifecycle") or "",
            owner=data.get("owner") or "",
            sort=data.get("sort") or "name",
        )


class ContactFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    account = AccountChoiceField(
        label=_("Account"), queryset=Account.objects.none(), required=False
    )
    role = forms.ChoiceField(
        label=_("Role"), required=False, choices=[("", _("Any")), *Role.choices]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.order_by("name")  # type: ignore[attr-defined]

    def filters(self) -> ContactListFilters:
        data = self.cleaned_data if self.is_valid() else {}
        account = data.get("account")
        return ContactListFilters(
            q=(data.get("q") or "").strip(),
            account=account.pk if account is not None else None,
            role=data.get("role") or "",
        )


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))

    def __init__(self, *args: Any, kind: ImportKind, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind


class DeleteForm(forms.Form):
    """Confirm a deletion; the reason goes into the audit log."""

    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=500,
        help_text=_("Kept in the audit log with your name and the time."),
    )


class AccountDeleteForm(DeleteForm):
    """Deleting an account takes its name typed again: it cannot be undone."""

    name = forms.CharField(label=_("Type the account's name to confirm"), max_length=200)

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        self.order_fields(["name", "reason"])

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if name != self.account.name.strip():
            raise ValidationError(_("That is not the account's name."))
        return name
