"""Reads of device usage: the one-pass month scan behind usage reports, the live rollups behind
pages, and the generated reports themselves."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Count, QuerySet, Sum

from .models import (
    ApiCallCategory,
    DailyUsage,
    DeviceMonth,
    EventType,
    RollupCursor,
    UsageEvent,
    UsageReport,
    UsageReportMonth,
)
from .months import Month

ROLLUP_CURSOR = "device_usage"
TRANSACTION_DAYS = 30
CATEGORIES: tuple[str, ...] = tuple(ApiCallCategory.values)


@dataclass
class Usage:
    """What one account (or an account with its tenants) used in a month: the USAGE object of
    the billing-report API."""

    active_devices: int = 0
    firmware_updates: int = 0
    api_calls: dict[str, dict[str, int]] = field(
        default_factory=lambda: {category: {} for category in CATEGORIES}
    )

    def add_calls(self, category: str, event_name: str, calls: int) -> None:
        events = self.api_calls[category]
        events[event_name] = events.get(event_name, 0) + calls

    def add(self, other: "Usage") -> None:
        self.active_devices += other.active_devices
        self.firmware_updates += other.firmware_updates
        for category, events in other.api_calls.items():
            for name, calls in events.items():
                self.add_calls(category, name, calls)

    def category_total(self, category: str) -> int:
        return sum(self.api_calls[category].values())

    @property
    def api_calls_total(self) -> int:
        return sum(self.category_total(c) for c in CATEGORIES)

    def api_calls_document(self) -> dict[str, dict[str, Any]]:
        """{"device_to_service": {"total": n, "events": {name: n}}, ...}, events by name."""
        return {
            category: {
                "total": self.category_total(category),
                "events": dict(sorted(self.api_calls[category].items())),
            }
            for category in CATEGORIES
        }

    @classmethod
    def from_report(cls, report: UsageReport) -> "Usage":
        usage = cls(active_devices=report.active_devices, firmware_updates=report.firmware_updates)
        for category, detail in report.api_calls.items():
            usage.api_calls[category] = dict(detail["events"])
        return usage


# -- The month scan ------------------------------------------------------------------------------

# Connections are nearly all of the events: one scan of the month groups them into one row per
# device (and endpoint name) in a hash table. A device seen under two endpoint names gives two
# rows, its first connection first; the reader keeps the first. Ordered by account, so the
# caller streams one account at a time.
_DEVICES_SCAN = """
SELECT account_id, device_id, endpoint_name, {first_at}
FROM metering_usageevent
WHERE type = %(connection)s AND occurred_at >= %(start)s AND occurred_at < %(end)s
GROUP BY account_id, device_id, endpoint_name
ORDER BY account_id, device_id, MIN(occurred_at)
"""

# Firmware updates (each one a row) and API calls (summed per category and event) are read
# through the partial index on their time, so they cost the month scan nothing.
_UPDATES_AND_CALLS_SCAN = """
SELECT account_id, 0 AS kind, {occurred_at}, device_id, endpoint_name, campaign,
       '' AS category, '' AS event_name, 1 AS calls, id, occurred_at AS at
