"""Scheduled knowledge-base jobs. Thin: each calls one service."""

from __future__ import annotations

from crontask import cron
from django.tasks import task

from tend.kb import services


@cron("*/10 * * * *")
@task
def count_deflections() -> int:
    """Support-form suggestions opened and not followed by a submit become deflections."""
    return services.deflections_count()
