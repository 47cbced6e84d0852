"""Monthly usage reports: each account's device usage of a month and the month's CSV files."""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from uuid import UUID

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from accounts.exports import csv_safe
from accounts.models import Account

from ..exports import (
    ACTIVE_DEVICES_HEADER,
    FIRMWARE_UPDATES_HEADER,
    gzip_csv_member,
    header_member,
)
from ..models import EventType, UsageEvent, UsageReport, UsageReportMonth
from ..months import Month
from ..selectors import Usage, month_device_rows, month_update_and_call_rows

ERR_MONTH_NOT_OVER = "The reports of {month} can be generated once the month is over."

REPORTS_DIR = "usage-reports"
ACTIVE_DEVICES_FILE = "active-devices.csv.gz"
FIRMWARE_UPDATES_FILE = "firmware-updates.csv.gz"
# Arbitrary constant naming the PostgreSQL advisory lock that serialises report generation.
_REPORTS_LOCK_KEY = 7_414_020_004


@dataclass
class _AccountUsage:
    """One account's rows of the month scan, compressed as they stream past."""

    usage: Usage
    devices_member: bytes = b""
    updates_member: bytes = b""


def _scan_month(
    month: Month, uuids: dict[int, UUID], campaign_names: Mapping[UUID, str]
) -> dict[int, _AccountUsage]:
    """Stream the month's rows, one account at a time, into usage figures and gzip members."""
    found: dict[int, _AccountUsage] = {}

    def entry(account_id: int) -> _AccountUsage:
        if account_id not in found:
            found[account_id] = _AccountUsage(Usage())
        return found[account_id]

    for account_id, rows in groupby(month_device_rows(month), key=itemgetter(0)):
        account_uuid = str(uuids[account_id])
        lines = [
            (account_uuid, at, csv_safe(device), csv_safe(endpoint))
            for _, device, endpoint, at in rows
        ]
        usage = entry(account_id)
        usage.usage.active_devices = len(lines)
        usage.devices_member = gzip_csv_member(lines)
    for account_id, rows in groupby(month_update_and_call_rows(month), key=itemgetter(0)):
        account_uuid, usage, lines = str(uuids[account_id]), entry(account_id), []
        for row in rows:
            if len(row) == 4:  # API calls of one category and event
                usage.usage.add_calls(row[1], row[2], row[3])
            else:
                _, at, campaign, device, endpoint = row
                name = campaign_names.get(campaign, str(campaign))
                lines.append(
                    (account_uuid, at, csv_safe(name), csv_safe(device), csv_safe(endpoint))
                )
        usage.usage.firmware_updates = len(lines)
        usage.updates_member = gzip_csv_member(lines)
    return found


def _tree_paths(accounts: dict[int, Account], included: set[int]) -> dict[int, str]:
    paths: dict[int, str] = {}

    def path(account_id: int) -> str:
        if account_id not in paths:
            parent = accounts[account_id].parent_id
            prefix = path(parent) if parent in included else "/"
            paths[account_id] = f"{prefix}{account_id}/"
        return paths[account_id]

    for account_id in included:
        path(account_id)
    return paths


def _tree_order_key(path: str, accounts: dict[int, Account]) -> tuple[str, ...]:
    """Tree order: parents before children, siblings by name."""
    return tuple(f"{accounts[int(part)].name}\x00{part}" for part in path.strip("/").split("/"))


def _tree_runs(paths: list[str]) -> list[int]:
    """For paths in tree order, how many accounts each one's tree holds (itself included): in
    tree order an account's tree is the run of accounts whose path starts with its own."""
    runs = [0] * len(paths)
    open_: list[int] = []
    for position, path in enumerate(paths):
        while open_ and not path.startswith(paths[open_[-1]]):
            closed = open_.pop()
            runs[closed] = position - closed
        open_.append(position)
    for closed in open_:
        runs[closed] = len(paths) - closed
    return runs


def _save_file(name: str, content: bytes) -> str:
    # A leftover from a run that failed before committing is replaced, not suffixed.
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(content))


def _lay_out(members: list[bytes], runs: list[int], header: bytes) -> tuple[bytes, list]:
    """The month file (the header, then each account's member in tree order) and each
    account's (start, length): its member and those of the `runs[i] - 1` accounts after it."""
    starts, position = [], len(header)
    for member in members:
        starts.append(position)
        position += len(member)
    ends = [*starts[1:], position]
    slices = [(start, ends[i + runs[i] - 1] - start) for i, start in enumerate(starts)]
    return header + b"".join(members), slices


