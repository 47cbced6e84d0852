"""How numbers, dates and times are written: for people on pages, for machines in CSV.

Pages: counts with thousands separators (3,856), amounts through `accounts.money.display_money`,
dates `YYYY-MM-DD`, times `YYYY-MM-DD HH:MM` in UTC. CSV: plain numbers, dates `YYYY-MM-DD`,
times ISO 8601 UTC to the second (`2026-11-02T08:00:00Z`), booleans `true`/`false` (as the API
and the filters' URLs write them). docs/architecture.md, "Formats", is the rule book.
"""

from datetime import UTC, date, datetime


def format_count(value: int) -> str:
    """A whole number for people: '3,856', '-12', '0'."""
    return f"{value:,d}"


def csv_timestamp(moment: datetime) -> str:
    """A moment for machines: ISO 8601 in UTC to the second, '2026-11-02T08:00:00Z'."""
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def csv_date(day: date) -> str:
    """A day for machines: '2026-11-02'."""
    return day.isoformat()


def csv_boolean(value: bool) -> str:
    return "true" if value else "false"
