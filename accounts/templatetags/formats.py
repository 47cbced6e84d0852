"""Template filters for figures, the same helpers the table columns use:
`{{ devices|count }}` (3,856) and `{{ amount|money:currency }}` ($1,234.50)."""

from decimal import Decimal

from django import template

from accounts.formats import format_count
from accounts.money import display_money

register = template.Library()


@register.filter
def count(value: object) -> object:
    """A whole number with thousands separators; anything else (a job's counts may hold a
    month) as it is."""
    if isinstance(value, int) and not isinstance(value, bool):
        return format_count(value)
    return value


@register.filter
def money(amount: Decimal, currency: str) -> str:
    return display_money(amount, currency)
