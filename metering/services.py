"""Usage ingest: validate, resolve references, store each event exactly once per
(account, event_id), and say what happened to every event.

The same service backs `POST /api/v1/events` and `manage.py ingest_events`. A batch is one
transaction: events are either all stored or, on an unexpected error, none are.
"""

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import Min
from django.utils import timezone

from accounts.exports import csv_safe
from accounts.models import Account, ApiKey
from accounts.scoping import Actor, can_see_account, scope, visible_accounts
from licenses.models import License

from .exports import (
    ACTIVE_DEVICES_HEADER,
    FIRMWARE_UPDATES_HEADER,
    gzip_csv_member,
    header_member,
)
from .models import EventType, RollupCursor, UsageEvent, UsageReport, UsageReportMonth
from .months import Month
from .selectors import ROLLUP_CURSOR, Usage, month_device_rows, month_update_and_call_rows
from .validation import Errors, Fields, check_event, fingerprint

MAX_BATCH = 10_000

ERR_LICENSE = "Unknown license, or one this key may not use."
ERR_ACCOUNT = "Unknown account, or one this key may not use."
ERR_ACCOUNT_REQUIRED = "Required: this key is not tied to one account."
ERR_ACCOUNT_MISMATCH = "The license belongs to another account."
ERR_CAMPAIGN = "Unknown update campaign for this account."
ERR_UPDATE_OUTSIDE = "Must be dated while the campaign ran, from {start} to {end} (UTC)."
ERR_MONTH_NOT_OVER = "The reports of {month} can be generated once the month is over."
CONFLICT_DETAIL = "This event_id is already stored with different content; the stored event stays."

# The columns written by ingest, in COPY order.
COLUMNS: tuple[str, ...] = (
    "account_id",
    "event_id",
    "type",
    "occurred_at",
    "received_at",
    "fingerprint",
    "license_id",
    "duration_seconds",
    "machine_id",
    "machine_type",
    "region",
    "pool",
    "license_type",
    "device_id",
    "endpoint_name",
    "campaign",
    "category",
    "event_name",
    "count",
)
_CONTENT = COLUMNS[:3] + COLUMNS[6:] + ("occurred_at",)
# Every column an event type does not use; a validated event's own fields are laid over it.
_EMPTY_ROW: dict[str, Any] = {
    **dict.fromkeys(COLUMNS, ""),
    **dict.fromkeys(("license_id", "duration_seconds", "campaign", "count"), None),
}

# Ingest holds this PostgreSQL advisory lock shared; `committed_watermark` takes it exclusively
# for an instant, so every event id at or below the watermark it returns is committed.
INGEST_LOCK_KEY = 7_414_020_002

CampaignResolver = Callable[[set[UUID]], dict[UUID, int]]
_campaign_resolver: CampaignResolver | None = None


@dataclass(frozen=True)
class CampaignAllowance:
    """How many more firmware updates a campaign may record, why any beyond are refused
    (finished, terminated, or its reservation used up), and when it runs: an update must be
    dated in [starts_at, ends_at). Updates that arrive late but are dated in time count."""

    updates_left: int
    refusal: str
    starts_at: datetime
    ends_at: datetime


# Called inside the ingest transaction; it locks the campaigns it is asked about until commit,
# so two batches never both spend a campaign's last token.
CampaignAllowances = Callable[[set[UUID]], dict[UUID, CampaignAllowance]]
_campaign_allowances: CampaignAllowances | None = None


def register_campaign_resolver(
    resolver: CampaignResolver, allowances: CampaignAllowances | None = None
) -> None:
    """The quotas app tells ingest which account owns each update campaign and how many
    updates each may still record (it sits above metering, so metering cannot import it)."""
    global _campaign_resolver, _campaign_allowances
    _campaign_resolver = resolver
    _campaign_allowances = allowances


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: "IngestResult", offset: int = 0) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.conflicts += [{**c, "index": c["index"] + offset} for c in other.conflicts]
        self.rejected += [{**r, "index": r["index"] + offset} for r in other.rejected]

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "rejected": self.rejected,
        }


def _default_account_id(actor: Actor) -> int | None:
    return actor.account_id if isinstance(actor, ApiKey) else None


