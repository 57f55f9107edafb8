"""Article images as the public help center serves them.

Uploads are stored under ``kb/YYYY/MM/<name>`` in the default storage, but /media/ is
only served when DEBUG is on (and may hold private files, such as ticket
attachments). The help center serves an article image at
``/help/images/YYYY/MM/<name>`` instead, and only while the article is published in
some language. The path mirrors the stored name, so Markdown written with the old
``/media/kb/…`` address maps to it without a lookup.
"""

from __future__ import annotations

import mimetypes
import re

from django.conf import settings
from django.db.models import Exists, OuterRef

from tend.kb.models import ArticleImage, ArticleStatus, ArticleTranslation

HELP_IMAGES_PATH = "/help/images/"
UPLOAD_DIR = "kb/"
# What kb.services.image_upload stores: a date folder and a plain name with one of the
# sniffed types' extensions. Anything else (``..``, encoded slashes, other folders) is
# no image of ours.
_NAME = re.compile(r"\d{4}/\d{2}/[A-Za-z0-9_-]{1,100}\.(?:png|jpe?g|gif|webp)", re.ASCII)
SERVED_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def is_image_name(name: str) -> bool:
    """Whether ``name`` (the part after /help/images/) can be an uploaded image."""
    return _NAME.fullmatch(name) is not None


def help_image_path(file_name: str) -> str | None:
    """``kb/2026/11/a.png`` → ``/help/images/2026/11/a.png``; None for any other file."""
    if not file_name.startswith(UPLOAD_DIR):
        return None
    name = file_name[len(UPLOAD_DIR) :]
    return f"{HELP_IMAGES_PATH}{name}" if is_image_name(name) else None


def help_image_url(image: ArticleImage, *, absolute: bool = False) -> str:
    """Where the help center shows an image: what the editor puts in the Markdown.
    Falls back to the storage's own URL for a file stored some other way."""
    path = help_image_path(image.file.name or "")
    if path is None:
        return str(image.file.url)
    return f"{settings.BASE_URL}{path}" if absolute else path


def image_for_help(name: str, *, include_drafts: bool = False) -> ArticleImage | None:
    """The image stored as ``kb/<name>`` if its article is published in at least one
    language (or in any state, with ``include_drafts``, for staff previews)."""
    if not is_image_name(name):
        return None
    images = ArticleImage.objects.filter(file=f"{UPLOAD_DIR}{name}")
    if not include_drafts:
        published = ArticleTranslation.objects.filter(
            article_id=OuterRef("article_id"), status=ArticleStatus.PUBLISHED
        )
        images = images.filter(Exists(published))
    return images.order_by("pk").first()


def image_content_type(image: ArticleImage) -> str:
    """The type sniffed on upload; for rows without one, the name's."""
    if image.content_type in SERVED_TYPES:
        return image.content_type
    guessed, _encoding = mimetypes.guess_type(image.file.name or "")
    return guessed if guessed in SERVED_TYPES else "application/octet-stream"
