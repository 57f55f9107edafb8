"""Survey jobs. Thin: each calls one service.

Imports are inside the functions so this module (which the scheduler imports to find
its cron jobs) stays cheap and free of import cycles.
"""

from __future__ import annotations

from crontask import cron
from django.tasks import task


@cron("30 8 * * *")
@task
def surveys_due() -> int:
    """The daily send rules: relationship NPS every N days, NPS N days after start."""
    from tend.surveys.services import surveys_due as run

    return run()


@cron("15 * * * *")
@task
def survey_invitations_send_due() -> int:
    """Asks that wait a few days after a ticket was solved go out when due."""
    from tend.surveys.services import invitations_send_due

    return invitations_send_due()
