"""Reads of device usage: the one-pass month scan behind usage reports, the live rollups behind
pages, and the generated reports themselves."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Count, Max, QuerySet, Sum

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


def _as_datetime(value: datetime | str) -> datetime:
    """Raw SQL gives SQLite timestamps back as text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- The month scan --------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceRow:
    account_id: int
    device_id: str
    endpoint_name: str
    first_seen_at: datetime


@dataclass(frozen=True)
class UpdateRow:
    account_id: int
    occurred_at: datetime
    campaign: UUID
    device_id: str
    endpoint_name: str


@dataclass(frozen=True)
class CallRow:
    account_id: int
    category: str
    event_name: str
    calls: int


MonthRow = DeviceRow | UpdateRow | CallRow

# One scan of the month's events, grouped in the database: connections collapse to one group
# per device (and endpoint name), firmware updates stay one group each (grouped by id), API
# calls collapse per category and event. The output is ordered by account, so the caller
# streams it one account at a time. A device seen under two endpoint names gives two groups,
# first connection first; the caller keeps the first.
_MONTH_SCAN = """
SELECT account_id, type, device_id, endpoint_name, category, event_name, campaign,
       CASE WHEN type = %(update)s THEN id END AS update_id,
       MIN(occurred_at) AS first_at, SUM(count) AS calls
FROM metering_usageevent
WHERE occurred_at >= %(start)s AND occurred_at < %(end)s
  AND type IN (%(connection)s, %(update)s, %(call)s)
GROUP BY account_id, type, device_id, endpoint_name, category, event_name, campaign, update_id
ORDER BY account_id, type, device_id, first_at, update_id
"""


def month_usage_rows(month: Month) -> Iterator[MonthRow]:
    """Every account's usage in the month from one set-based scan, ordered by account: a row per
    active device (with its first connection), per firmware update and per API-call event name.
    Streams through a server-side cursor on PostgreSQL; call inside a transaction."""
    adapt = connection.ops.adapt_datetimefield_value
    params = {
        "start": adapt(month.start),
        "end": adapt(month.end),
        "connection": EventType.DEVICE_CONNECTION.value,
        "update": EventType.FIRMWARE_UPDATE.value,
        "call": EventType.API_CALL.value,
    }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The grouping is a hash table of one entry per active device; keep it in memory.
            cursor.execute("SET LOCAL work_mem = '256MB'")
    last_device: tuple[int, str] | None = None
    with connection.chunked_cursor() as cursor:
        cursor.execute(_MONTH_SCAN, params)
        while batch := cursor.fetchmany(5000):
            for row in batch:
                account_id, kind, device_id, endpoint, category, event_name, campaign = row[:7]
                first_at, calls = row[8], row[9]
                if kind == EventType.DEVICE_CONNECTION:
                    if last_device == (account_id, device_id):
                        continue
                    last_device = (account_id, device_id)
                    yield DeviceRow(account_id, device_id, endpoint, _as_datetime(first_at))
                elif kind == EventType.FIRMWARE_UPDATE:
                    yield UpdateRow(
                        account_id,
                        _as_datetime(first_at),
                        campaign if isinstance(campaign, UUID) else UUID(campaign),
                        device_id,
                        endpoint,
                    )
                else:
                    yield CallRow(account_id, category, event_name, int(calls))


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


def last_connection(account_ids: Iterable[int]) -> datetime | None:
    return DeviceMonth.objects.filter(account_id__in=list(account_ids)).aggregate(
        last=Max("last_seen_at")
    )["last"]


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
