"""Article images as the help center finds them: by their stored name, only while the
article is published somewhere, and never anything outside kb/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tend.core.models import User
from tend.kb.images import help_image_url, image_content_type, image_for_help
from tend.kb.models import Article, ArticleImage, ArticleTranslation
from tend.kb.services import image_upload, translation_save

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(agent: User, article: Article) -> ArticleImage:
    return image_upload(
        actor=agent, article=article, upload=SimpleUploadedFile("shot.png", PNG, "image/png")
    )


def name_of(image: ArticleImage) -> str:
    return image.file.name.removeprefix("kb/")


def test_an_image_of_a_published_article_is_found_by_its_name(
    publish: Callable[..., Article], agent: User
) -> None:
    image = upload(agent, publish("Export invoices"))

    assert image_for_help(name_of(image)) == image
    assert help_image_url(image) == f"/help/images/{name_of(image)}"
    assert image_content_type(image) == "image/png"


def test_a_draft_articles_image_is_found_only_for_previews(
    publish: Callable[..., Article], agent: User
) -> None:
    image = upload(agent, publish("Secret plans", status="draft"))

    assert image_for_help(name_of(image)) is None
    assert image_for_help(name_of(image), include_drafts=True) == image


def test_one_published_language_is_enough(
    publish: Callable[..., Article], agent: User, commit: Callable[..., Any]
) -> None:
    article = publish("Export invoices", status="draft")
    image = upload(agent, article)

    commit(
        translation_save,
        actor=agent,
        article=article,
        locale="zh-hans",
        title="导出发票",
        body="打开账单。",
        status="published",
    )

    assert image_for_help(name_of(image)) == image
    ArticleTranslation.objects.filter(article=article).update(status="draft")
    assert image_for_help(name_of(image)) is None


@pytest.mark.parametrize(
    "name",
    ["", "../settings.py", "2026/11/../../x.png", "2026/11/a.svg", "attachments/a.png", "a.png"],
)
def test_names_that_cannot_be_an_uploaded_image_find_nothing(name: str) -> None:
    assert image_for_help(name, include_drafts=True) is None
