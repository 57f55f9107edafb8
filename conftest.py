"""Shared test fixtures: the staff cast every permission test needs.

Like healthchecks' base test class: an owner-side agent, a teammate, an agent of
another team (the outsider), a manager, a read-only user and an admin, all made
through the real role machinery.
"""

from __future__ import annotations

import copy
import uuid

import pytest

from tend.core.models import User
from tend.core.roles import Role, assign_role

# `deliver_mail`: sends what the outbox queued, so tests can read mail.outbox.
pytest_plugins = ["tend.mail.tests.fixtures"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    # Real hashing costs ~2 s per staff user; tests are about permissions, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_cache(settings):  # type: ignore[no-untyped-def]
    # The database rolls back after each test but a Redis cache does not: give every
    # test its own key prefix so rate-limit counters and cached counts never leak
    # between tests (or between xdist workers sharing one Redis).
    caches = copy.deepcopy(settings.CACHES)
    prefix = f"test-{uuid.uuid4().hex}"
    for config in caches.values():
        config["KEY_PREFIX"] = prefix
    settings.CACHES = caches


@pytest.fixture(autouse=True)
def _default_language():  # type: ignore[no-untyped-def]
    # A request in Chinese leaves its language active on the thread (LocaleMiddleware
    # activates, nothing deactivates); the next test in that process must not inherit it.
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


def make_staff(username: str, role: Role, **extra: object) -> User:
    user = User.objects.create_user(
        username=username, email=f"{username}@tend.test", password="correct horse battery", **extra
    )
    assign_role(user, role)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def team(db):  # type: ignore[no-untyped-def]
    from tend.desk.models import Team

    return Team.objects.create(name="Support")


@pytest.fixture
def other_team(db):  # type: ignore[no-untyped-def]
    from tend.desk.models import Team

    return Team.objects.create(name="Billing")


@pytest.fixture
def agent(db, team):  # type: ignore[no-untyped-def]
    user = make_staff("alice", Role.AGENT, first_name="Alice")
    team.members.add(user)
    return user


@pytest.fixture
def teammate(db, team):  # type: ignore[no-untyped-def]
    user = make_staff("bob", Role.AGENT, first_name="Bob")
    team.members.add(user)
    return user


@pytest.fixture
def outsider(db, other_team):  # type: ignore[no-untyped-def]
    user = make_staff("olga", Role.AGENT, first_name="Olga")
    other_team.members.add(user)
    return user


@pytest.fixture
def manager(db):  # type: ignore[no-untyped-def]
    return make_staff("mia", Role.MANAGER, first_name="Mia")


@pytest.fixture
def readonly(db):  # type: ignore[no-untyped-def]
    return make_staff("rex", Role.READ_ONLY, first_name="Rex")


@pytest.fixture
def admin_user(db):  # type: ignore[no-untyped-def]
    return make_staff("ada", Role.ADMIN, first_name="Ada")
