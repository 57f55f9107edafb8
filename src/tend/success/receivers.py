"""What customer success does when other apps report something (see apps.py).

Only the cheap signals are evaluated here, for the one account concerned; the daily
evaluation (success/tasks.py) catches everything else. Signals are sent after commit,
so each receiver runs in its own short transaction.

crm's ``contact_role_lost``/``subscription_changed`` and health's ``band_changed`` are
connected by name, so this module keeps working while those apps grow their signals.
surveys' ``response_recorded`` closes the loop on unhappy answers (survey_follow_up).
usage's ``events_ingested`` closes the inactivity tasks that new activity answers.
"""

from __future__ import annotations

from typing import Any

from tend.crm import events as crm_events
from tend.crm.models import Account, Contact, Role
from tend.desk import events as desk_events
from tend.desk.models import Priority, Ticket
from tend.health import events as health_events
from tend.success.models import TaskType
from tend.surveys import events as surveys_events
from tend.usage import events as usage_events


def on_ticket_created(sender: Any, ticket_id: int, **kwargs: Any) -> None:
    from tend.success.risks import risks_evaluate

    row = Ticket.objects.filter(pk=ticket_id).values("account_id", "priority").first()
    if row is None or row["account_id"] is None:
        return
    types = [TaskType.TICKET_SPIKE]
    if row["priority"] == Priority.URGENT:
        types.append(TaskType.URGENT_TICKET)
    risks_evaluate(account_ids=[row["account_id"]], only=types)


def on_contact_role_lost(
    sender: Any, contact_id: int, account_id: int | None, role: str, **kwargs: Any
) -> None:
    """A champion or decision maker lost the role or left the account."""
    from django.utils.translation import gettext as _

    from tend.success.services import task_raise

    if account_id is None or role not in (Role.CHAMPION, Role.DECISION_MAKER):
        return
    account = Account.objects.select_related("owner").filter(pk=account_id).first()
    contact = Contact.objects.filter(pk=contact_id).first()
    if account is None or contact is None:
        return
    name = contact.display_name
    label = Role(role).label

    def reason() -> str:
        return _("%(name)s is no longer the %(role)s at %(account)s.") % {
            "name": name,
            "role": str(label).lower(),
            "account": account.name,
        }

    task_raise(
        account=account,
        type=TaskType.CHAMPION_GONE,
        reason=reason,
        reason_key=f"{contact_id}:removed:{role}",
        # The person may have moved to another account: link them only if still here.
        contact=contact if contact.account_id == account_id else None,
    )


def on_band_changed(sender: Any, account_id: int, old: str, new: str, **kwargs: Any) -> None:
    from tend.health.models import Band
    from tend.success.risks import risks_evaluate

    if new == Band.RED:
        risks_evaluate(account_ids=[account_id], only=[TaskType.RENEWAL_AT_RISK])


def on_subscription_changed(sender: Any, account_id: int, **kwargs: Any) -> None:
    """Seats or the renewal date changed: re-check the two signals that read them."""
    from tend.success.risks import risks_evaluate

    risks_evaluate(
        account_ids=[account_id], only=[TaskType.SEATS_UNDERUSED, TaskType.RENEWAL_AT_RISK]
    )


def on_survey_response_recorded(sender: Any, response_id: int, **kwargs: Any) -> None:
    """A survey answer came in (or was edited): a low one raises a follow-up task."""
    from tend.success.services import survey_follow_up

    survey_follow_up(response_id=response_id)


def on_events_ingested(sender: Any, account_ids: list[int], **kwargs: Any) -> None:
    """Product activity came in: inactivity tasks whose silence ended close themselves."""
    from tend.success.risks import risk_tasks_clear_on_activity

    risk_tasks_clear_on_activity(account_ids=account_ids)


def connect() -> None:
    desk_events.ticket_created.connect(
        on_ticket_created, dispatch_uid="tend.success.on_ticket_created"
    )
    crm_events.contact_role_lost.connect(
        on_contact_role_lost, dispatch_uid="tend.success.on_contact_role_lost"
    )
    crm_events.subscription_changed.connect(
        on_subscription_changed, dispatch_uid="tend.success.on_subscription_changed"
    )
    health_events.band_changed.connect(on_band_changed, dispatch_uid="tend.success.on_band_changed")
    surveys_events.response_recorded.connect(
        on_survey_response_recorded, dispatch_uid="tend.success.on_survey_response_recorded"
    )
    usage_events.events_ingested.connect(
        on_events_ingested, dispatch_uid="tend.success.on_events_ingested"
    )


connect()
