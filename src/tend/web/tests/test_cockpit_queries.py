"""The account 360 page costs a fixed number of queries, however long its lists."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import make_staff
from tend.core.roles import Role
from tend.crm.models import Account, Contact, Subscription, Touchpoint
from tend.success.models import Task, TaskType

pytestmark = pytest.mark.django_db


def _grow(account: Account, n: int, offset: int) -> None:
    today = timezone.localdate()
    for i in range(offset, offset + n):
        Contact.objects.create(name=f"P{i}", email=f"p{i}@acme.test", account=account)
        Subscription.objects.create(account=account, plan=f"Plan {i}", starts_on=today)
        Task.objects.create(account=account, type=TaskType.MANUAL, title=f"T{i}", due_on=today)
        Touchpoint.objects.create(
            account=account, subject=f"Note {i}", happened_at=timezone.now() - dt.timedelta(i)
        )


def test_account_page_query_count_does_not_grow_with_its_lists(client: Client) -> None:
    csm = make_staff("carla", Role.CSM)
    account = Account.objects.create(name="Acme", owner=csm)
    _grow(account, 1, 0)
    client.force_login(csm)
    url = reverse("web:account", args=[account.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _grow(account, 20, 1)
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large) == len(small), [q["sql"][:120] for q in large.captured_queries]
