from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from tend.core import models


@admin.register(models.User)
class UserAdmin(DjangoUserAdmin):  # type: ignore[type-arg]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("Tend", {"fields": ("language", "time_zone", "is_away")}),
    )


@admin.register(models.AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("created_at", "actor", "action", "target")
    readonly_fields = ("created_at", "actor", "action", "target", "reason", "data")

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


admin.site.register(models.BusinessCalendar)
admin.site.register(models.Holiday)