FROM metering_usageevent
WHERE type = %(update)s AND occurred_at >= %(start)s AND occurred_at < %(end)s
UNION ALL
SELECT account_id, 1, NULL, '', '', NULL, category, event_name, SUM(count), NULL, NULL
FROM metering_usageevent
WHERE type = %(call)s AND occurred_at >= %(start)s AND occurred_at < %(end)s
GROUP BY account_id, category, event_name
ORDER BY account_id, kind, at, id
"""

# Timestamps come back as the CSV writes them, ISO 8601 UTC with microseconds; _iso_text drops
# microseconds that are all zero.
_ISO = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def _iso_text(text: str) -> str:
    """2026-04-03T10:15:00Z, with microseconds only when there are some (as iso_utc)."""
    return text.replace(".000000Z", "Z")


# (account_id, device_id, endpoint_name, first connection as ISO 8601 UTC text)
DeviceRow = tuple[int, str, str, str]
# (account_id, timestamp as ISO 8601 UTC text, campaign, device_id, endpoint_name)
UpdateRow = tuple[int, str, UUID, str, str]
# (account_id, category, event_name, calls)
CallRow = tuple[int, str, str, int]
_FETCH = 20_000


def _scan(statement: str, month: Month) -> Iterator[tuple]:
    """Stream a month scan through a server-side cursor (in a transaction)."""
    params = {
        "start": month.start,
        "end": month.end,
        "connection": EventType.DEVICE_CONNECTION.value,
        "update": EventType.FIRMWARE_UPDATE.value,
        "call": EventType.API_CALL.value,
    }
    with connection.cursor() as cursor:
        # Keep the per-device hash table in memory, and plan for the whole result: a
        # server-side cursor would otherwise favour a fast first row (the account index).
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL cursor_tuple_fraction = 1")
    with connection.chunked_cursor() as cursor:
        cursor.execute(statement, params)
        while batch := cursor.fetchmany(_FETCH):
            yield from batch


def month_device_rows(month: Month) -> Iterator[DeviceRow]:
    """Every device active in the month, once, with its first connection, by account."""
    statement = _DEVICES_SCAN.format(first_at=_ISO.format("MIN(occurred_at)"))
    last = None
    for account_id, device_id, endpoint, first_at in _scan(statement, month):
        if (account_id, device_id) != last:
            last = (account_id, device_id)
            yield account_id, device_id, endpoint, _iso_text(first_at)


def month_update_and_call_rows(month: Month) -> Iterator[UpdateRow | CallRow]:
    """The month's firmware updates (one row each) and API calls (per category and event), by
    account: update rows have 5 items, call rows 4."""
    statement = _UPDATES_AND_CALLS_SCAN.format(occurred_at=_ISO.format("occurred_at"))
    for row in _scan(statement, month):
        account_id, kind, at, device_id, endpoint, campaign, category, name, calls = row[:9]
        if kind == 0:
            yield account_id, _iso_text(at), campaign, device_id, endpoint
        else:
            yield account_id, category, name, int(calls)


# -- Live rollups ------------------------------------------------------------------------------


def rollup_position() -> RollupCursor | None:
    """How far the live rollups have read, and when they last moved."""
    return RollupCursor.objects.filter(name=ROLLUP_CURSOR).first()


def active_devices(account_ids: Iterable[int], month: Month) -> QuerySet[DeviceMonth]:
    """The devices active in the month, one row each, from the live rollup."""
    return DeviceMonth.objects.filter(account_id__in=list(account_ids), month=month.first_day)


def live_usage(account_ids: Iterable[int], month: Month) -> dict[int, Usage]:
    """Each account's own usage in the month from the live rollups (accounts without usage
    are present with zeros)."""
    ids = list(account_ids)
    usage = {account_id: Usage() for account_id in ids}
    for account_id, devices in (
        active_devices(ids, month)
        .values_list("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n")
    ):
        usage[account_id].active_devices = devices
    daily = (
        DailyUsage.objects.filter(
            account_id__in=ids, day__gte=month.first_day, day__lte=month.last_day
        )
        .values_list("account_id", "type", "category", "event_name")
        .annotate(total=Sum("quantity"))
    )
    for account_id, kind, category, event_name, total in daily:
        if kind == EventType.FIRMWARE_UPDATE:
            usage[account_id].firmware_updates += total
        else:
            usage[account_id].add_calls(category, event_name, total)
    return usage


def transactions_window(today: date) -> tuple[date, date]:
    """The past 30 days: today and the 29 UTC days before it."""
    return today - timedelta(days=TRANSACTION_DAYS - 1), today


def transactions_in_window(account_ids: Iterable[int], today: date) -> int:
    """API calls (all categories) of the accounts in the past 30 days."""
    first, last = transactions_window(today)
    total = DailyUsage.objects.filter(
        account_id__in=list(account_ids),
        type=EventType.API_CALL,
        day__gte=first,
        day__lte=last,
    ).aggregate(total=Sum("quantity"))["total"]
    return total or 0


# -- Campaign updates (exact, from the events) -------------------------------------------------


def firmware_updates_by_campaign(campaigns: Iterable[UUID]) -> dict[UUID, int]:
    """How many firmware updates each campaign has recorded; uses the partial campaign index."""
    wanted = list(campaigns)
    counts = dict.fromkeys(wanted, 0)
    if not wanted:
        return counts
    rows = (
        UsageEvent.objects.filter(type=EventType.FIRMWARE_UPDATE, campaign__in=wanted)
        .values_list("campaign")
        .annotate(n=Count("id"))
        .values_list("campaign", "n")
    )
    counts.update(dict(rows))
    return counts


# -- Generated reports -------------------------------------------------------------------------


def generated_months() -> set[Month]:
    return {
        Month.from_first_day(d) for d in UsageReportMonth.objects.values_list("month", flat=True)
    }


def report_month(month: Month) -> UsageReportMonth | None:
    return UsageReportMonth.objects.filter(month=month.first_day).first()


def report_of(account_id: int, month: Month) -> UsageReport | None:
    return (
        UsageReport.objects.filter(account_id=account_id, month=month.first_day)
        .select_related("account", "report_month")
        .first()
    )


def reports_in_tree(report: UsageReport) -> QuerySet[UsageReport]:
    """The account's report and the reports of every account that was below it that month."""
    return UsageReport.objects.filter(
        month=report.month, tree_path__startswith=report.tree_path
    ).select_related("account")


def total_usage(reports: Iterable[UsageReport]) -> Usage:
    total = Usage()
    for report in reports:
        total.add(Usage.from_report(report))
    return total
