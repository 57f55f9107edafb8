from django.contrib import admin

from tend.usage.models import DailyRollup, IngestDrop, WriteKey


@admin.register(WriteKey)
class WriteKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "created_at", "revoked_at", "last_used_at"]
    # Keys are made with `tend writekey create` or Settings → Write keys, which show the
    # key once; the admin could only store a hash nobody knows the key of.
    readonly_fields = ["prefix", "key_hash", "created_by", "created_at", "last_used_at"]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(IngestDrop)
class IngestDropAdmin(admin.ModelAdmin):
    list_display = ["received_at", "reason", "message_id", "detail"]
    list_filter = ["reason"]


@admin.register(DailyRollup)
class DailyRollupAdmin(admin.ModelAdmin):
    list_display = ["day", "account", "contact", "event", "count", "first_at", "last_at"]
    list_filter = ["day"]
    raw_id_fields = ["account", "contact"]
