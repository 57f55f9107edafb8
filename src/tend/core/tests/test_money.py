"""Money on screen: one format for every page, by the currency's minor unit."""

from __future__ import annotations

from django.utils import translation

from tend.core.money import minor_units, money_format


def test_amounts_read_with_the_currency_exponent_and_symbol() -> None:
    assert money_format(123456, "USD") == "$1,234.56"
    assert money_format(19950, "cny") == "¥199.50"
    assert money_format(5000, "JPY") == "JP¥5,000"  # ¥ alone is the yuan
    assert money_format(1234, "CHF") == "12.34 CHF"
    assert money_format(1234567, "KWD") == "1,234.567 KWD"
    assert money_format(None, "USD") == "" and money_format(100, "") == ""


def test_minor_units_follow_iso_4217() -> None:
    assert [minor_units(c) for c in ("CNY", "jpy", "KWD", "XOF")] == [100, 1, 1000, 1]


def test_grouping_follows_the_language() -> None:
    with translation.override("zh-hans"):
        assert money_format(123456789, "CNY") == "¥1,234,567.89"
