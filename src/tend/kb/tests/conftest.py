"""kb test helpers: articles made through the real services, committed, so their
search documents exist as they would in production."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tend.core.models import User
from tend.kb.models import Article
from tend.kb.services import article_create


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run a service and its after-commit work (indexing) as a real commit would."""

    def run(func: Callable[..., Any], **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return func(**kwargs)

    return run


@pytest.fixture
def publish(commit: Callable[..., Any], agent: User) -> Callable[..., Article]:
    """Publish an article (English unless ``locale`` says otherwise)."""

    def make(title: str, body: str = "", **kwargs: Any) -> Article:
        params: dict[str, Any] = {"actor": agent, "title": title, "body": body or title}
        params.setdefault("status", "published")
        params.update(kwargs)
        params.setdefault("status", "published")
        return commit(article_create, **params)  # type: ignore[no-any-return]

    return make
