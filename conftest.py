"""Shared test fixtures: the staff cast every permission test needs.

Like healthchecks' base test class: an owner-side agent, a teammate, an agent of
another team (the outsider), a manager, a read-only user and an admin, all made
through the real role machinery.
"""

from __future__ import annotations

import copy
import os
import shutil
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any

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
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    for config in caches.values():
        config["KEY_PREFIX"] = prefix
        if worker and config["BACKEND"].endswith("RedisCache"):
            # cache.clear() empties the whole Redis database, whatever the prefix: each
            # xdist worker gets a database of its own, or one test's clear() wipes what
            # a test running in the other worker just stored (an import's progress).
            location = urllib.parse.urlsplit(config["LOCATION"])
            base = int(location.path.strip("/") or 0)
            number = int(worker.removeprefix("gw") or 0)
            config["LOCATION"] = location._replace(path=f"/{base + 1 + number}").geturl()
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


# --- browser tests (marked "browser") ----------------------------------------------------
# Debian's chromium driven through Playwright; the tests skip where either is missing.
CHROMIUM = os.environ.get("TEND_CHROMIUM", "/usr/bin/chromium")
# Where screenshots of the pages under test go, if anywhere.
SHOTS = os.environ.get("TEND_SCREENSHOTS", "")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, one per test module.

    Not one per session: while Playwright's sync API is open its event loop counts as
    running on this thread, which would break asyncio.run() and async_to_sync() in
    the tests that follow. For the same reason Django's guard against ORM calls from
    async code is lifted, for as long as the browser is open.
    """
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_api.sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
                headless=True,
            )
            yield launched
            launched.close()


@pytest.fixture
def new_page(browser: Any, live_server: Any) -> Iterator[Callable[..., Any]]:
    """Opens a page in a fresh browser context (its own cookies) whose relative URLs
    go to the live server: ``new_page(viewport=..., locale=...)`` takes what
    ``browser.new_context`` takes, and ``timeout_ms`` for every wait. The contexts
    close after the test."""
    contexts: list[Any] = []

    # Playwright's own default: under CI's full load a page (an import's progress, a
    # chart) can take well over ten seconds.
    def open_page(*, timeout_ms: int = 30_000, **options: Any) -> Any:
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(timeout_ms)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def signed_in(new_page: Callable[..., Any], live_server: Any, client: Any) -> Callable[..., Any]:
    """Opens a page signed in as a user (the test client's session, handed to the
    browser as its cookie): ``signed_in(agent)``, or with ``new_page`` options."""

    def open_as(user: User, **options: Any) -> Any:
        client.force_login(user)
        page = new_page(**{"viewport": {"width": 1360, "height": 900}, **options})
        cookie = client.cookies["sessionid"]
        page.context.add_cookies(
            [{"name": "sessionid", "value": cookie.value, "url": live_server.url}]
        )
        return page

    return open_as


def shot(page: Any, name: str) -> None:
    """A full-page screenshot into $TEND_SCREENSHOTS, when it is set."""
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)