def usage_reports_generate(
    *,
    month: Month,
    campaign_names: Mapping[UUID, str],
    packaged_account_ids: Collection[int],
    now: datetime | None = None,
) -> tuple[UsageReportMonth, bool]:
    """Generate the month's usage report of every account from one scan of its events, and the
    month's two gzipped CSV files in which each account's rows and those of the accounts below
    it are one byte range. Returns (the month, created); a month already generated is returned
    unchanged.

    `campaign_names` names the update campaigns for the firmware-update file and
    `packaged_account_ids` are the accounts whose package holder had a service package during
    the month: both come from the quotas app, which metering cannot import."""
    now = now or timezone.now()
    if month.end > now:
        raise ValidationError({"period": [ERR_MONTH_NOT_OVER.format(month=month)]})
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REPORTS_LOCK_KEY])
        existing = UsageReportMonth.objects.filter(month=month.first_day).first()
        if existing is not None:
            return existing, False

        accounts = {a.id: a for a in Account.objects.order_by("name", "id")}
        found = _scan_month(month, {a.id: a.uuid for a in accounts.values()}, campaign_names)

        # Every account that existed by the end of the month or used something in it, with
        # the accounts above it so the tree holds together.
        included = {a.id for a in accounts.values() if a.created_at < month.end} | set(found)
        for account_id in list(included):
            parent = accounts[account_id].parent_id
            while parent is not None and parent not in included:
                included.add(parent)
                parent = accounts[parent].parent_id
        paths = _tree_paths(accounts, included)
        ordered = sorted(included, key=lambda i: _tree_order_key(paths[i], accounts))
        runs = _tree_runs([paths[i] for i in ordered])
        empty = _AccountUsage(Usage())
        usages = [found.get(i, empty) for i in ordered]
        devices_bytes, devices_slices = _lay_out(
            [u.devices_member for u in usages], runs, header_member(ACTIVE_DEVICES_HEADER)
        )
        updates_bytes, updates_slices = _lay_out(
            [u.updates_member for u in usages], runs, header_member(FIRMWARE_UPDATES_HEADER)
        )
        header = UsageReportMonth.objects.create(
            month=month.first_day,
            generated_at=now,
            accounts=len(ordered),
            active_devices=sum(u.usage.active_devices for u in usages),
            firmware_updates=sum(u.usage.firmware_updates for u in usages),
            api_calls=sum(u.usage.api_calls_total for u in usages),
            active_devices_file=_save_file(
                f"{REPORTS_DIR}/{month}/{ACTIVE_DEVICES_FILE}", devices_bytes
            ),
            firmware_updates_file=_save_file(
                f"{REPORTS_DIR}/{month}/{FIRMWARE_UPDATES_FILE}", updates_bytes
            ),
        )
        UsageReport.objects.bulk_create(
            [
                UsageReport(
                    report_month=header,
                    month=month.first_day,
                    account_id=account_id,
                    tree_path=paths[account_id],
                    account_name=accounts[account_id].name,
                    organization=accounts[account_id].organization,
                    business_model=accounts[account_id].business_model,
                    had_package=account_id in packaged_account_ids,
                    active_devices=usage.usage.active_devices,
                    firmware_updates=usage.usage.firmware_updates,
                    api_calls_total=usage.usage.api_calls_total,
                    api_calls=usage.usage.api_calls_document(),
                    active_devices_start=devices_slice[0],
                    active_devices_length=devices_slice[1],
                    firmware_updates_start=updates_slice[0],
                    firmware_updates_length=updates_slice[1],
                )
                for account_id, usage, devices_slice, updates_slice in zip(
                    ordered, usages, devices_slices, updates_slices, strict=True
                )
            ],
            batch_size=1000,
        )
    return header, True


def first_usage_month() -> Month | None:
    """The month of the earliest device, firmware or API-call event (one scan of the events;
    the report job asks only before it has generated anything)."""
    first = (
        UsageEvent.objects.filter(
            type__in=[EventType.DEVICE_CONNECTION, EventType.FIRMWARE_UPDATE, EventType.API_CALL]
        )
        .order_by()
        .aggregate(first=Min("occurred_at"))["first"]
    )
    return Month.of(first) if first else None
