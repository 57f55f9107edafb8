"""The shared-cache rate limiter: counts per key and window, and says when to retry."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from tend.core.ratelimit import client_ip, rate_limit_hit

pytestmark = pytest.mark.django_db

WINDOW = 3600
# A moment 100 s into an hour-aligned window, so retry_after is predictable.
T0 = 1_800_000_000 - (1_800_000_000 % WINDOW) + 100


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    cache.clear()


def test_attempts_up_to_the_limit_are_allowed_and_the_next_is_refused() -> None:
    results = [rate_limit_hit("ip:203.0.113.5", 3, WINDOW, now=T0) for _ in range(4)]

    assert [r.allowed for r in results] == [True, True, True, False]
    assert results[0].retry_after == 0
    assert results[3].retry_after == WINDOW - 100


def test_keys_are_counted_separately() -> None:
    rate_limit_hit("email:a@example.com", 1, WINDOW, now=T0)

    assert rate_limit_hit("email:a@example.com", 1, WINDOW, now=T0).allowed is False
    assert rate_limit_hit("email:b@example.com", 1, WINDOW, now=T0).allowed is True


def test_a_new_window_starts_a_fresh_count() -> None:
    rate_limit_hit("ip:198.51.100.1", 1, WINDOW, now=T0)
    assert rate_limit_hit("ip:198.51.100.1", 1, WINDOW, now=T0 + 10).allowed is False

    later = rate_limit_hit("ip:198.51.100.1", 1, WINDOW, now=T0 + WINDOW)

    assert later.allowed is True


def test_refused_attempts_still_count_so_hammering_does_not_help() -> None:
    for _ in range(5):
        rate_limit_hit("ip:192.0.2.9", 2, WINDOW, now=T0)

    assert rate_limit_hit("ip:192.0.2.9", 2, WINDOW, now=T0).count == 6


def test_keys_with_odd_characters_work() -> None:
    key = "email:" + "ünïcode+tag@example.com" * 20 + " spaces\nnewline"

    assert rate_limit_hit(key, 1, WINDOW, now=T0).allowed is True
    assert rate_limit_hit(key, 1, WINDOW, now=T0).allowed is False


def test_a_zero_limit_refuses_everything() -> None:
    assert rate_limit_hit("off", 0, WINDOW, now=T0).allowed is False


def test_the_window_must_be_positive() -> None:
    with pytest.raises(ValueError):
        rate_limit_hit("x", 1, 0)


def test_client_ip_ignores_forwarded_for_without_trusted_proxies(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TEND_TRUSTED_PROXY_COUNT = 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert client_ip(request) == "10.0.0.1"


def test_client_ip_takes_the_address_the_trusted_proxy_saw(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TEND_TRUSTED_PROXY_COUNT = 1
    # The client forged the first entry; our proxy appended the real one.
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7"
    )

    assert client_ip(request) == "203.0.113.7"
