from django.contrib import admin

from tend.crm import models


class AccountDomainInline(admin.TabularInline):  # type: ignore[type-arg]
    model = models.AccountDomain
    extra = 1


@admin.register(models.Account)
class AccountAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "external_id", "created_at")
    search_fields = ("name", "external_id", "domains__domain")
    inlines = [AccountDomainInline]


@admin.register(models.Contact)
class ContactAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("email", "name", "account")
    search_fields = ("email", "name")
    raw_id_fields = ("account",)
