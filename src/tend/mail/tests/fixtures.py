"""Pytest fixtures other apps' tests use to see the mail Tend sends to customers.

Mail to customers is queued as OutboundMessage rows and sent by a task, so it no longer
appears in ``django.core.mail.outbox`` by itself. Loaded from the root conftest.py with
``pytest_plugins = ["tend.mail.tests.fixtures"]`` (fixtures work by name, so desk, API
and web tests use them without importing the mail app).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail


def deliver_queued_mail() -> list[Any]:
    """Send every queued outbound mail now (through the test's locmem backend unless a
    test points MAILERS elsewhere) and return everything sent so far."""
    from tend.mail.models import OutboundMessage, OutboundStatus
    from tend.mail.outbound import outbound_send

    for pk in (
        OutboundMessage.objects.filter(status=OutboundStatus.QUEUED)
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        outbound_send(outbound_id=pk)
    return list(getattr(mail, "outbox", []))


@pytest.fixture
def deliver_mail() -> Callable[[], list[Any]]:
    """``deliver_mail()`` sends the queued customer mail and returns mail.outbox.

    Needs database access, which the test has already (db, transactional_db, live_server).
    """
    return deliver_queued_mail
