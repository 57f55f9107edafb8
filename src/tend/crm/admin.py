from django.contrib import admin

from tend.crm import models


class AccountDomainInline(admin.TabularInline):  # type: ignore[type-arg]
    model = models.AccountDomain
    extra = 1


class SubscriptionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = models.Subscription
    extra = 0
    fields = ("plan", "status", "seats", "mrr_minor", "currency", "starts_on", "renews_on")


@admin.register(models.Account)
class AccountAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "external_id", "owner", "segment", "lifecycle", "created_at")
    list_filter = ("lifecycle", "segment")
    search_fields = ("name", "external_id", "domains__domain")
    raw_id_fields = ("parent", "owner")
    inlines = [AccountDomainInline, SubscriptionInline]


@admin.register(models.Contact)
class ContactAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("email", "name", "account", "external_id", "evangelist_stage")
    list_filter = ("evangelist_stage",)
    search_fields = ("email", "name", "external_id")
    raw_id_fields = ("account",)


@admin.register(models.Subscription)
class SubscriptionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("account", "plan", "status", "seats", "mrr_minor", "currency", "renews_on")
    list_filter = ("status", "currency")
    search_fields = ("account__name", "plan")
    raw_id_fields = ("account",)


@admin.register(models.Touchpoint)
class TouchpointAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("account", "kind", "subject", "author", "happened_at")
    list_filter = ("kind",)
    search_fields = ("account__name", "subject")
    raw_id_fields = ("account", "contact", "author")