def _resolve(
    actor: Actor, checked: list[tuple[int, Fields]], now: datetime
) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str, Errors]]]:
    """Turn validated events into rows, rejecting those whose license, account or campaign the
    actor may not use. Three queries per batch, whatever its size."""
    license_ids = {f["license"] for _, f in checked if f.get("license")}
    account_ids = {f["account"] for _, f in checked if f["account"]}
    campaign_ids = {f["campaign"] for _, f in checked if f.get("campaign")}
    licenses = {
        uuid: (pk, account_id)
        for uuid, pk, account_id in scope(License.objects.all(), actor)
        .filter(uuid__in=license_ids)
        .values_list("uuid", "id", "account_id")
    }
    accounts = dict(visible_accounts(actor).filter(uuid__in=account_ids).values_list("uuid", "id"))
    # A campaign of an account the actor cannot see is unknown to it, like any other object.
    campaigns = {
        campaign: owner
        for campaign, owner in (
            _campaign_resolver(campaign_ids) if campaign_ids and _campaign_resolver else {}
        ).items()
        if can_see_account(actor, owner)
    }
    default_account = _default_account_id(actor)

    rows, rejected = [], []
    for index, f in checked:
        errors: Errors = {}
        account_id = None
        if f["account"] is not None:
            account_id = accounts.get(f["account"])
            if account_id is None:
                errors["account"] = [ERR_ACCOUNT]
        license_id = None
        if f["type"] == EventType.MACHINE_SESSION:
            license_id, owner = licenses.get(f["license"], (None, None))
            if license_id is None:
                errors["license"] = [ERR_LICENSE]
            elif account_id is not None and account_id != owner:
                errors["license"] = [ERR_ACCOUNT_MISMATCH]
            account_id = owner
        elif f["type"] == EventType.FIRMWARE_UPDATE:
            owner = campaigns.get(f["campaign"])
            account_id = account_id or default_account or owner
            if owner is None or owner != account_id:
                errors["campaign"] = [ERR_CAMPAIGN]
        else:
            account_id = account_id or default_account
        if account_id is None and not errors:
            errors["account"] = [ERR_ACCOUNT_REQUIRED]
        if errors:
            rejected.append((index, f["event_id"], errors))
            continue
        row = {**_EMPTY_ROW, **f, "account_id": account_id, "license_id": license_id}
        row["received_at"] = now
        row["fingerprint"] = fingerprint([row[k] for k in _CONTENT])
        rows.append((index, row))
    return rows, rejected


def _insert(rows: Sequence[dict[str, Any]]) -> None:
    if connection.vendor == "postgresql":
        table = UsageEvent._meta.db_table
        # The raw psycopg cursor does the COPY; Django still translates its errors.
        sql = f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN"
        with (
            connection.cursor() as cursor,
            connection.wrap_database_errors,
            cursor.cursor.copy(sql) as copy,
        ):
            for row in rows:
                copy.write_row([row[c] for c in COLUMNS])
        return
    UsageEvent.objects.bulk_create(
        [UsageEvent(**{c: row[c] for c in COLUMNS}) for row in rows], batch_size=500
    )


def _stored_fingerprints(keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], str]:
    by_account: dict[int, list[str]] = defaultdict(list)
    for account_id, event_id in keys:
        by_account[account_id].append(event_id)
    stored = {}
    for account_id, event_ids in by_account.items():
        for start in range(0, len(event_ids), 1000):
            for event_id, print_ in UsageEvent.objects.filter(
                account_id=account_id, event_id__in=event_ids[start : start + 1000]
            ).values_list("event_id", "fingerprint"):
                stored[(account_id, event_id)] = print_
    return stored


def _store(rows: list[tuple[int, dict[str, Any]]], result: IngestResult) -> None:
    """Insert new rows; sort the others into duplicates and conflicts. The first attempt assumes
    every row is new (the common case, one COPY); a unique violation means some are not."""
    for _attempt in range(5):
        if not rows:
            return
        try:
            with transaction.atomic():
                _insert([row for _, row in rows])
        except IntegrityError:
            stored = _stored_fingerprints((r["account_id"], r["event_id"]) for _, r in rows)
            fresh = []
            for index, row in rows:
                known = stored.get((row["account_id"], row["event_id"]))
                if known is None:
                    fresh.append((index, row))
                elif known == row["fingerprint"]:
                    result.duplicates += 1
                else:
                    result.conflicts.append(
                        {"index": index, "event_id": row["event_id"], "detail": CONFLICT_DETAIL}
                    )
            rows = fresh
            continue
        result.accepted += len(rows)
        return
    raise IntegrityError("Events kept colliding with concurrent ingest; retry the batch.")


