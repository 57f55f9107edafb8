"""Scheduled desk jobs. Thin: each calls one service."""

from __future__ import annotations

from crontask import cron
from django.tasks import task
from django.utils import timezone

from tend.desk import services, sla


@cron("*/15 * * * *")
@task
def close_solved_tickets() -> int:
    """Close tickets solved more than TEND_AUTO_CLOSE_DAYS ago."""
    return services.tickets_close_solved()


@cron("* * * * *")
@task
def mark_sla_breaches() -> int:
    return sla.sla_breaches_mark(timezone.now())
