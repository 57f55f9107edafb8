"""crm test helpers: a CSM, and a recorder for the signals crm sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conftest import make_staff
from tend.core.models import User
from tend.core.roles import Role
from tend.crm import events


@pytest.fixture
def csm(db: None) -> User:
    return make_staff("carl", Role.CSM, first_name="Carl")


@pytest.fixture
def roles_lost() -> Iterator[list[tuple[int, int, str]]]:
    """(contact_id, account_id, role) of every contact_role_lost sent during the test."""
    received: list[tuple[int, int, str]] = []

    def record(sender: Any, contact_id: int, account_id: int, role: str, **kwargs: Any) -> None:
        received.append((contact_id, account_id, role))

    events.contact_role_lost.connect(record, dispatch_uid="crm-test-roles-lost")
    yield received
    events.contact_role_lost.disconnect(dispatch_uid="crm-test-roles-lost")
