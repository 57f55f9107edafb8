"""The scheduler runs the desk's periodic jobs, and each does its service's work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from crontask import scheduler
from django.utils import timezone

from tend.desk import services, tasks
from tend.desk.models import Status, Ticket


def test_auto_close_and_sla_marking_are_scheduled():
    jobs = {job.name: str(job.trigger) for job in scheduler.get_jobs()}
    assert "minute='*/15'" in jobs["close_solved_tickets"]
    assert "minute='*'" in jobs["mark_sla_breaches"]


@pytest.mark.django_db
def test_the_close_task_closes_tickets_solved_long_enough_ago(agent, team, settings):
    settings.TEND_AUTO_CLOSE_DAYS = 4
    old = services.ticket_create(
        actor=None, subject="Old", description="x", requester_email="a@b.test", team=team
    )
    old = services.ticket_solve(actor=agent, ticket=old, reason="fixed")
    Ticket.objects.filter(pk=old.pk).update(solved_at=timezone.now() - timedelta(days=5))
    fresh = services.ticket_solve(
        actor=agent,
        ticket=services.ticket_create(
            actor=None, subject="New", description="x", requester_email="a@b.test", team=team
        ),
        reason="fixed",
    )

    assert tasks.close_solved_tickets.call() == 1

    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == Status.CLOSED and fresh.status == Status.SOLVED
