"""Help-center test data, made through the kb services and committed (so search
documents exist as they would in production)."""

from __future__ import annotations

from typing import Any

from django.test import TestCase

from tend.core.models import User
from tend.kb.models import Article, ArticleTranslation, Category, Section
from tend.kb.services import article_create, category_save, section_save, translation_save


def publish(actor: User, title: str, body: str = "", **kwargs: Any) -> Article:
    """A published article (English unless ``locale`` says otherwise)."""
    kwargs.setdefault("status", "published")
    with TestCase.captureOnCommitCallbacks(execute=True):
        return article_create(actor=actor, title=title, body=body or title, **kwargs)


def translate(
    actor: User, article: Article, *, locale: str, title: str, body: str, status: str = "published"
) -> ArticleTranslation:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return translation_save(
            actor=actor, article=article, locale=locale, title=title, body=body, status=status
        )


def place(
    actor: User, category: str, section: str, *, category_zh: str = "", section_zh: str = ""
) -> Section:
    """A section (and its category) to put articles in."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        found = Category.objects.filter(name=category).first()
        cat = found or category_save(actor=actor, name=category, name_zh=category_zh)
        return section_save(actor=actor, category=cat, name=section, name_zh=section_zh)