def _limit_firmware_updates(
    rows: list[tuple[int, dict[str, Any]]], result: IngestResult
) -> list[tuple[int, dict[str, Any]]]:
    """Each firmware update spends one token of its campaign's reservation. Under the campaign
    locks: re-sent updates are duplicates (they spend nothing), new ones beyond what the
    campaign may still record are rejected with the campaign's reason."""
    updates = [(i, r) for i, r in rows if r["type"] == EventType.FIRMWARE_UPDATE]
    if not updates or _campaign_allowances is None:
        return rows
    allowances = _campaign_allowances({r["campaign"] for _, r in updates})
    stored = _stored_fingerprints((r["account_id"], r["event_id"]) for _, r in updates)
    left = {campaign: a.updates_left for campaign, a in allowances.items()}
    kept = []
    for index, row in rows:
        if row["type"] != EventType.FIRMWARE_UPDATE:
            kept.append((index, row))
            continue
        known = stored.get((row["account_id"], row["event_id"]))
        if known == row["fingerprint"]:
            result.duplicates += 1
        elif known is not None:
            result.conflicts.append(
                {"index": index, "event_id": row["event_id"], "detail": CONFLICT_DETAIL}
            )
        else:
            errors = _update_errors(row, allowances.get(row["campaign"]), left)
            if errors:
                result.rejected.append(
                    {"index": index, "event_id": row["event_id"], "errors": errors}
                )
            else:
                left[row["campaign"]] -= 1
                kept.append((index, row))
    return kept


def _update_errors(
    row: dict[str, Any], allowance: CampaignAllowance | None, left: dict[UUID, int]
) -> Errors:
    if allowance is None:
        return {"campaign": [ERR_CAMPAIGN]}
    if not allowance.starts_at <= row["occurred_at"] < allowance.ends_at:
        return {
            "timestamp": [
                ERR_UPDATE_OUTSIDE.format(
                    start=f"{allowance.starts_at:%Y-%m-%d %H:%M:%S}",
                    end=f"{allowance.ends_at:%Y-%m-%d %H:%M:%S}",
                )
            ]
        }
    if left[row["campaign"]] <= 0:
        return {"campaign": [allowance.refusal]}
    return {}


def _lock_ingest_shared() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [INGEST_LOCK_KEY])


def events_ingest(
    *, actor: Actor, events: Sequence[Any], now: datetime | None = None
) -> IngestResult:
    """Store a batch of raw events (at most MAX_BATCH) for `actor`, an API key or user that may
    send usage. Rejections carry field messages; nothing is dropped silently."""
    now = now or timezone.now()
    result = IngestResult()
    checked: list[tuple[int, Fields]] = []
    for index, raw in enumerate(events):
        fields, errors = check_event(raw, now)
        if errors:
            event_id = raw.get("event_id") if isinstance(raw, dict) else None
            result.rejected.append({"index": index, "event_id": event_id, "errors": errors})
        else:
            checked.append((index, fields))

    # Within one batch the first occurrence of an event id wins; later ones are compared to it.
    rows, rejected = _resolve(actor, checked, now)
    for index, event_id, errors in rejected:
        result.rejected.append({"index": index, "event_id": event_id, "errors": errors})
    first: dict[tuple[int, str], dict[str, Any]] = {}
    unique_rows = []
    for index, row in rows:
        key = (row["account_id"], row["event_id"])
        seen = first.get(key)
        if seen is None:
            first[key] = row
            unique_rows.append((index, row))
        elif seen["fingerprint"] == row["fingerprint"]:
            result.duplicates += 1
        else:
            result.conflicts.append(
                {"index": index, "event_id": row["event_id"], "detail": CONFLICT_DETAIL}
            )

    with transaction.atomic():
        _lock_ingest_shared()
        unique_rows = _limit_firmware_updates(unique_rows, result)
        _store(unique_rows, result)
    result.rejected.sort(key=lambda r: r["index"])
    result.conflicts.sort(key=lambda c: c["index"])
    return result


def committed_watermark() -> int:
    """The highest event row id below which every row is committed: what a poll may safely
    process up to. (SQLite has one writer at a time, so its highest id is always safe.)"""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [INGEST_LOCK_KEY])
        last = UsageEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return last or 0


# -- Live rollups ------------------------------------------------------------------------------

# Events are rolled up this many at a time, one transaction each, so a large backlog (a bulk
# load, a worker that was down) commits steadily instead of in one huge transaction.
ROLLUP_CHUNK = 250_000

