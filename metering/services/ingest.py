"""Usage ingest: validate events and store each one exactly once per (account, event_id).

Every event gets an outcome: accepted, duplicate, conflict, or rejected with field messages.
The same service backs `POST /api/v1/events` and `manage.py ingest_events`. A batch is one
transaction: events are either all stored or, on an unexpected error, none are.
"""

from collections.abc import Callable, Sequence
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
from ..validation import Errors, Fields, bounds_at, check_event
from .rows import EventRow, event_row, rows_copy, stored_fingerprints

MAX_BATCH = 10_000

ERR_LICENSE = "Unknown license, or one this key may not use."
ERR_ACCOUNT = "Unknown account, or one this key may not use."
ERR_ACCOUNT_REQUIRED = "Required: this key is not tied to one account."
ERR_ACCOUNT_MISMATCH = "The license belongs to another account."
ERR_CAMPAIGN = "Unknown update campaign for this account."
ERR_CLIENT = "Unknown client account, or one this key may not use."
ERR_UPDATE_OUTSIDE = "Must be dated while the campaign ran, from {start} to {end} (UTC)."
CONFLICT_DETAIL = "This event_id is already stored with different content; the stored event stays."

# Plain text, compared once or twice per event: cheaper than the enum members.
_SESSION = EventType.MACHINE_SESSION.value
_UPDATE = EventType.FIRMWARE_UPDATE.value
_USAGE = EventType.USAGE.value

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
) -> tuple[list[EventRow], list[tuple[int, str, Errors]]]:
    """Turn validated events into rows, rejecting those whose license, account or campaign the
    actor may not use. Three queries per batch, whatever its size."""
    license_ids, account_ids, campaign_ids = set(), set(), set()
    for _, f in checked:
        if f["account"]:
            account_ids.add(f["account"])
        if f["type"] == _USAGE and f["client"]:
            account_ids.add(f["client"])
        if f["type"] == _SESSION:
            license_ids.add(f["license"])
        elif f["type"] == _UPDATE:
            campaign_ids.add(f["campaign"])
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
    received_at = str(now)

    rows, rejected = [], []
    for index, f in checked:
        errors: Errors = {}
        account_id = None
        if f["account"] is not None:
            account_id = accounts.get(f["account"])
            if account_id is None:
                errors["account"] = [ERR_ACCOUNT]
        license_id = None
        if f["type"] == _SESSION:
            license_id, owner = licenses.get(f["license"], (None, None))
            if license_id is None:
                errors["license"] = [ERR_LICENSE]
            elif account_id is not None and account_id != owner:
                errors["license"] = [ERR_ACCOUNT_MISMATCH]
            account_id = owner
        elif f["type"] == _UPDATE:
            owner = campaigns.get(f["campaign"])
            account_id = account_id or default_account or owner
            if owner is None or owner != account_id:
                errors["campaign"] = [ERR_CAMPAIGN]
        elif f["type"] == _USAGE:
            account_id = account_id or default_account
            # Stored as sent: the rating bills the asset's client by it. A client the key may
            # not see is refused exactly like one that does not exist.
            if f["client"] is not None and f["client"] not in accounts:
                errors["client"] = [ERR_CLIENT]
        else:
            account_id = account_id or default_account
        if account_id is None and not errors:
            errors["account"] = [ERR_ACCOUNT_REQUIRED]
        if errors:
            rejected.append((index, f["event_id"], errors))
            continue
        rows.append(event_row(index, f, account_id, license_id, received_at))
    return rows, rejected


def _conflict(row: EventRow) -> dict[str, Any]:
    return {"index": row.index, "event_id": row.key[1], "detail": CONFLICT_DETAIL}


def _store(rows: list[EventRow], result: IngestResult) -> None:
    """Insert new rows; sort the others into duplicates and conflicts. The first attempt assumes
    every row is new (the common case, one COPY); a unique violation means some are not."""
    for _attempt in range(5):
        if not rows:
            return
        try:
            with transaction.atomic():
                rows_copy(rows)
        except IntegrityError:
            stored = stored_fingerprints(row.key for row in rows)
            fresh = []
            for row in rows:
                known = stored.get(row.key)
                if known is None:
                    fresh.append(row)
                elif known == row.fingerprint:
                    result.duplicates += 1
                else:
                    result.conflicts.append(_conflict(row))
            rows = fresh
            continue
        result.accepted += len(rows)
        return
    raise IntegrityError("Events kept colliding with concurrent ingest; retry the batch.")


