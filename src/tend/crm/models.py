"""Customers: accounts (companies) and their contacts (people)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from tend.core.models import TimeStampedModel


class Lifecycle(models.TextChoices):
    ONBOARDING = "onboarding", _("Onboarding")
    ADOPTING = "adopting", _("Adopting")
    MATURE = "mature", _("Mature")
    AT_RISK = "at_risk", _("At risk")
    CHURNED = "churned", _("Churned")


class Account(TimeStampedModel):
    name = models.CharField(_("name"), max_length=200)
    external_id = models.CharField(_("external id"), max_length=100, blank=True, db_index=True)
    notes = models.TextField(_("notes"), blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
    )
    # The customer-success manager who looks after the account.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("CSM"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
    )
    segment = models.CharField(_("segment"), max_length=100, blank=True, db_index=True)
    tier = models.CharField(_("tier"), max_length=50, blank=True)
    lifecycle = models.CharField(
        _("lifecycle stage"),
        max_length=20,
        choices=Lifecycle.choices,
        default=Lifecycle.ONBOARDING,
        db_index=True,
    )
    # Traits sent by the product (Segment "group" calls), kept as sent.
    traits = models.JSONField(_("traits"), default=dict, blank=True)
    # Maintained by usage ingestion: the newest event from anyone at the account.
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AccountDomain(models.Model):
    """An email domain that belongs to an account; requesters are matched by it."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(_("domain"), max_length=253, unique=True)

    class Meta:
        verbose_name = _("account domain")
        verbose_name_plural = _("account domains")

    def __str__(self) -> str:
        return self.domain


class Role(models.TextChoices):
    USER = "user", _("User")
    MANAGER = "manager", _("Manager")
    DECISION_MAKER = "decision_maker", _("Decision maker")
    CHAMPION = "champion", _("Champion")
    EXECUTIVE_SPONSOR = "executive_sponsor", _("Executive sponsor")
    BILLING = "billing", _("Billing")


class EvangelistStage(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", _("Customer")
    USER = "user", _("User")
    EVANGELIST = "evangelist", _("Evangelist")


class Contact(TimeStampedModel):
    name = models.CharField(_("name"), max_length=200, blank=True)
    # The primary address (tickets by email find the contact by it). Blank for people
    # known only by the product's user id until an identify call brings an address.
    email = models.EmailField(_("email"), max_length=254, blank=True)
    other_emails = models.JSONField(_("other emails"), default=list, blank=True)
    phones = models.JSONField(_("phones"), default=list, blank=True)
    # {"twitter": "@li", "linkedin": "...", "wechat": "..."}
    social = models.JSONField(_("social handles"), default=dict, blank=True)
    # Role values (Role); a person can be both the champion and a user.
    roles = models.JSONField(_("roles"), default=list, blank=True)
    evangelist_stage = models.CharField(
        _("evangelist stage"),
        max_length=20,
        choices=EvangelistStage.choices,
        default=EvangelistStage.CUSTOMER,
    )
    title = models.CharField(_("job title"), max_length=200, blank=True)
    traits = models.JSONField(_("traits"), default=dict, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    # Set when the contact answers an NPS survey as a promoter (9–10): someone worth
    # asking for a reference, a review or a case study. Cleared by hand.
    advocate_candidate_at = models.DateTimeField(
        _("advocate candidate since"), null=True, blank=True
    )
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
    )
    external_id = models.CharField(_("external id"), max_length=100, blank=True, db_index=True)
    # Set when mail to this address bounced (a delivery status notification arrived);
    # staff see a warning until someone clears it or the customer writes again.
    email_bounced_at = models.DateTimeField(_("email bounced"), null=True, blank=True)
    email_bounce_reason = models.CharField(_("bounce reason"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["name", "email"]
        permissions = [
            # Open the customer portal as this contact sees it (read-only, audited).
            ("view_as_customer", _("Can view the portal as the customer")),
        ]
        constraints = [
            # One contact per address whatever its case: "Li@X.cn" and "li@x.cn" are one person.
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="contact_unique_email_ci"
            ),
            # The product's user id (Segment userId) names one person.
            models.UniqueConstraint(
                "external_id",
                condition=~models.Q(external_id=""),
                name="contact_unique_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.email or self.external_id or str(_("(unnamed)"))

    def has_role(self, role: str) -> bool:
        return role in (self.roles or [])


class SubscriptionStatus(models.TextChoices):
    TRIAL = "trial", _("Trial")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    CANCELED = "canceled", _("Canceled")
    EXPIRED = "expired", _("Expired")


class Subscription(TimeStampedModel):
    """A contract: what the account pays for, how many seats, until when."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="subscriptions"
    )
    plan = models.CharField(_("plan"), max_length=100)
    # Money is integer minor units + ISO currency (ARCHITECTURE.md): 12345 CNY = ¥123.45.
    mrr_minor = models.BigIntegerField(_("MRR (minor units)"), default=0)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    seats = models.PositiveIntegerField(_("seats"), default=0)
    starts_on = models.DateField(_("start date"))
    renews_on = models.DateField(_("renewal or end date"), null=True, blank=True, db_index=True)
    auto_renew = models.BooleanField(_("auto-renew"), default=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.ACTIVE,
        db_index=True,
    )

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-starts_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.account} · {self.plan}"


class TouchpointKind(models.TextChoices):
    NOTE = "note", _("Note")
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("Email")


class Touchpoint(models.Model):
    """A note, or a logged call or meeting with the customer (on the account timeline)."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="touchpoints"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="touchpoints",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=TouchpointKind.choices, default=TouchpointKind.NOTE
    )
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("text"), blank=True)
    happened_at = models.DateTimeField(_("when"), db_index=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("touchpoint")
        verbose_name_plural = _("touchpoints")
        ordering = ["-happened_at", "-pk"]

    def __str__(self) -> str:
        return self.subject or self.get_kind_display()
