"""How crm input is normalised and checked before it is stored.

Shared by the services, the CSV import and the forms, so "Acme.COM " and "@acme.com"
mean the same domain everywhere, and an error names the field it is about.
``account_fields_clean`` and friends check a whole set of fields (uniqueness included)
without writing anything, so an import can preview its rows' errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils.translation import gettext as _

from tend.core.models import User
from tend.crm.models import (
    Account,
    AccountDomain,
    Contact,
    EvangelistStage,
    Lifecycle,
    Role,
    Subscription,
    SubscriptionStatus,
)
from tend.crm.selectors import contacts_by_email

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_PHONES = 20
MAX_OTHER_EMAILS = 50
MAX_SOCIAL = 20
# How far up the parent chain we look for a cycle; real hierarchies are a few levels.
MAX_PARENT_DEPTH = 50


def clean_text(value: Any, field: str, max_length: int) -> str:
    """Trimmed text; too long is an error rather than a silent cut."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({field: _("Expected text.")})
    text = value.strip()
    if len(text) > max_length:
        raise ValidationError({field: _("At most %(n)s characters, please.") % {"n": max_length}})
    return text


def clean_email(value: Any, field: str = "email") -> str:
    """Trimmed, lower-cased, valid address."""
    cleaned = (value or "").strip().lower() if isinstance(value, str) else ""
    try:
        validate_email(cleaned)
    except ValidationError:
        raise ValidationError(
            {field: _("“%(email)s” is not a valid email address.") % {"email": value}}
        ) from None
    return cleaned


def clean_other_emails(values: Iterable[Any] | None, primary: str = "") -> list[str]:
    """Extra addresses of one person: valid, lower-case, no repeats, not the primary."""
    result: list[str] = []
    for value in _as_list(values, "other_emails"):
        address = clean_email(value, "other_emails")
        if address != primary and address not in result:
            result.append(address)
    if len(result) > MAX_OTHER_EMAILS:
        raise ValidationError(
            {"other_emails": _("At most %(n)s addresses, please.") % {"n": MAX_OTHER_EMAILS}}
        )
    return result


def clean_domains(values: Iterable[Any] | None) -> list[str]:
    """Email domains, lower-case without a leading "@", sorted, no repeats."""
    result: set[str] = set()
    for value in _as_list(values, "domains"):
        if not isinstance(value, str):
            raise ValidationError({"domains": _("Expected text.")})
        domain = value.strip().lower().lstrip("@").rstrip(".")
        if not domain:
            continue
        if not _is_domain(domain):
            raise ValidationError(
                {"domains": _("“%(d)s” is not a domain name.") % {"d": value.strip()}}
            )
        result.add(domain)
    return sorted(result)


def clean_phones(values: Iterable[Any] | None) -> list[str]:
    result: list[str] = []
    for value in _as_list(values, "phones"):
        phone = clean_text(value, "phones", 50)
        if phone and phone not in result:
            result.append(phone)
    if len(result) > MAX_PHONES:
        raise ValidationError({"phones": _("At most %(n)s numbers, please.") % {"n": MAX_PHONES}})
    return result


def clean_social(value: Mapping[str, Any] | None) -> dict[str, str]:
    """Handles by network, e.g. {"twitter": "@li", "wechat": "li_wei"}; blanks dropped."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError({"social": _("Expected handles by network name.")})
    result: dict[str, str] = {}
    for network, handle in value.items():
        name = clean_text(network, "social", 50).lower()
        text = clean_text(handle, "social", 200)
        if name and text:
            result[name] = text
    if len(result) > MAX_SOCIAL:
        raise ValidationError({"social": _("At most %(n)s networks, please.") % {"n": MAX_SOCIAL}})
    return result


def social_from_text(items: Iterable[str]) -> dict[str, str]:
    """["twitter: @li", "wechat：li_wei"] → {"twitter": "@li", "wechat": "li_wei"} (a
    full-width colon works too). Raises ValueError for an item that is not "network: handle";
    the form and the CSV import each word that error their own way."""
    result: dict[str, str] = {}
    for item in items:
        network, sep, handle = item.replace("：", ":").partition(":")
        if not sep or not network.strip() or not handle.strip():
            raise ValueError(item)
        result[network.strip().lower()] = handle.strip()
    return result


def clean_roles(values: Iterable[Any] | None) -> list[str]:
    """Role values in Role's own order (so two equal sets compare equal), no repeats."""
    wanted = set()
    for value in _as_list(values, "roles"):
        if value not in Role.values:
            raise ValidationError(
                {
                    "roles": _("“%(value)s” is not one of: %(allowed)s.")
                    % {"value": value, "allowed": ", ".join(Role.values)}
                }
            )
        wanted.add(value)
    return [role for role in Role.values if role in wanted]


