"""How the Billing grid writes quantities and unit prices for people: thousands separators and
no trailing zeros past what the figure needs ('1,250.5', a price '0.012345' or '0.50')."""

from decimal import Decimal


def format_quantity(value: Decimal) -> str:
    text = f"{value:,.6f}".rstrip("0")
    return text.rstrip(".")


def format_unit_price(value: Decimal) -> str:
    whole, _, fraction = f"{value:,.6f}".partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"
