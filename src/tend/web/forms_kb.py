"""Forms of the staff knowledge-base screens: the article list's filters, the article
editor (one locale at a time), image upload, and categories / sections.

Forms only parse; kb.services validates again and does the writing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tend.desk.models import Feature, ProductArea
from tend.kb.models import ArticleStatus, Category, Locale, Section
from tend.web.forms_ticket import parse_tags

# What the article editor offers: (code, label) for the locale tabs.
LOCALE_TABS = [(Locale.EN.value, "English"), (Locale.ZH_HANS.value, "简体中文")]


def locale_or_default(raw: str | None) -> str:
    """A locale code from the query string; anything else is English."""
    return raw if raw in Locale.values else Locale.EN.value


@dataclass(frozen=True)
class ArticleListFilters:
    q: str = ""
    status: str | None = None
    locale: str | None = None
    category: Category | None = None


class ArticleFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any")), *ArticleStatus.choices]
    )
    locale = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", _("Any")), *LOCALE_TABS]
    )
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=_("Any"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.all()  # type: ignore[attr-defined]

    def filters(self) -> ArticleListFilters:
        """What to show; a bad value is ignored rather than an error page."""
        data = self.cleaned_data if self.is_valid() else {}
        return ArticleListFilters(
            q=(data.get("q") or "").strip(),
            status=data.get("status") or None,
            locale=data.get("locale") or None,
            category=data.get("category"),
        )


class SectionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.category.name} / {obj.name}"


class ArticleForm(forms.Form):
    """One locale's title and body, plus the article's place and topic (shared by its
    locales). The slug is asked only when the article is new: it never changes after."""

    title = forms.CharField(label=_("Title"), max_length=300)
    body = forms.CharField(
        label=_("Body (Markdown)"),
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 22, "class": "kb-body", "spellcheck": "true", "data-kb-body": ""}
        ),
    )
    slug = forms.SlugField(
        label=_("Slug"),
        max_length=120,
        required=False,
        help_text=_("The article's address: /help/articles/<slug>/. Blank: made from the title."),
    )
    section = SectionChoiceField(
        label=_("Section"), queryset=Section.objects.none(), required=False, empty_label=_("None")
    )
    product_area = forms.ModelChoiceField(
        label=_("Product area"),
        queryset=ProductArea.objects.none(),
        required=False,
        empty_label=_("None"),
    )
    feature = forms.ModelChoiceField(
        label=_("Feature"), queryset=Feature.objects.none(), required=False, empty_label=_("None")
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=500,
        help_text=_("Comma-separated. Tickets with these tags count as answered by this article."),
    )

    def __init__(self, *args: Any, new: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["section"].queryset = Section.objects.select_related("category")  # type: ignore[attr-defined]
        self.fields["product_area"].queryset = ProductArea.objects.all()  # type: ignore[attr-defined]
        self.fields["feature"].queryset = Feature.objects.select_related("product_area")  # type: ignore[attr-defined]
        if not new:
            del self.fields["slug"]

    def tag_names(self) -> list[str]:
        return parse_tags(self.cleaned_data.get("tags") or "")

    def article_fields(self) -> dict[str, Any]:
        """The locale-independent fields, as article_update takes them."""
        data = self.cleaned_data
        return {
            "section": data.get("section"),
            "product_area": data.get("product_area"),
            "feature": data.get("feature"),
            "tags": self.tag_names(),
        }


class ImageUploadForm(forms.Form):
    upload = forms.FileField(label=_("Image"))
    alt = forms.CharField(
        label=_("Description (alt text)"),
        required=False,
        max_length=200,
        help_text=_("What the image shows, for readers who cannot see it."),
    )


class CategoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200, required=False)
    slug = forms.SlugField(
        label=_("Slug"),
        max_length=100,
        required=False,
        help_text=_("Part of the help center's addresses. Blank: made from the name."),
    )
    description = forms.CharField(label=_("Description"), max_length=500, required=False)
    description_zh = forms.CharField(
        label=_("Description (Chinese)"), max_length=500, required=False
    )
    position = forms.IntegerField(label=_("Position"), min_value=0, initial=0)

    @staticmethod
    def initial_for(category: Category) -> dict[str, Any]:
        return {name: getattr(category, name) for name in CategoryForm.base_fields}


class SectionForm(forms.Form):
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.none())
    name = forms.CharField(label=_("Name"), max_length=200)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200, required=False)
    slug = forms.SlugField(
        label=_("Slug"), max_length=100, required=False, help_text=_("Blank: made from the name.")
    )
    position = forms.IntegerField(label=_("Position"), min_value=0, initial=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.all()  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(section: Section) -> dict[str, Any]:
        initial = {name: getattr(section, name) for name in SectionForm.base_fields}
        initial["category"] = section.category_id
        return initial
