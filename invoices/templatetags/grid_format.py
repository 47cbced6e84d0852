"""Template filters of the Billing grid: `{{ row.quantity|quantity }}` and
`{{ row.unit_price|unit_price }}`, the same helpers as its table columns."""

from decimal import Decimal

from django import template

from invoices.formatting import format_quantity, format_unit_price

register = template.Library()


@register.filter
def quantity(value: Decimal) -> str:
    return format_quantity(value)


@register.filter
def unit_price(value: Decimal) -> str:
    return format_unit_price(value)
