"""Django admin for the knowledge base: places are editable (through the services, so
search documents follow renames); articles are edited in the staff UI, where the HTML
is rendered and the index kept current, so here they are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tend.kb import models, services


@admin.register(models.Category)
class CategoryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "name_zh", "slug", "position")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.category_save(
            actor=request.user,  # type: ignore[arg-type]
            category=obj if change else None,
            name=obj.name,
            name_zh=obj.name_zh,
            slug=obj.slug,
            description=obj.description,
            description_zh=obj.description_zh,
            position=obj.position,
        )


@admin.register(models.Section)
class SectionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "name_zh", "category", "slug", "position")
    list_filter = ("category",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.section_save(
            actor=request.user,  # type: ignore[arg-type]
            section=obj if change else None,
            category=obj.category,
            name=obj.name,
            name_zh=obj.name_zh,
            slug=obj.slug,
            position=obj.position,
        )


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TranslationInline(admin.TabularInline):  # type: ignore[type-arg]
    model = models.ArticleTranslation
    fields = ("locale", "title", "status", "published_at", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(models.Article)
class ArticleAdmin(ReadOnlyAdmin):
    list_display = ("slug", "section", "author", "updated_at")
    search_fields = ("slug", "translations__title")
    inlines = [TranslationInline]


@admin.register(models.ArticleDailyStat)
class ArticleDailyStatAdmin(ReadOnlyAdmin):
    list_display = ("day", "article", "locale", "views", "helpful", "not_helpful", "deflections")
    list_filter = ("locale",)


@admin.register(models.SearchTerm)
class SearchTermAdmin(ReadOnlyAdmin):
    list_display = ("day", "term", "locale", "source", "searches", "no_results")
    list_filter = ("locale", "source")
    search_fields = ("term",)


admin.site.register(models.ArticleImage, ReadOnlyAdmin)
admin.site.register(models.ArticleVote, ReadOnlyAdmin)
admin.site.register(models.SuggestionOpen, ReadOnlyAdmin)
