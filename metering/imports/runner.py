"""Import one platform usage file: read it, turn each record's measures into `usage` events
priced through the platform's meter map, and store them through `events_ingest` in batches.

Event ids are hashes of the platform, the region and the record's identity, so importing a
file again stores nothing new (its events count as duplicates). A record that cannot become
usage (a bad value, no mapped meter, refused by the ingest) is counted and reported with its
reason and never stops the file; a file that cannot be read at all fails as a whole. Each
batch is one ingest transaction, so the import's progress is visible while it runs, and a
file stopped halfway is completed by importing it again."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import Account, AccountKind
from accounts.scoping import SYSTEM, ancestor_ids

from ..models import (
    ERRORS_KEPT,
    AccountBilling,
    Aggregation,
    ImportStatus,
    Platform,
    PlatformMeterMap,
    Subscription,
    UsageImport,
)
from ..services.ingest import MAX_BATCH, events_ingest
from . import READERS
from .base import Context, FileUnreadable, Measure, RecordError

ERR_PLATFORM = "Unknown platform {platform!r}; choose one of: {choices}."
ERR_NO_ROOT = (
    "There is no platform account (an account of kind platform with no parent): imported "
    "usage is sent in its name. Create it first."
)
ERR_UNMAPPED = "No meter is mapped for {platform} {keys} (add it to the platform meter map)."
ERR_STOPPED = "The import stopped: {error}. Importing the file again completes it."

LEVEL_AGGREGATIONS = frozenset({Aggregation.AVERAGE, Aggregation.MAX, Aggregation.LATEST})
_QUANTUM = Decimal("0.000001")

Progress = Callable[[int, int | None], None]


class ImportFailed(Exception):
    """Nothing can be imported: an unknown platform or no platform account."""


@dataclass(frozen=True, slots=True)
class _Mapped:
    meter: str
    factor: Decimal
    level: bool


def platform_root() -> Account:
    """The platform account: imported usage is sent in its name."""
    root = Account.objects.filter(kind=AccountKind.PLATFORM, parent=None).order_by("id").first()
    if root is None:
        raise ImportFailed(ERR_NO_ROOT)
    return root


def _meter_map(platform: str) -> dict[str, _Mapped]:
    return {
        row.external_id.strip().lower(): _Mapped(
            row.meter.code, row.factor, row.meter.aggregation in LEVEL_AGGREGATIONS
        )
        for row in PlatformMeterMap.objects.filter(platform=platform).select_related("meter")
    }


def _plan_currencies(subscriptions: list[Subscription]) -> dict[str, str]:
    """Each subscription's plan currency: its account's plan, else the nearest ancestor's."""
    plans = {
        billing.account_id: billing.price_plan.currency
        for billing in AccountBilling.objects.filter(price_plan__isnull=False).select_related(
            "price_plan"
        )
    }
    currencies = {}
    for subscription in subscriptions:
        for account_id in ancestor_ids(subscription.account):
            if account_id in plans:
                currencies[subscription.external_id] = plans[account_id]
                break
    return currencies


def _context(platform: str, region: str) -> Context:
    if platform != Platform.PUBLIC_AZURE:
        return Context(region=region)
    subscriptions = list(
        Subscription.objects.filter(platform=Platform.PUBLIC_AZURE).select_related("account")
    )
    return Context(
        region=region,
        subscription_tag=settings.PUBLIC_AZURE_SUBSCRIPTION_TAG,
        subscriptions=frozenset(s.external_id for s in subscriptions),
        currencies=_plan_currencies(subscriptions),
    )


def _reason(errors: dict[str, list[str]]) -> str:
    return " ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())


