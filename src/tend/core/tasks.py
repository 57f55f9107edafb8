"""Housekeeping jobs for the embedded default."""

from __future__ import annotations

import io

from crontask import cron
from django.conf import settings
from django.core.management import call_command
from django.tasks import task


@cron("30 3 * * *")
@task
def prune_finished_task_results() -> str:
    """The database task backend keeps every finished job's row; drop those older
    than two weeks (failed ones after 30 days) so the table does not grow forever.
    RQ expires its own results, so this does nothing there."""
    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return "skipped: not the database backend"
    out = io.StringIO()
    call_command("prune_db_task_results", min_age_days=14, failed_min_age_days=30, stdout=out)
    return out.getvalue().strip()
