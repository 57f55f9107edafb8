"""Admin views of health data. Versions, snapshots and grades are records of what was
computed: the admin shows them read-only (rules change through new versions)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tend.health import models


class _ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VersionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = models.HealthModelVersion
    fields = ("number", "created_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(models.HealthModel)
class HealthModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "segment", "lifecycle", "is_active")
    list_filter = ("is_active",)
    inlines = [VersionInline]


@admin.register(models.HealthSnapshot)
class HealthSnapshotAdmin(_ReadOnly):
    list_display = ("account", "day", "score", "band", "version")
    list_filter = ("band",)
    date_hierarchy = "day"
    raw_id_fields = ("account",)


@admin.register(models.ContactGrade)
class ContactGradeAdmin(_ReadOnly):
    list_display = ("contact", "account", "day", "grade", "score")
    list_filter = ("grade",)
    date_hierarchy = "day"
    raw_id_fields = ("contact", "account")
