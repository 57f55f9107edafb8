"""Article images on the public help center, served without DEBUG: an image of a
published article loads with its sniffed type and may be cached; a draft's image, an
unknown name or anything outside the article images is not found."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tend.core.models import User
from tend.kb.models import Article, ArticleImage, ArticleTranslation
from tend.kb.services import image_upload
from tend.portal.tests.help_data import publish, translate

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _production(settings: Any) -> None:
    settings.DEBUG = False


def upload(actor: User, article: Article) -> ArticleImage:
    return image_upload(
        actor=actor, article=article, upload=SimpleUploadedFile("shot.png", PNG, "image/png")
    )


def public_url(image: ArticleImage) -> str:
    return "/help/images/" + image.file.name.removeprefix("kb/")


def test_a_published_articles_image_loads_with_its_type_and_a_long_cache(
    client: Client, manager: User
) -> None:
    image = upload(manager, publish(manager, "Export invoices"))

    response = client.get(public_url(image))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG  # type: ignore[attr-defined]
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"].startswith("public, max-age=")
    assert int(response["Cache-Control"].split("max-age=")[1]) >= 7 * 24 * 3600


def test_the_article_shows_its_image_by_the_public_address(client: Client, manager: User) -> None:
    article = publish(manager, "Export invoices", status="draft")
    image = upload(manager, article)
    # Written as the editor used to insert it: the media address.
    publish_body = f"Click **Export**.\n\n![The export button]({image.file.url})"

    translate(manager, article, locale="en", title="Export invoices", body=publish_body)

    html = client.get("/help/articles/export-invoices/").content.decode()

    assert f'src="{public_url(image)}"' in html
    assert client.get(public_url(image)).status_code == 200


def test_stored_html_with_the_old_media_address_is_shown_with_the_public_one(
    client: Client, manager: User
) -> None:
    article = publish(manager, "Export invoices")
    image = upload(manager, article)
    ArticleTranslation.objects.filter(article=article).update(
        body_html=f'<p><img src="{image.file.url}" alt="x"></p>'
    )

    html = client.get("/help/articles/export-invoices/").content.decode()

    assert f'src="{public_url(image)}"' in html and "/media/" not in html


def test_a_draft_only_articles_image_is_not_found(client: Client, manager: User) -> None:
    image = upload(manager, publish(manager, "Secret plans", status="draft"))

    assert client.get(public_url(image)).status_code == 404


def test_staff_previewing_a_draft_see_its_image_but_not_through_shared_caches(
    client: Client, agent: User
) -> None:
    image = upload(agent, publish(agent, "Secret plans", status="draft"))
    client.force_login(agent)

    response = client.get(public_url(image))

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"


def test_unknown_names_and_paths_outside_the_article_images_are_not_found(
    client: Client, manager: User
) -> None:
    image = upload(manager, publish(manager, "Export invoices"))
    # A private file beside the article images, such as a ticket attachment.
    default_storage.save("attachments/2026/11/invoice.png", ContentFile(PNG))
    year_month = image.file.name.removeprefix("kb/").rsplit("/", 1)[0]

    for path in [
        f"/help/images/{year_month}/0123456789abcdef0123456789abcdef.png",
        "/help/images/../attachments/2026/11/invoice.png",
        f"/help/images/{year_month}/../../../attachments/2026/11/invoice.png",
        "/help/images/%2e%2e/attachments/2026/11/invoice.png",
        "/help/images/attachments/2026/11/invoice.png",
        f"/help/images/{image.file.name}",
        "/help/images/",
    ]:
        assert client.get(path).status_code == 404, path


def test_an_image_whose_file_is_gone_is_not_found(client: Client, manager: User) -> None:
    image = upload(manager, publish(manager, "Export invoices"))
    default_storage.delete(image.file.name)

    assert client.get(public_url(image)).status_code == 404
