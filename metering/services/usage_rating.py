"""Usage rating: turn `usage` events into daily billing rows (issue 10, seed 003).

A (sending account, UTC day) is always recomputed whole from its stored events, with the same
SQL whether the two-minute poll touched it (`usage_rate`: the days of the events that arrived
since the last poll, and of waiting usage once a meter, price, plan, subscription or assignment
changed) or generation asked for it (`billing_generate`: every day of a range). So generation
gives exactly the poll's rows, and running either again changes nothing (rows are written only
when they differ, and keep their ids).

Rows of an invoiced (account, day) never change; what that day's usage now comes to beyond what
was invoiced goes into one open adjustment row per key (`adjustment_for` the day), dated the
day it was priced, for the next document. Usage that cannot be billed yet waits in
WaitingUsage with its reason, and is never dropped.

Both take the usage cursor's row lock for their whole transaction, so they never interleave.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Account, BillingSettings
from accounts.money import minor_unit

from ..models import (
    Asset,
    BillingDayTotal,
    BillingRow,
    InvoicedDay,
    PricePlan,
    UsageCursor,
    UsageEvent,
    WaitingUsage,
)
from ..plans import effective_plan_ids
from . import usage_sql as sql
from .ingest import committed_watermark

CURSOR = "usage"
_TRUNCATE = "TRUNCATE usage_scope, usage_calc, usage_subs, usage_plans, usage_wait"
_SCOPE_JOIN = "JOIN usage_scope sc ON sc.account_id = e.account_id AND sc.day = d.day"
ONE_DAY = timedelta(days=1)
# How far before the last run a reference change is looked for: a change committed while the
# last run worked may carry a timestamp from before it started.
_MARGIN = timedelta(minutes=10)


@dataclass
class UsageRatingResult:
    upto: int = 0
    events: int = 0  # new usage events read
    days: int = 0  # (sending account, day) pairs recomputed
    rows_written: int = 0
    rows_deleted: int = 0
    adjustments: int = 0
    waiting: int = 0  # usage events still waiting after this run

    def counts(self) -> dict[str, int]:
        return {
            "usage_events": self.events,
            "usage_days": self.days,
            "billing_rows_written": self.rows_written,
            "billing_rows_deleted": self.rows_deleted,
            "billing_adjustments": self.adjustments,
            "usage_waiting": self.waiting,
        }


@dataclass
class GenerationResult:
    start: date
    end: date
    rows: int  # billing rows of the range after generation
    accounts: int  # accounts with rows in the range
    rating: UsageRatingResult


def usage_lock() -> UsageCursor:
    if not connection.in_atomic_block:
        raise RuntimeError("usage_lock() must run inside a transaction.")
    UsageCursor.objects.get_or_create(name=CURSOR)
    return UsageCursor.objects.select_for_update().get(name=CURSOR)


def usage_rate(*, now: datetime | None = None) -> UsageRatingResult:
    """The poll's step: rate the usage stored since the last run (and waiting usage whose
    missing piece has appeared) into billing rows."""
    upto = committed_watermark()  # before the transaction: it briefly waits for ingest commits
    now = now or timezone.now()
    with transaction.atomic():
        cursor = usage_lock()
        return _catch_up(cursor, upto, now)


def billing_generate(*, start: date, end: date, now: datetime | None = None) -> GenerationResult:
    """Recompute the billing rows of every day from `start` to `end` inclusive (seed 003's
    GenerateMonthlyBillingRecords): new usage is rated first, then each day is rebuilt from the
    stored events. Invoiced days keep their rows; any difference becomes an adjustment."""
    if end < start:
        raise ValueError("end must not be before start")
    upto = committed_watermark()
    now = now or timezone.now()
    with transaction.atomic():
        cursor = usage_lock()
        result = _catch_up(cursor, upto, now)
        senders = list(Asset.objects.order_by().values_list("account_id", flat=True).distinct())
        with connection.cursor() as db:
            db.execute(sql.CREATE_TEMP_TABLES)
            db.execute(_TRUNCATE)
            db.execute(
                "INSERT INTO usage_scope (account_id, day) SELECT s, d::date "
                "FROM unnest(%s::bigint[]) s, generate_series(%s::date, %s::date, "
                "interval '1 day') d",
                [senders, start, end],
            )
        _recompute(result, cursor, upto, now, ranges=[(start, end)], whole_days=True)
        # The day totals count the rows (kept in step by triggers): no pass over the rows.
        days = BillingDayTotal.objects.filter(day__range=(start, end))
        totals = {
            "rows": days.aggregate(rows=Sum("rows"))["rows"] or 0,
            "accounts": days.values("account").distinct().count(),
        }
    return GenerationResult(start=start, end=end, rating=result, **totals)


def _catch_up(cursor: UsageCursor, upto: int, now: datetime) -> UsageRatingResult:
    with connection.cursor() as db:
        # Big sorts and hash joins in memory; JIT compilation costs more than it saves here.
        db.execute("SET LOCAL work_mem = '256MB'")
        db.execute("SET LOCAL jit = off")
    result = UsageRatingResult(upto=max(upto, cursor.last_event_id))
    after = cursor.last_event_id
    changed = _references_signature() != cursor.references
    if upto <= after and not changed:
        result.waiting = WaitingUsage.objects.count()
        return result
    overlap = BillingSettings.load().use_overlap_usage_selection
    days = sql.DAYS_BY_OVERLAP if overlap else sql.DAYS_BY_START
    params = {"after": after, "upto": upto, "now": now}
    with connection.cursor() as db:
        db.execute(sql.CREATE_TEMP_TABLES)
        db.execute(_TRUNCATE)
        if upto > after:
            db.execute(sql.NEW_EVENTS, params)
            result.events, longest = db.fetchone()
            cursor.max_window_seconds = max(cursor.max_window_seconds, longest)
            db.execute(sql.REGISTER_ASSETS, params)
            where = "e.id > %(after)s AND e.id <= %(upto)s"
            db.execute(sql.SCOPE_FROM_EVENTS.format(days=days, where=where), params)
        if changed:
            # Waiting usage may have become billable, and rows not invoiced may now be priced
            # or attributed otherwise: both are recomputed.
            where = "e.id IN (SELECT usage_event_id FROM metering_waitingusage)"
            db.execute(sql.SCOPE_FROM_EVENTS.format(days=days, where=where), params)
            db.execute(sql.SCOPE_FROM_CHANGED_REFERENCES, {"since": cursor.updated_at - _MARGIN})
        db.execute("SELECT day FROM usage_scope")
        scope_days = sorted({day for (day,) in db.fetchall()})
    _recompute(result, cursor, upto, now, ranges=_runs(scope_days), whole_days=False)
    cursor.last_event_id = max(upto, after)
    # Taken after registering assets, so the poll's own new assets do not count as a change.
    # (A change committed meanwhile by another transaction is seen by the next run: the
    # sequence moved before our read, and its retry costs one recomputation at most.)
    cursor.references = _references_signature()
    cursor.updated_at = now
    cursor.save()
    return result


def _recompute(
    result: UsageRatingResult,
    cursor: UsageCursor,
    upto: int,
    now: datetime,
    *,
    ranges: list[tuple[date, date]],
    whole_days: bool,
) -> None:
    """Rebuild the rows of usage_scope from the events. `ranges` are the runs of days the scope
    covers; `whole_days` says the scope holds every sending account on those days (generation),
    so the events need no per-account check."""
    overlap = BillingSettings.load().use_overlap_usage_selection
    days = sql.DAYS_BY_OVERLAP if overlap else sql.DAYS_BY_START
    lookback = timedelta(seconds=cursor.max_window_seconds) if overlap else timedelta(0)
    _fill_plans()
    with connection.cursor() as db:
        db.execute("SELECT count(*) FROM usage_scope")
        result.days += db.fetchone()[0]
        db.execute(sql.FILL_SUBSCRIPTIONS)
        # Temporary tables get no statistics by themselves: without them the planner takes
        # them for a few rows and picks nested loops that are quadratic at scale.
        db.execute(sql.ANALYZE_LOOKUPS)
        for first, last in ranges:
            params = {
                "upto": upto,
                "now": now,
                "lo": _midnight(first) - lookback,
                "hi": _midnight(last + ONE_DAY),
                "first": first,
                "last": last,
            }
            if whole_days:
                scope_join, day_filter = "", "AND d.day BETWEEN %(first)s AND %(last)s"
            else:
                scope_join = (
                    "JOIN usage_scope sc ON sc.account_id = e.account_id AND sc.day = d.day"
                )
                day_filter = ""
            db.execute(
                sql.CALCULATE.format(days=days, scope_join=scope_join, day_filter=day_filter),
                params,
            )
            db.execute(sql.ANY_WAITING, params)
            if db.fetchone()[0]:
                db.execute(
                    sql.WAITING_FIND.format(days=days, start_day=sql.WAITING_START_DAY), params
                )
        db.execute(sql.INDEX_CALC)
        db.execute(sql.ANALYZE_CALC)
        db.execute(sql.UPSERT_ROWS, {"now": now})
        result.rows_written += db.rowcount
        db.execute(sql.DELETE_STALE_ROWS)
        result.rows_deleted += db.rowcount
        db.execute(sql.ANY_INVOICED)
        adjustments = []
        if db.fetchone()[0]:
            db.execute(sql.ADJUSTMENTS)
            adjustments = db.fetchall()
        db.execute(sql.WAITING_CLEAR)
        db.execute(sql.WAITING_KEEP, {"now": now})
    result.adjustments += _write_adjustments(adjustments, now)
    result.waiting = WaitingUsage.objects.count()


def _write_adjustments(records: list[tuple], now: datetime) -> int:
    """Bring each key's open adjustment row to what its invoiced day's usage now comes to
    beyond what was invoiced: create, update or remove it. Returns the rows changed."""
    changed = 0
    today = now.date()
    for record in records:
        (account_id, sender_id, subscription_id, asset_id, meter_id, region, for_day) = record[:7]
        quantity, imported_cost, cost = record[7:10]
        plan_id, price_id, unit_price, currency, service, source, events, open_id = record[10:]
        open_row = BillingRow.objects.filter(id=open_id).first() if open_id else None
        if sender_id is None or (quantity == 0 and cost == 0):
            if open_row is not None:
                open_row.delete()
                changed += 1
            continue
        values = {
            "sender_id": sender_id,
            "service": service,
            "source": source,
            "quantity": quantity,
            "plan_id": plan_id,
            "price_id": price_id,
            "unit_price": unit_price,
            "imported_cost": imported_cost if unit_price is None else None,
            "currency": currency,
            "cost": cost,
            "events": events,
        }
        if open_row is None:
            BillingRow.objects.create(
                account_id=account_id,
                subscription_id=subscription_id,
                asset_id=asset_id,
                meter_id=meter_id,
                region=region,
                day=today,
                adjustment_for=for_day,
                updated_at=now,
                **values,
            )
            changed += 1
        elif any(getattr(open_row, name) != value for name, value in values.items()):
            BillingRow.objects.filter(id=open_row.id).update(updated_at=now, **values)
            changed += 1
    return changed


def _fill_plans() -> None:
    """Each account's effective price plan (metering.plans, the one place of that rule) into
    usage_plans, with its currency's minor unit for rounding."""
    plan_ids = effective_plan_ids(Account.objects.values_list("id", flat=True))
    currencies = dict(PricePlan.objects.values_list("id", "currency"))
    billed = [(account, plan) for account, plan in plan_ids.items() if plan is not None]
    with connection.cursor() as db:
        db.execute(
            sql.FILL_PLANS,
            {
                "accounts": [account for account, _ in billed],
                "plans": [plan for _, plan in billed],
                "places": [minor_unit(currencies[plan]) for _, plan in billed],
            },
        )


