"""Template filters for statements: durations and hours (figures and amounts: `formats`)."""

from datetime import timedelta

from django import template

from statements.formatting import format_duration, format_hours

register = template.Library()


@register.filter
def duration(value: timedelta) -> str:
    return format_duration(value)


@register.filter
def hours(value: timedelta) -> str:
    return format_hours(value)
