"""Template filters for statements: money in its currency, durations and hours."""

from datetime import timedelta
from decimal import Decimal

from django import template

from statements.formatting import format_duration, format_hours, format_money

register = template.Library()


@register.filter
def money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency)


@register.filter
def duration(value: timedelta) -> str:
    return format_duration(value)


@register.filter
def hours(value: timedelta) -> str:
    return format_hours(value)
