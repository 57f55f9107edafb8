"""Money as Tend stores it: integer minor units plus an ISO 4217 currency code.

One place for how many minor units a currency has and how an amount reads on screen,
so the account list, the account page and the forms agree ("¥123.45" everywhere).
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import formats

# ISO 4217 minor-unit exponents that are not 2; every other currency has cents.
_EXPONENTS = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "UGX": 0,
    "XAF": 0,
    "XOF": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
}
# Symbols only where they are unambiguous for Tend's users; others show the code.
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CNY": "¥", "JPY": "JP¥"}


def exponent(currency: str) -> int:
    """Decimal places of ``currency``'s minor unit (2 for CNY, 0 for JPY, 3 for KWD)."""
    return _EXPONENTS.get(currency.upper(), 2)


def minor_units(currency: str) -> int:
    """How many minor units make one of ``currency`` (100 for CNY, 1 for JPY)."""
    return int(10 ** exponent(currency))


def money_format(minor: int | None, currency: str | None) -> str:
    """12345, "CNY" -> "¥123.45"; grouping and decimal mark follow the active language.
    Nothing to show ("") without an amount or a currency."""
    if minor is None or not currency:
        return ""
    places = exponent(currency)
    amount = Decimal(minor).scaleb(-places)
    number = formats.number_format(amount, decimal_pos=places, use_l10n=True, force_grouping=True)
    symbol = _SYMBOLS.get(currency.upper())
    return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"