_MONTH_OF = {
    "postgresql": "(date_trunc('month', occurred_at AT TIME ZONE 'UTC'))::date",
    "sqlite": "date(occurred_at, 'start of month')",
}
_DAY_OF = {
    "postgresql": "(occurred_at AT TIME ZONE 'UTC')::date",
    "sqlite": "date(occurred_at)",
}

# The first connection of each device in each month of the id range, with the range's
# connection count and last connection, merged into the device's month row.
_ROLLUP_DEVICES = """
INSERT INTO metering_devicemonth
    (account_id, month, device_id, endpoint_name, first_seen_at, last_seen_at, connections)
SELECT account_id, month, device_id, endpoint_name, occurred_at, last_seen_at, connections
FROM (
    SELECT account_id, {month} AS month, device_id, endpoint_name, occurred_at,
           MAX(occurred_at) OVER per_device AS last_seen_at,
           COUNT(*) OVER per_device AS connections,
           ROW_NUMBER() OVER (per_device ORDER BY occurred_at, id) AS position
    FROM metering_usageevent
    WHERE id > %s AND id <= %s AND type = %s
    WINDOW per_device AS (PARTITION BY account_id, {month}, device_id)
) AS ranked
WHERE position = 1
ON CONFLICT (account_id, month, device_id) DO UPDATE SET
    endpoint_name = CASE WHEN excluded.first_seen_at < metering_devicemonth.first_seen_at
        THEN excluded.endpoint_name ELSE metering_devicemonth.endpoint_name END,
    first_seen_at = CASE WHEN excluded.first_seen_at < metering_devicemonth.first_seen_at
        THEN excluded.first_seen_at ELSE metering_devicemonth.first_seen_at END,
    last_seen_at = CASE WHEN excluded.last_seen_at > metering_devicemonth.last_seen_at
        THEN excluded.last_seen_at ELSE metering_devicemonth.last_seen_at END,
    connections = metering_devicemonth.connections + excluded.connections
"""

_ROLLUP_DAILY = """
INSERT INTO metering_dailyusage (account_id, day, type, category, event_name, quantity)
SELECT account_id, {day}, type, category, event_name,
       SUM(CASE WHEN type = %s THEN count ELSE 1 END)
FROM metering_usageevent
WHERE id > %s AND id <= %s AND type IN (%s, %s)
GROUP BY account_id, {day}, type, category, event_name
ON CONFLICT (account_id, day, type, category, event_name) DO UPDATE SET
    quantity = metering_dailyusage.quantity + excluded.quantity
"""


def usage_rollup(*, chunk: int = ROLLUP_CHUNK) -> dict[str, int]:
    """Fold every committed event not yet rolled up into the live rollups (devices per month,
    firmware updates and API calls per day). Idempotent: the cursor moves in the transaction
    that adds the events, so each event is counted exactly once."""
    high = committed_watermark()
    vendor = connection.vendor
    devices_sql = _ROLLUP_DEVICES.format(month=_MONTH_OF[vendor])
    daily_sql = _ROLLUP_DAILY.format(day=_DAY_OF[vendor])
    counts = {"events": 0, "device_rows": 0, "daily_rows": 0}
    while True:
        with transaction.atomic():
            cursor_row, _ = RollupCursor.objects.select_for_update().get_or_create(
                name=ROLLUP_CURSOR
            )
            low = cursor_row.last_event_id
            if low >= high:
                return counts
            # The id of the chunk-th event after the cursor (ids have gaps: failed batches burn
            # sequence values), or the watermark.
            upper = min(
                high,
                UsageEvent.objects.filter(id__gt=low)
                .order_by("id")
                .values_list("id", flat=True)[chunk - 1 : chunk]
                .first()
                or high,
            )
            with connection.cursor() as cursor:
                cursor.execute(devices_sql, [low, upper, EventType.DEVICE_CONNECTION])
                counts["device_rows"] += max(cursor.rowcount, 0)
                cursor.execute(
                    daily_sql,
                    [
                        EventType.API_CALL,
                        low,
                        upper,
                        EventType.API_CALL,
                        EventType.FIRMWARE_UPDATE,
                    ],
                )
                counts["daily_rows"] += max(cursor.rowcount, 0)
            cursor_row.last_event_id = upper
            cursor_row.updated_at = timezone.now()
            cursor_row.save(update_fields=["last_event_id", "updated_at"])
            counts["events"] += UsageEvent.objects.filter(id__gt=low, id__lte=upper).count()


# -- Monthly usage reports ---------------------------------------------------------------------

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
        if connection.vendor == "postgresql":
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