def clean_choice(value: Any, choices: type[models.TextChoices], field: str) -> str:
    if value not in choices.values:
        raise ValidationError(
            {
                field: _("“%(value)s” is not one of: %(allowed)s.")
                % {"value": value, "allowed": ", ".join(choices.values)}
            }
        )
    return str(value)


def clean_currency(value: Any) -> str:
    """An ISO 4217 code such as "CNY"; lower case is accepted and raised."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if not _CURRENCY.match(code):
        raise ValidationError(
            {
                "currency": _("“%(value)s” is not a three-letter ISO currency code.")
                % {"value": value}
            }
        )
    return code


def clean_traits(value: Mapping[str, Any] | None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError({"traits": _("Expected an object of named values.")})
    return dict(value)


def clean_owner(value: Any) -> User | None:
    """The CSM: an active staff member who may see accounts (or nobody)."""
    if value is None:
        return None
    if not isinstance(value, User):
        raise TypeError("owner must be a User or None")
    if not (value.is_active and value.has_perm("crm.view_account")):
        raise ValidationError(
            {"owner": _("%(name)s cannot look after accounts.") % {"name": value.display_name}}
        )
    return value


# --- whole records -----------------------------------------------------------------------


def collect_errors(errors: dict[str, list[str]], exc: ValidationError) -> None:
    """Gather every field's complaint so a form or an import row shows them all at once."""
    for field, messages in exc.message_dict.items():
        errors.setdefault(field, []).extend(messages)


def _unknown(fields: Iterable[str], allowed: frozenset[str], noun: str) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        # A programming error (a misspelt keyword), not the user's: fail loudly.
        raise TypeError(f"unknown {noun} fields: {', '.join(unknown)}")


def _own_pk(obj: Account | Contact | None) -> int:
    """The row's pk for "someone else has this" checks; 0 (no row has it) for a new one."""
    return obj.pk if obj is not None and obj.pk is not None else 0


ACCOUNT_FIELDS = frozenset(
    {
        "name",
        "domains",
        "external_id",
        "notes",
        "parent",
        "owner",
        "segment",
        "tier",
        "lifecycle",
        "traits",
    }
)


def _check_parent(account: Account | None, parent: Any) -> Account | None:
    if parent is None:
        return None
    if not isinstance(parent, Account):
        raise TypeError("parent must be an Account or None")
    if account is None or account.pk is None:
        return parent
    # Walk up from the new parent: meeting the account itself means a cycle.
    node_id: int | None = parent.pk
    for _depth in range(MAX_PARENT_DEPTH):
        if node_id is None:
            return parent
        if node_id == account.pk:
            raise ValidationError(
                {"parent": _("An account cannot be its own parent, directly or through others.")}
            )
        node_id = Account.objects.filter(pk=node_id).values_list("parent_id", flat=True).first()
    raise ValidationError({"parent": _("The account hierarchy is too deep.")})


