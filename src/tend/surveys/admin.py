from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tend.surveys import models


@admin.register(models.Survey)
class SurveyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "kind", "trigger", "interval_days", "delay_days", "enabled")
    list_filter = ("kind", "trigger", "enabled")
    search_fields = ("name", "question", "question_zh")


@admin.register(models.SurveySettings)
class SurveySettingsAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("__str__", "throttle_days")
    # The secret is shown once in the staff settings screen, not listed here.
    exclude = ("in_app_secret",)


@admin.register(models.Invitation)
class InvitationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("survey", "contact", "channel", "status", "sent_at", "expires_at")
    list_filter = ("status", "channel", "survey")
    search_fields = ("contact__email", "contact__name")
    raw_id_fields = ("contact", "account", "ticket")
    # The nonce is what makes a link valid: never shown, changed only to void links.
    exclude = ("nonce",)
    readonly_fields = ("survey", "channel", "sent_at", "created_at")


@admin.register(models.Response)
class ResponseAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Answers are the customer's words: readable here, never edited."""

    list_display = ("kind", "score", "contact", "account", "csm", "segment", "created_at")
    list_filter = ("kind", "survey", "segment")
    search_fields = ("contact__email", "contact__name", "comment")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
