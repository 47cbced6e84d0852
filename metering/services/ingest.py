"""Usage ingest: validate events and store each one exactly once per (account, event_id).

Every event gets an outcome: accepted, duplicate, conflict, or rejected with field messages.
The same service backs `POST /api/v1/events` and `manage.py ingest_events`. A batch is one
transaction: events are either all stored or, on an unexpected error, none are.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import ApiKey
from accounts.scoping import Actor, can_see_account, scope, visible_accounts
from licenses.models import License

from ..models import EventType, UsageEvent
from ..validation import Errors, Fields, check_event, fingerprint

MAX_BATCH = 10_000

ERR_LICENSE = "Unknown license, or one this key may not use."
ERR_ACCOUNT = "Unknown account, or one this key may not use."
ERR_ACCOUNT_REQUIRED = "Required: this key is not tied to one account."
ERR_ACCOUNT_MISMATCH = "The license belongs to another account."
ERR_CAMPAIGN = "Unknown update campaign for this account."
ERR_UPDATE_OUTSIDE = "Must be dated while the campaign ran, from {start} to {end} (UTC)."
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
    process up to."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [INGEST_LOCK_KEY])
        last = UsageEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return last or 0
