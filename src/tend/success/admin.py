from django.contrib import admin

from tend.success.models import RiskSettings, Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin[Task]):
    list_display = ("title", "account", "type", "owner", "due_on", "status")
    list_filter = ("type", "status")
    search_fields = ("title", "account__name", "dedupe_key")
    raw_id_fields = ("account", "contact", "owner")


@admin.register(RiskSettings)
class RiskSettingsAdmin(admin.ModelAdmin[RiskSettings]):
    list_display = ("pk", "user_inactive_days", "account_inactive_days", "task_due_days")
