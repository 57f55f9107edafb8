from django.contrib import admin

from tend.desk import models


@admin.register(models.Ticket)
class TicketAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "number",
        "subject",
        "status",
        "priority",
        "requester",
        "assignee",
        "team",
        "updated_at",
    )
    list_filter = ("status", "priority", "channel", "team")
    search_fields = ("number", "subject", "requester__email")
    raw_id_fields = ("requester", "account", "assignee", "follow_up_of")
    readonly_fields = ("number", "version")


for model in (
    models.Team,
    models.Tag,
    models.ProductArea,
    models.Feature,
    models.SLAPolicy,
    models.SLATarget,
    models.Macro,
    models.SavedView,
):
    admin.site.register(model)
