"""The scheduler counts support-form deflections every ten minutes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from crontask import scheduler
from django.utils import timezone

from tend.kb import tasks
from tend.kb.models import ArticleDailyStat, SuggestionOpen
from tend.kb.services import suggestion_open_record


def test_deflection_counting_is_scheduled_every_ten_minutes() -> None:
    jobs = {job.name: str(job.trigger) for job in scheduler.get_jobs()}
    assert "minute='*/10'" in jobs["count_deflections"]


@pytest.mark.django_db
def test_the_task_turns_old_unsubmitted_opens_into_deflections(publish) -> None:
    article = publish("Refunds")
    suggestion_open_record(article=article, locale="en", visitor="v" * 64, query="refund")
    SuggestionOpen.objects.update(opened_at=timezone.now() - timedelta(hours=1))

    assert tasks.count_deflections.call() == 1
    assert ArticleDailyStat.objects.get(article=article).deflections == 1
