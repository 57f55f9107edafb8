"""Django admin for mail: mostly for looking. Mailboxes are edited in Settings →
Mailboxes (or `tend mailbox`), where passwords are encrypted and settings validated;
here the secrets and the poller's position are never shown or editable."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tend.mail import models


@admin.register(models.Mailbox)
class MailboxAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("address", "name", "is_active", "inbound_method", "imap_last_polled_at")
    list_filter = ("is_active", "inbound_method")
    search_fields = ("address", "name")
    exclude = ("imap_password_encrypted", "smtp_password_encrypted")
    readonly_fields = (
        "imap_uidvalidity",
        "imap_last_uid",
        "imap_last_polled_at",
        "imap_last_error",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Adding here would skip the checks (IMAP credentials, TLS) in mailbox_create.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(models.InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("pk", "message_id", "received_via", "status", "outcome", "created_at")
    list_filter = ("status", "received_via", "outcome")
    search_fields = ("message_id", "sha256")
    raw_id_fields = ("ticket", "comment", "mailbox")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(models.OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("pk", "to_email", "subject", "kind", "status", "attempts", "created_at")
    list_filter = ("status", "kind", "automatic")
    search_fields = ("to_email", "message_id", "subject")
    raw_id_fields = ("ticket", "comment", "mailbox")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