def _references_signature() -> str:
    """Moves whenever something that can make waiting usage billable changes (a sequence that
    database triggers advance, see migration 0009)."""
    with connection.cursor() as db:
        db.execute("SELECT last_value, is_called FROM metering_references_version")
        value, called = db.fetchone()
    return str(value if called else 0)


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days, so each run's events are read in one pass."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and day - runs[-1][1] <= ONE_DAY:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def invoiced_days_mark(*, account_ids: list[int], start: date, end: date) -> int:
    """Mark the days from `start` to `end` of the accounts as invoiced: their billing rows never
    change again. Called by invoicing when a document that bills them is issued; it waits for a
    running poll or generation, so the rows it invoices are the ones they left."""
    if not connection.in_atomic_block:
        raise RuntimeError("invoiced_days_mark() must run inside the issuing transaction.")
    usage_lock()
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    marked = InvoicedDay.objects.bulk_create(
        [InvoicedDay(account_id=a, day=d) for a in account_ids for d in days],
        ignore_conflicts=True,
    )
    return len(marked)


def billing_row_events(row: BillingRow, *, limit: int = 100) -> QuerySet[UsageEvent]:
    """The usage events a billing row aggregates (for an adjustment row: those of the day it
    adjusts), by the selection mode in force now: what explains the row's quantity."""
    day = row.adjustment_for or row.day
    start, end = _midnight(day), _midnight(day + ONE_DAY)
    in_day = Q(occurred_at__gte=start, occurred_at__lt=end)
    if BillingSettings.load().use_overlap_usage_selection:
        longest = (
            UsageCursor.objects.filter(name=CURSOR)
            .values_list("max_window_seconds", flat=True)
            .first()
        )
        in_day = in_day | Q(
            occurred_at__gte=start - timedelta(seconds=longest or 0),
            occurred_at__lt=start,
            ends_at__gt=start,
        )
    subscription = row.subscription.external_id if row.subscription_id else None
    events = UsageEvent.objects.filter(
        in_day,
        type="usage",
        account_id=row.sender_id,
        asset=row.asset.asset_id,
        meter=row.meter.code,
        region=row.region,
    )
    if subscription is not None:
        events = events.filter(subscription=subscription)
    else:
        events = events.filter(subscription="")
    return events.order_by("occurred_at", "id")[:limit]
