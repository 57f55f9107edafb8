"""Mail jobs. Thin: each loads ids and calls one service.

Imports are inside the functions so this module (which the scheduler imports to find
its cron jobs) stays cheap and free of import cycles.
"""

from __future__ import annotations

from crontask import cron
from django.tasks import task


@task
def process_inbound(message_id: int) -> str:
    """Turn one stored message into a ticket/comment (idempotent; see inbound_process)."""
    from tend.mail.services import inbound_process_attempt

    return inbound_process_attempt(message_id=message_id).status


@cron("* * * * *")
@task
def recover_inbound() -> int:
    """Process messages left "received" by a crashed worker or a lost job."""
    from tend.mail.services import inbound_recover

    return inbound_recover()


@task
def send_outbound(outbound_id: int) -> str:
    from tend.mail.outbound import outbound_send

    return outbound_send(outbound_id=outbound_id).status


@cron("* * * * *")
@task
def send_outbound_due() -> int:
    """Retry mail whose backoff has passed, and mail a lost job never sent."""
    from tend.mail.outbound import outbound_send_due

    return outbound_send_due()


@task
def poll_mailbox(mailbox_id: int) -> int:
    from tend.mail.imap import mailbox_poll

    return mailbox_poll(mailbox_id=mailbox_id)


@cron("* * * * *")
@task
def poll_mailboxes() -> int:
    """Enqueue one poll per active IMAP mailbox."""
    from tend.mail.imap import mailboxes_poll_enqueue

    return mailboxes_poll_enqueue()
