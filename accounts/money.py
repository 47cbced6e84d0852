"""Money helpers: one place that knows each currency's minor unit and how we round."""

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from babel.numbers import format_currency, get_currency_precision, list_currencies


@cache
def currency_codes() -> frozenset[str]:
    return frozenset(list_currencies())


def is_currency(code: str) -> bool:
    return code in currency_codes()


@cache
def minor_unit(currency: str) -> int:
    """Decimal places of the currency's minor unit (USD 2, JPY 0, KWD 3)."""
    return get_currency_precision(currency)


@cache
def _exponent(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_unit(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit, half up, as every document line is rounded."""
    return amount.quantize(_exponent(currency), rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, currency: str) -> str:
    """The amount as the API and exports show it: a plain string with the currency's decimals."""
    return str(round_money(amount, currency))


def display_money(amount: Decimal, currency: str) -> str:
    """The amount as pages and documents show it: '$1,234.50', '-$3.00', '¥1,200', rounded to
    the currency's minor unit first. Exports and the API use format_money instead."""
    return format_currency(round_money(amount, currency), currency, locale="en_US")
