"""Billing months: a period is the first day of a UTC calendar month, written YYYY-MM."""

import re
from datetime import UTC, date, datetime

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")

ERR_PERIOD = "Must be a month written YYYY-MM."


def month_of(moment: datetime) -> date:
    """The period a UTC moment falls in."""
    moment = moment.astimezone(UTC)
    return date(moment.year, moment.month, 1)


def next_month(period: date) -> date:
    return date(period.year + period.month // 12, period.month % 12 + 1, 1)


def previous_month(period: date) -> date:
    return date(period.year - (period.month == 1), (period.month - 2) % 12 + 1, 1)


def month_start(period: date) -> datetime:
    """The first instant of the period, as an aware UTC datetime."""
    return datetime(period.year, period.month, 1, tzinfo=UTC)


def months_between(first: date, last: date) -> list[date]:
    """Every period from first to last, both included."""
    months, period = [], first
    while period <= last:
        months.append(period)
        period = next_month(period)
    return months


def parse_period(text: str) -> date:
    """YYYY-MM to a period; ValueError with ERR_PERIOD otherwise."""
    match = _PERIOD.match(text or "")
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1970:
        raise ValueError(ERR_PERIOD)
    return date(int(match.group(1)), int(match.group(2)), 1)


def format_period(period: date) -> str:
    return f"{period:%Y-%m}"
