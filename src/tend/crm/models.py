"""Customers: accounts (companies) and their contacts (people)."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from tend.core.models import TimeStampedModel


class Account(TimeStampedModel):
    name = models.CharField(_("name"), max_length=200)
    external_id = models.CharField(_("external id"), max_length=100, blank=True, db_index=True)
    notes = models.TextField(_("notes"), blank=True)

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


class Contact(TimeStampedModel):
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("email"), max_length=254)
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
        constraints = [
            # One contact per address whatever its case: "Li@X.cn" and "li@x.cn" are one person.
            models.UniqueConstraint(Lower("email"), name="contact_unique_email_ci"),
        ]

    def __str__(self) -> str:
        return self.name or self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email