class _Run:
    """One file's import in progress: the batch being filled and the counts so far."""

    def __init__(self, record: UsageImport, account: Account, progress: Progress | None) -> None:
        self.record = record
        self.account = str(account.uuid)
        self.progress = progress
        self.label = Platform(record.platform).label
        self.meters = _meter_map(record.platform)
        self.prefix = f"{record.platform}\x1f{record.region}\x1f"
        self.batch: list[dict[str, Any]] = []
        self.owners: list[int] = []

    def add(self, number: int, measures: list[Measure]) -> None:
        events = [self._event(measure) for measure in measures]
        if len(self.batch) + len(events) > MAX_BATCH:
            self.flush()
        self.batch += events
        self.owners += [number] * len(events)

    def reject(self, number: int, reason: str) -> None:
        self.record.rejected += 1
        if len(self.record.errors) < ERRORS_KEPT:
            self.record.errors.append({"record": number, "reason": reason})

    def _event(self, measure: Measure) -> dict[str, Any]:
        mapped = next(
            (self.meters[k.lower()] for k in measure.keys if k.lower() in self.meters), None
        )
        if mapped is None:
            raise RecordError(
                ERR_UNMAPPED.format(platform=self.label, keys=" or ".join(measure.keys))
            )
        quantity = measure.amount * mapped.factor
        if mapped.level and measure.hours:
            quantity /= measure.hours
        digest = hashlib.sha256((self.prefix + measure.identity).encode()).hexdigest()
        event = {
            "type": "usage",
            "event_id": f"{self.record.platform}-{digest[:48]}",
            "account": self.account,
            "meter": mapped.meter,
            "quantity": str(quantity.quantize(_QUANTUM, ROUND_HALF_UP)),
            "start": measure.start.isoformat(),
            "end": measure.end.isoformat(),
            "asset": measure.asset,
            "subscription": measure.subscription,
            "region": measure.region,
            "service": measure.service,
            "source": measure.source,
            "description": measure.description,
        }
        if measure.cost is not None:
            event["cost"] = str(measure.cost.quantize(_QUANTUM, ROUND_HALF_UP))
        return event

    def flush(self, now: datetime | None = None) -> None:
        record = self.record
        if self.batch:
            result = events_ingest(actor=SYSTEM, events=self.batch, now=now)
            record.events += len(self.batch)
            record.accepted += result.accepted
            record.duplicates += result.duplicates
            refused: dict[int, str] = {}
            for problem in result.rejected:
                refused.setdefault(self.owners[problem["index"]], _reason(problem["errors"]))
            for problem in result.conflicts:
                refused.setdefault(self.owners[problem["index"]], problem["detail"])
            for number in sorted(refused):
                self.reject(number, refused[number])
            self.batch, self.owners = [], []
        record.save(
            update_fields=["records", "events", "accepted", "duplicates", "rejected", "errors"]
        )
        if self.progress:
            self.progress(record.records, record.records_total)


def _finish(record: UsageImport, status: str, failure: str = "") -> UsageImport:
    # The ingest reports its refusals a batch after the reader's: list them in file order.
    record.errors.sort(key=lambda error: error["record"])
    record.status = status
    record.failure = failure
    record.finished_at = timezone.now()
    record.save()
    return record


def usage_import(
    *,
    platform: str,
    path: Path,
    region: str = "",
    progress: Progress | None = None,
    now: datetime | None = None,
) -> UsageImport:
    """Import one file of `platform`'s usage format and return its import record (status ok,
    or failed with the reason when the file could not be read). Raises ImportFailed when
    nothing can be imported at all."""
    reader = READERS.get(platform)
    if reader is None:
        raise ImportFailed(ERR_PLATFORM.format(platform=platform, choices=", ".join(READERS)))
    account = platform_root()
    record = UsageImport.objects.create(
        platform=platform, region=region, file_name=path.name, started_at=now or timezone.now()
    )
    run = _Run(record, account, progress)
    context = _context(platform, region)
    try:
        records = reader.read(path)
        record.records_total = records.total
        record.save(update_fields=["records_total"])
        for number, raw in enumerate(records.items, start=1):
            record.records = number
            try:
                run.add(number, reader.measures(raw, context))
            except RecordError as exc:
                run.reject(number, str(exc))
            if len(run.batch) >= MAX_BATCH:
                run.flush(now)
        run.flush(now)
    except FileUnreadable as exc:
        run.flush(now)
        return _finish(record, ImportStatus.FAILED, str(exc))
    except Exception as exc:
        _finish(record, ImportStatus.FAILED, ERR_STOPPED.format(error=exc))
        raise
    return _finish(record, ImportStatus.OK)