def account_fields_clean(account: Account | None, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Cleaned values for the given account fields; every field's error at once."""
    _unknown(changes, ACCOUNT_FIELDS, "account")
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    own_pk = _own_pk(account)
    for field, value in changes.items():
        try:
            if field == "name":
                name = clean_text(value, "name", 200)
                if not name:
                    raise ValidationError({"name": _("An account needs a name.")})
                cleaned[field] = name
            elif field == "external_id":
                external_id = clean_text(value, "external_id", 100)
                if (
                    external_id
                    and Account.objects.filter(external_id=external_id).exclude(pk=own_pk).exists()
                ):
                    raise ValidationError(
                        {"external_id": _("Another account already has this external id.")}
                    )
                cleaned[field] = external_id
            elif field == "notes":
                cleaned[field] = clean_text(value, "notes", 100_000)
            elif field == "segment":
                cleaned[field] = clean_text(value, "segment", 100)
            elif field == "tier":
                cleaned[field] = clean_text(value, "tier", 50)
            elif field == "lifecycle":
                cleaned[field] = clean_choice(value, Lifecycle, "lifecycle")
            elif field == "traits":
                cleaned[field] = clean_traits(value)
            elif field == "owner":
                cleaned[field] = clean_owner(value)
            elif field == "parent":
                cleaned[field] = _check_parent(account, value)
            elif field == "domains":
                domains = clean_domains(value)
                taken = list(
                    AccountDomain.objects.filter(domain__in=domains)
                    .exclude(account_id=own_pk)
                    .values_list("domain", flat=True)
                )
                if taken:
                    raise ValidationError({"domains": domains_taken_message(taken)})
                cleaned[field] = domains
        except ValidationError as exc:
            collect_errors(errors, exc)
    if errors:
        raise ValidationError(errors)
    return cleaned


def domains_taken_message(domains: Iterable[str]) -> str:
    return _("These domains already belong to another account: %(d)s") % {
        "d": ", ".join(sorted(domains))
    }


CONTACT_FIELDS = frozenset(
    {
        "email",
        "name",
        "account",
        "external_id",
        "other_emails",
        "phones",
        "social",
        "roles",
        "evangelist_stage",
        "title",
        "traits",
    }
)


def contact_fields_clean(contact: Contact | None, changes: Mapping[str, Any]) -> dict[str, Any]:
    _unknown(changes, CONTACT_FIELDS, "contact")
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    own_pk = _own_pk(contact)
    for field, value in changes.items():
        try:
            if field == "email":
                blank = value is None or (isinstance(value, str) and not value.strip())
                address = "" if blank else clean_email(value)
                if address and contacts_by_email(address).exclude(pk=own_pk).exists():
                    raise ValidationError(
                        {"email": _("A contact with this email address already exists.")}
                    )
                cleaned[field] = address
            elif field == "external_id":
                external_id = clean_text(value, "external_id", 100)
                if (
                    external_id
                    and Contact.objects.filter(external_id=external_id).exclude(pk=own_pk).exists()
                ):
                    raise ValidationError(
                        {"external_id": _("Another contact already has this external id.")}
                    )
                cleaned[field] = external_id
            elif field in ("name", "title"):
                cleaned[field] = clean_text(value, field, 200)
            elif field == "other_emails":
                cleaned[field] = clean_other_emails(value)
            elif field == "phones":
                cleaned[field] = clean_phones(value)
            elif field == "social":
                cleaned[field] = clean_social(value)
            elif field == "roles":
                cleaned[field] = clean_roles(value)
            elif field == "evangelist_stage":
                cleaned[field] = clean_choice(value, EvangelistStage, "evangelist_stage")
            elif field == "traits":
                cleaned[field] = clean_traits(value)
            elif field == "account":
                if value is not None and not isinstance(value, Account):
                    raise TypeError("account must be an Account or None")
                cleaned[field] = value
        except ValidationError as exc:
            collect_errors(errors, exc)
    if errors:
        raise ValidationError(errors)
    # The primary address is never also listed as an "other" one.
    primary = cleaned.get("email", contact.email if contact is not None else "")
    if primary and "other_emails" in cleaned:
        cleaned["other_emails"] = [e for e in cleaned["other_emails"] if e != primary]
    return cleaned


SUBSCRIPTION_FIELDS = frozenset(
    {"plan", "mrr_minor", "currency", "seats", "starts_on", "renews_on", "auto_renew", "status"}
)


def _whole_number(value: Any, field: str) -> int:
    # bool is an int in Python; "True seats" is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: _("Expected a whole number.")})
    if value < 0:
        raise ValidationError({field: _("Cannot be negative.")})
    return value


def _date(value: Any, field: str, *, optional: bool = False) -> date | None:
    if value is None and optional:
        return None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError({field: _("Expected a date.")})
    return value


def subscription_fields_clean(
    subscription: Subscription | None, changes: Mapping[str, Any]
) -> dict[str, Any]:
    _unknown(changes, SUBSCRIPTION_FIELDS, "subscription")
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field, value in changes.items():
        try:
            if field == "plan":
                plan = clean_text(value, "plan", 100)
                if not plan:
                    raise ValidationError({"plan": _("A subscription needs a plan.")})
                cleaned[field] = plan
            elif field in ("mrr_minor", "seats"):
                cleaned[field] = _whole_number(value, field)
            elif field == "currency":
                cleaned[field] = clean_currency(value)
            elif field == "starts_on":
                cleaned[field] = _date(value, field)
            elif field == "renews_on":
                cleaned[field] = _date(value, field, optional=True)
            elif field == "auto_renew":
                if not isinstance(value, bool):
                    raise ValidationError({field: _("Expected true or false.")})
                cleaned[field] = value
            elif field == "status":
                cleaned[field] = clean_choice(value, SubscriptionStatus, "status")
        except ValidationError as exc:
            collect_errors(errors, exc)
    if errors:
        raise ValidationError(errors)
    starts = cleaned.get("starts_on", getattr(subscription, "starts_on", None))
    renews = cleaned.get("renews_on", getattr(subscription, "renews_on", None))
    if starts is not None and renews is not None and renews < starts:
        raise ValidationError(
            {"renews_on": _("The renewal or end date cannot be before the start date.")}
        )
    return cleaned


def _is_domain(domain: str) -> bool:
    # Internationalised names ("例子.cn") are kept as typed, since addresses arrive that
    # way; checked in their ASCII (punycode) form.
    try:
        ascii_form = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return bool(_DOMAIN.match(ascii_form))


def _as_list(values: Iterable[Any] | None, field: str) -> list[Any]:
    if values is None:
        return []
    if isinstance(values, (str, bytes, Mapping)):
        raise ValidationError({field: _("Expected a list.")})
    return list(values)