def _limit_firmware_updates(rows: list[EventRow], result: IngestResult) -> list[EventRow]:
    """Each firmware update spends one token of its campaign's reservation. Under the campaign
    locks: re-sent updates are duplicates (they spend nothing), new ones beyond what the
    campaign may still record are rejected with the campaign's reason."""
    updates = [row for row in rows if row.fields["type"] == EventType.FIRMWARE_UPDATE]
    if not updates or _campaign_allowances is None:
        return rows
    allowances = _campaign_allowances({row.fields["campaign"] for row in updates})
    stored = stored_fingerprints(row.key for row in updates)
    left = {campaign: a.updates_left for campaign, a in allowances.items()}
    kept = []
    for row in rows:
        if row.fields["type"] != EventType.FIRMWARE_UPDATE:
            kept.append(row)
            continue
        known = stored.get(row.key)
        if known == row.fingerprint:
            result.duplicates += 1
        elif known is not None:
            result.conflicts.append(_conflict(row))
        else:
            campaign = row.fields["campaign"]
            errors = _update_errors(row.fields, allowances.get(campaign), left)
            if errors:
                result.rejected.append(
                    {"index": row.index, "event_id": row.key[1], "errors": errors}
                )
            else:
                left[campaign] -= 1
                kept.append(row)
    return kept


def _update_errors(
    fields: Fields, allowance: CampaignAllowance | None, left: dict[UUID, int]
) -> Errors:
    if allowance is None:
        return {"campaign": [ERR_CAMPAIGN]}
    if not allowance.starts_at <= fields["occurred_at"] < allowance.ends_at:
        return {
            "timestamp": [
                ERR_UPDATE_OUTSIDE.format(
                    start=f"{allowance.starts_at:%Y-%m-%d %H:%M:%S}",
                    end=f"{allowance.ends_at:%Y-%m-%d %H:%M:%S}",
                )
            ]
        }
    if left[fields["campaign"]] <= 0:
        return {"campaign": [allowance.refusal]}
    return {}


def _lock_ingest_shared() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [INGEST_LOCK_KEY])


@dataclass
class PreparedBatch:
    """A batch checked and resolved but not stored yet: the rows to store and the outcome of
    the others."""

    rows: list[EventRow]
    result: IngestResult


def events_prepare(
    *, actor: Actor, events: Sequence[Any], now: datetime | None = None
) -> PreparedBatch:
    """The part of ingest that writes nothing: validate a batch of raw events (at most
    MAX_BATCH) for `actor`, resolve their references and settle repeats inside the batch.
    `events_store` finishes it; bulk ingest runs the two apart to overlap batches."""
    now = now or timezone.now()
    result = IngestResult()
    checked: list[tuple[int, Fields]] = []
    bounds = bounds_at(now)
    for index, raw in enumerate(events):
        fields, errors = check_event(raw, bounds)
        if errors:
            # The answer repeats the event id only when it is one: anything else the sender put
            # there (an object nested a thousand deep, a lone surrogate) may not even render.
            valid_id = isinstance(raw, dict) and "event_id" not in errors
            event_id = raw.get("event_id") if valid_id else None
            result.rejected.append({"index": index, "event_id": event_id, "errors": errors})
        else:
            checked.append((index, fields))

    # Within one batch the first occurrence of an event id wins; later ones are compared to it.
    rows, rejected = _resolve(actor, checked, now)
    for index, event_id, errors in rejected:
        result.rejected.append({"index": index, "event_id": event_id, "errors": errors})
    first: dict[tuple[int, str], str] = {}
    unique_rows = []
    for row in rows:
        seen = first.get(row.key)
        if seen is None:
            first[row.key] = row.fingerprint
            unique_rows.append(row)
        elif seen == row.fingerprint:
            result.duplicates += 1
        else:
            result.conflicts.append(_conflict(row))
    return PreparedBatch(unique_rows, result)


def events_store(*, batch: PreparedBatch) -> IngestResult:
    """Store a prepared batch in one transaction, each event exactly once per (account,
    event_id), and return what happened to every event of the batch."""
    result = batch.result
    with transaction.atomic():
        _lock_ingest_shared()
        rows = _limit_firmware_updates(batch.rows, result)
        _store(rows, result)
    result.rejected.sort(key=lambda r: r["index"])
    result.conflicts.sort(key=lambda c: c["index"])
    return result


def events_ingest(
    *, actor: Actor, events: Sequence[Any], now: datetime | None = None
) -> IngestResult:
    """Store a batch of raw events (at most MAX_BATCH) for `actor`, an API key or user that may
    send usage. Rejections carry field messages; nothing is dropped silently."""
    return events_store(batch=events_prepare(actor=actor, events=events, now=now))


def committed_watermark() -> int:
    """The highest event row id below which every row is committed: what a poll may safely
    process up to."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [INGEST_LOCK_KEY])
        last = UsageEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return last or 0
