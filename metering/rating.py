"""Rating: turn machine sessions into priced charge lines.

Rules (issue 3): a session is split at month boundaries; each part is priced with the rates in
force at the part's start (the machine type's rate for the part's region if one exists, else its
default rate; the license type's rate); hours are seconds / 3600 as exact decimals; each amount
is rounded half up to the currency's minor unit, one line at a time.

Each call prices every session stored since the last call (up to a committed watermark) plus
those still waiting for a price, in one transaction under the rating cursor's row lock. On
PostgreSQL this is set-based SQL (a handful of statements whatever the number of sessions);
elsewhere the same rules run in Python. Both give identical lines, which the tests check.
A session that cannot be priced is never dropped: it waits in UnratedEvent with the reason.
"""

import bisect
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, localcontext
from itertools import islice

from django.db import connection
from django.db.models import Max
from django.utils import timezone

from accounts.models import Account
from accounts.money import minor_unit, round_money
from licenses.models import License, LicenseRate, MachineRate
from licenses.services import pools_ensure, regions_ensure

from .models import Charge, ChargeRollup, EventType, RatingCursor, UnratedEvent, UsageEvent
from .periods import month_of, next_month

CURSOR = "machine_sessions"
CHUNK = 5000
SECONDS_PER_HOUR = Decimal(3600)
ONE_MICROSECOND = timedelta(microseconds=1)

REASON_UNKNOWN_LICENSE = "Unknown license"
REASON_UNKNOWN_MACHINE_TYPE = "Unknown machine type '{name}'"
REASON_NO_MACHINE_RATE = "No machine rate for '{name}' in force at {at}"
REASON_UNKNOWN_LICENSE_TYPE = "Unknown license type '{name}'"
REASON_NO_LICENSE_RATE = "No license rate for '{name}' in force at {at}"


@dataclass
class RatingResult:
    upto: int = 0
    rated_events: int = 0
    lines: int = 0
    unrated_events: int = 0  # sessions that still wait for a price after this call
    touched: set[tuple[int, date]] = field(default_factory=set)  # (license id, billed period)

    def counts(self) -> dict[str, int]:
        return {
            "rated_events": self.rated_events,
            "lines": self.lines,
            "unrated_events": self.unrated_events,
            "statements_touched": len(self.touched),
        }


def rating_lock() -> RatingCursor:
    """Lock the rating cursor for the rest of the transaction: polls, closes and rate changes
    take it, so they run one after another."""
    if not connection.in_atomic_block:
        raise RuntimeError("rating_lock() must run inside a transaction.")
    RatingCursor.objects.get_or_create(name=CURSOR)
    return RatingCursor.objects.select_for_update().get(name=CURSOR)


def charges_rate(
    *,
    upto: int,
    cutoffs: Mapping[int, date],
    current_period: date,
    now: datetime | None = None,
    engine: str | None = None,
) -> RatingResult:
    """Price every machine session with a row id in (cursor, upto] and every session still
    waiting for a price. Call inside the transaction that holds `rating_lock()`.

    `cutoffs` maps a license id to its first month still open for billing: a part in an earlier
    month is billed in `current_period` as an adjustment. `upto` must be a committed watermark
    (metering.services.committed_watermark(), taken before the transaction began).
    `engine` ("sql" or "python") is for tests; by default PostgreSQL uses SQL.
    """
    cursor = rating_lock()
    now = now or timezone.now()
    upto = max(upto, cursor.last_event_id)
    if not rating_pending(cursor, upto):
        return RatingResult(upto=upto)
    engine = engine or ("sql" if connection.vendor == "postgresql" else "python")
    rate = _rate_sql if engine == "sql" else _rate_python
    result = rate(
        after=cursor.last_event_id,
        upto=upto,
        cutoffs=cutoffs,
        current_period=current_period,
        now=now,
    )
    result.upto = upto
    result.unrated_events = UnratedEvent.objects.count()
    RatingCursor.objects.filter(name=CURSOR).update(last_event_id=upto, updated_at=now)
    return result


def rating_pending(cursor: RatingCursor, upto: int) -> bool:
    """Whether there is anything to price: sessions past the cursor, or sessions waiting."""
    return upto > cursor.last_event_id or UnratedEvent.objects.exists()


def priced_usage_since(
    *,
    since: datetime,
    machine_type: str | None = None,
    region: str | None = None,
    license_type: str | None = None,
) -> datetime | None:
    """The latest start of a priced line at or after `since` for the machine type (and region)
    or license type, or None. Waits for a running poll first, so the answer stays true until the
    caller's transaction ends."""
    rating_lock()
    lines = Charge.objects.filter(start__gte=since)
    if machine_type is not None:
        lines = lines.filter(machine_type=machine_type)
        if region is not None:
            lines = lines.filter(region=region)
    if license_type is not None:
        lines = lines.filter(license_type=license_type)
    return lines.aggregate(latest=Max("start"))["latest"]


def _currency_places() -> dict[str, int]:
    codes = Account.objects.values_list("currency", flat=True).distinct()
    return {code: minor_unit(code) for code in codes}


# -- PostgreSQL: set-based ---------------------------------------------------------------------

# Every session to price, split at month boundaries, with the rates in force at each part's
# start and the rounded amounts, in one pass. Rate validity is [effective_from, next
# effective_from) per machine type and region (or default), so each lookup is an equality hash
# join plus a range check on a handful of rows. Amounts: seconds x rate / 3600 computed exactly
# (numeric with 20 decimals) then rounded half up (PostgreSQL's round() on numeric rounds halves
# away from zero; amounts are never negative). A part without a rate gets no amount.
_LINES_SQL = """
CREATE TEMPORARY TABLE rating_lines ON COMMIT DROP AS
WITH machine_rates AS (
    SELECT r.machine_type_id, r.region_id, r.hourly_rate, r.effective_from AS valid_from,
           coalesce(lead(r.effective_from) OVER (
               PARTITION BY r.machine_type_id, r.region_id ORDER BY r.effective_from
           ), 'infinity') AS valid_to
    FROM licenses_machinerate r
), license_rates AS (
    SELECT r.license_type_id, r.hourly_rate, r.effective_from AS valid_from,
           coalesce(lead(r.effective_from) OVER (
               PARTITION BY r.license_type_id ORDER BY r.effective_from
           ), 'infinity') AS valid_to
    FROM licenses_licenserate r
), sessions AS (
    SELECT e.id, e.account_id, e.license_id, e.occurred_at AS starts_at,
           e.occurred_at + e.duration_seconds * interval '1 second' AS ends_at,
           e.machine_id, e.machine_type, e.region, e.pool, e.license_type
    FROM metering_usageevent e
    WHERE e.id > %(after)s AND e.id <= %(upto)s AND e.type = 'machine_session'
    UNION ALL
    SELECT e.id, e.account_id, e.license_id, e.occurred_at,
           e.occurred_at + e.duration_seconds * interval '1 second',
           e.machine_id, e.machine_type, e.region, e.pool, e.license_type
    FROM metering_unratedevent u JOIN metering_usageevent e ON e.id = u.usage_event_id
), bounded AS (
    SELECT s.*, date_trunc('month', s.starts_at, 'UTC') AS first_month,
           date_trunc('month', greatest(s.starts_at, s.ends_at - interval '1 microsecond'), 'UTC')
               AS last_month
    FROM sessions s
), parts AS (
    SELECT b.*, b.first_month AS month, b.starts_at AS part_start, b.ends_at AS part_end
    FROM bounded b WHERE b.first_month = b.last_month
    UNION ALL
    SELECT b.*, m, greatest(b.starts_at, m), least(b.ends_at, m + interval '1 month')
    FROM bounded b, generate_series(b.first_month, b.last_month, interval '1 month') m
    WHERE b.first_month <> b.last_month
), priced AS (
    SELECT p.*, (p.month AT TIME ZONE 'UTC')::date AS period,
           extract(epoch FROM p.part_end - p.part_start) AS seconds,
           mt.id IS NOT NULL AS machine_type_known, lt.id IS NOT NULL AS license_type_known,
           coalesce(rr.hourly_rate, dr.hourly_rate) AS machine_rate,
           lr.hourly_rate AS license_rate, cur.places, c.first_open
    FROM parts p
    LEFT JOIN licenses_license li ON li.id = p.license_id
    LEFT JOIN accounts_account a ON a.id = li.account_id
    LEFT JOIN unnest(%(currencies)s::text[], %(places)s::int[]) AS cur(currency, places)
         ON cur.currency = a.currency
    LEFT JOIN unnest(%(cut_licenses)s::bigint[], %(cut_periods)s::date[])
         AS c(license_id, first_open) ON c.license_id = p.license_id
    LEFT JOIN licenses_machinetype mt ON mt.name = p.machine_type
    LEFT JOIN licenses_region rg ON rg.name = p.region
    LEFT JOIN licenses_licensetype lt ON lt.name = p.license_type
    LEFT JOIN machine_rates rr ON rr.machine_type_id = mt.id AND rr.region_id = rg.id
         AND p.part_start >= rr.valid_from AND p.part_start < rr.valid_to
    LEFT JOIN machine_rates dr ON dr.machine_type_id = mt.id AND dr.region_id IS NULL
         AND p.part_start >= dr.valid_from AND p.part_start < dr.valid_to
    LEFT JOIN license_rates lr ON lr.license_type_id = lt.id
         AND p.part_start >= lr.valid_from AND p.part_start < lr.valid_to
)
SELECT id AS usage_event_id, account_id, license_id, part_start = starts_at AS first_part,
       CASE WHEN first_open IS NOT NULL AND period < first_open
            THEN %(current_period)s::date ELSE period END AS billed_period,
       period, part_start AS start, part_end - part_start AS duration,
       machine_id, machine_type, region, pool, license_type,
       machine_type_known, license_type_known, places, machine_rate, license_rate,
       round((seconds * machine_rate)::numeric(38, 20) / 3600, places) AS cost,
       round((seconds * license_rate)::numeric(38, 20) / 3600, places) AS license_cost
FROM priced
ORDER BY license_id, billed_period, start
"""

# Sessions with a part that cannot be priced (none of their parts is billed yet), with the
# reason the earliest such part gives.
_UNPRICED_SQL = """
CREATE TEMPORARY TABLE rating_unpriced ON COMMIT DROP AS
SELECT DISTINCT ON (usage_event_id) usage_event_id, account_id, license_id, region, pool,
    concat_ws('; ',
    CASE WHEN places IS NULL THEN %(unknown_license)s END,
    CASE WHEN NOT machine_type_known
             THEN replace(%(unknown_machine_type)s, '{name}', machine_type)
         WHEN machine_rate IS NULL
             THEN replace(replace(%(no_machine_rate)s, '{at}', at), '{name}', machine_type) END,
    CASE WHEN NOT license_type_known
             THEN replace(%(unknown_license_type)s, '{name}', license_type)
         WHEN license_rate IS NULL
             THEN replace(replace(%(no_license_rate)s, '{at}', at), '{name}', license_type) END
) AS reason
FROM rating_lines,
     LATERAL (SELECT to_char(start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"') AS at) t
WHERE places IS NULL OR machine_rate IS NULL OR license_rate IS NULL
ORDER BY usage_event_id, start
"""

# The priced lines go in in the order rating_lines was written, which is index order, so B-tree
# maintenance stays sequential; the rollups take what the insert returns, so the lines are read
# once.
_INSERT_SQL = """
WITH inserted AS (
    INSERT INTO metering_charge (usage_event_id, license_id, billed_period, period, start,
        duration, machine_id, machine_type, region, pool, license_type, machine_rate,
        license_rate, cost, license_cost)
    SELECT usage_event_id, license_id, billed_period, period, start, duration, machine_id,
           machine_type, region, pool, license_type, machine_rate, license_rate, cost,
           license_cost
    FROM rating_lines l
    WHERE NOT EXISTS (SELECT 1 FROM rating_unpriced u WHERE u.usage_event_id = l.usage_event_id)
    RETURNING license_id, billed_period, period, pool, machine_type, region, license_type,
              duration, cost, license_cost
)
INSERT INTO metering_chargerollup AS r (license_id, billed_period, period, pool, machine_type,
    region, license_type, duration, cost, license_cost, lines)
SELECT license_id, billed_period, period, pool, machine_type, region, license_type,
       sum(duration), sum(cost), sum(license_cost), count(*)
FROM inserted
GROUP BY license_id, billed_period, period, pool, machine_type, region, license_type
ON CONFLICT (license_id, billed_period, period, pool, machine_type, region, license_type)
DO UPDATE SET duration = r.duration + excluded.duration, cost = r.cost + excluded.cost,
    license_cost = r.license_cost + excluded.license_cost, lines = r.lines + excluded.lines
RETURNING license_id, billed_period, region, pool
"""

_COUNT_SQL = """
SELECT count(*) FILTER (WHERE first_part), count(*) FROM rating_lines l
WHERE NOT EXISTS (SELECT 1 FROM rating_unpriced u WHERE u.usage_event_id = l.usage_event_id)
"""

_QUEUE_SQL = """
INSERT INTO metering_unratedevent AS q (usage_event_id, account_id, license_id, reason,
    first_seen_at, last_tried_at)
SELECT usage_event_id, account_id, license_id, reason, %(now)s, %(now)s FROM rating_unpriced
ON CONFLICT (usage_event_id) DO UPDATE SET reason = excluded.reason,
    last_tried_at = excluded.last_tried_at
"""

# Every waiting session was tried again above: those not unpriced now have been priced.
_DEQUEUE_SQL = """
DELETE FROM metering_unratedevent q
WHERE NOT EXISTS (SELECT 1 FROM rating_unpriced u WHERE u.usage_event_id = q.usage_event_id)
"""


def _rate_sql(
    *, after: int, upto: int, cutoffs: Mapping[int, date], current_period: date, now: datetime
) -> RatingResult:
    places = _currency_places()
    params = {
        "after": after,
        "upto": upto,
        "now": now,
        "current_period": current_period,
        "currencies": list(places),
        "places": list(places.values()),
        "cut_licenses": list(cutoffs),
        "cut_periods": list(cutoffs.values()),
        "unknown_license": REASON_UNKNOWN_LICENSE,
        "unknown_machine_type": REASON_UNKNOWN_MACHINE_TYPE,
        "no_machine_rate": REASON_NO_MACHINE_RATE,
        "unknown_license_type": REASON_UNKNOWN_LICENSE_TYPE,
        "no_license_rate": REASON_NO_LICENSE_RATE,
    }
    result = RatingResult()
    regions: set[str] = set()
    pools: set[str] = set()
    with connection.cursor() as cursor:
        # Big sorts and hash joins in memory; JIT compilation costs more than it saves here.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_LINES_SQL, params)
        cursor.execute(_UNPRICED_SQL, params)
        cursor.execute(_INSERT_SQL)
        for license_id, billed_period, region, pool in cursor.fetchall():
            result.touched.add((license_id, billed_period))
            regions.add(region)
            pools.add(pool)
        cursor.execute(_COUNT_SQL)
        result.rated_events, result.lines = cursor.fetchone()
        cursor.execute(_QUEUE_SQL, params)
        cursor.execute(_DEQUEUE_SQL)
        cursor.execute("SELECT DISTINCT region, pool FROM rating_unpriced")
        for region, pool in cursor.fetchall():
            regions.add(region)
            pools.add(pool)
        cursor.execute("DROP TABLE rating_unpriced, rating_lines")
    # Regions and pools are created the first time usage names them.
    regions_ensure(regions)
    pools_ensure(pools)
    return result


# -- Everywhere else: the same rules in Python -------------------------------------------------


def split_by_month(start: datetime, seconds: int) -> list[tuple[date, datetime, datetime]]:
    """(period, part start, part end) for each calendar month the session touches. A session of
    zero seconds is one empty part in its start month."""
    end = start + timedelta(seconds=seconds)
    period, last = month_of(start), month_of(max(start, end - ONE_MICROSECOND))
    parts = []
    while period <= last:
        boundary = datetime(period.year, period.month, 1, tzinfo=start.tzinfo)
        following = next_month(period)
        following_at = datetime(following.year, following.month, 1, tzinfo=start.tzinfo)
        parts.append((period, max(start, boundary), min(end, following_at)))
        period = following
    return parts


def exact_seconds(duration: timedelta) -> Decimal:
    return Decimal(duration.days * 86400 + duration.seconds) + Decimal(
        duration.microseconds
    ).scaleb(-6)


def line_amount(duration: timedelta, hourly_rate: Decimal, currency: str) -> Decimal:
    """Hours x rate for one line, rounded half up to the currency's minor unit."""
    with localcontext() as context:
        context.prec = 50
        return round_money(exact_seconds(duration) * hourly_rate / SECONDS_PER_HOUR, currency)


class _Rates:
    """Effective-dated rates in memory: the latest rate starting at or before a moment."""

    def __init__(self, rows: Iterable[tuple[object, datetime, Decimal]]) -> None:
        by_key: dict[object, list[tuple[datetime, Decimal]]] = defaultdict(list)
        for key, effective_from, rate in rows:
            by_key[key].append((effective_from, rate))
        self._starts = {k: [s for s, _ in sorted(v)] for k, v in by_key.items()}
        self._rates = {k: [r for _, r in sorted(v)] for k, v in by_key.items()}

    def known(self, key: object) -> bool:
        return key in self._starts

    def at(self, key: object, moment: datetime) -> Decimal | None:
        starts = self._starts.get(key)
        if not starts:
            return None
        index = bisect.bisect_right(starts, moment) - 1
        return self._rates[key][index] if index >= 0 else None


class _Catalog:
    def __init__(self) -> None:
        from licenses.models import LicenseType, MachineType

        self.machine_types = set(MachineType.objects.values_list("name", flat=True))
        self.license_types = set(LicenseType.objects.values_list("name", flat=True))
        self.machine = _Rates(
            ((r[0], r[1]), r[2], r[3])
            for r in MachineRate.objects.values_list(
                "machine_type__name", "region__name", "effective_from", "hourly_rate"
            )
        )
        self.license = _Rates(
            LicenseRate.objects.values_list("license_type__name", "effective_from", "hourly_rate")
        )

    def machine_rate(self, machine_type: str, region: str, moment: datetime) -> Decimal | None:
        rate = self.machine.at((machine_type, region), moment)
        return rate if rate is not None else self.machine.at((machine_type, None), moment)

    def license_rate(self, license_type: str, moment: datetime) -> Decimal | None:
        return self.license.at(license_type, moment)


def _at(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"


def _reason(
    catalog: _Catalog, event: UsageEvent, currency: str | None, part_start: datetime
) -> str:
    reasons = []
    if currency is None:
        reasons.append(REASON_UNKNOWN_LICENSE)
    if event.machine_type not in catalog.machine_types:
        reasons.append(REASON_UNKNOWN_MACHINE_TYPE.format(name=event.machine_type))
    elif catalog.machine_rate(event.machine_type, event.region, part_start) is None:
        reasons.append(REASON_NO_MACHINE_RATE.format(name=event.machine_type, at=_at(part_start)))
    if event.license_type not in catalog.license_types:
        reasons.append(REASON_UNKNOWN_LICENSE_TYPE.format(name=event.license_type))
    elif catalog.license_rate(event.license_type, part_start) is None:
        reasons.append(REASON_NO_LICENSE_RATE.format(name=event.license_type, at=_at(part_start)))
    return "; ".join(reasons)


def _chunks(events: Iterator[UsageEvent]) -> Iterator[list[UsageEvent]]:
    while chunk := list(islice(events, CHUNK)):
        yield chunk


def _rate_python(
    *, after: int, upto: int, cutoffs: Mapping[int, date], current_period: date, now: datetime
) -> RatingResult:
    catalog = _Catalog()
    result = RatingResult()
    rollups: dict[tuple, list] = {}
    regions: set[str] = set()
    pools: set[str] = set()
    waiting = set(UnratedEvent.objects.values_list("usage_event_id", flat=True))
    new = UsageEvent.objects.filter(
        id__gt=after, id__lte=upto, type=EventType.MACHINE_SESSION
    ).order_by("id")
    retried = UsageEvent.objects.filter(id__in=sorted(waiting)).order_by("id")
    for events in _chunks(_iterate(new, retried)):
        currencies = dict(
            License.objects.filter(id__in={e.license_id for e in events}).values_list(
                "id", "account__currency"
            )
        )
        lines, unpriced = [], []
        for event in events:
            regions.add(event.region)
            pools.add(event.pool)
            currency = currencies.get(event.license_id)
            parts = split_by_month(event.occurred_at, event.duration_seconds)
            priced = []
            for period, start, end in parts:
                machine_rate = catalog.machine_rate(event.machine_type, event.region, start)
                license_rate = catalog.license_rate(event.license_type, start)
                if currency is None or machine_rate is None or license_rate is None:
                    unpriced.append((event, _reason(catalog, event, currency, start)))
                    break
                priced.append((period, start, end, machine_rate, license_rate))
            else:
                lines += [_line(event, part, cutoffs, current_period, currency) for part in priced]
        _store_lines(lines, rollups, result)
        _queue_unpriced(unpriced, waiting, now)
    _store_rollups(rollups)
    regions_ensure(regions)
    pools_ensure(pools)
    return result


def _iterate(*querysets: object) -> Iterator[UsageEvent]:
    for queryset in querysets:
        yield from queryset.iterator(chunk_size=CHUNK)


def _line(
    event: UsageEvent,
    part: tuple[date, datetime, datetime, Decimal, Decimal],
    cutoffs: Mapping[int, date],
    current_period: date,
    currency: str,
) -> Charge:
    period, start, end, machine_rate, license_rate = part
    first_open = cutoffs.get(event.license_id)
    duration = end - start
    return Charge(
        usage_event_id=event.id,
        license_id=event.license_id,
        billed_period=current_period if first_open and period < first_open else period,
        period=period,
        start=start,
        duration=duration,
        machine_id=event.machine_id,
        machine_type=event.machine_type,
        region=event.region,
        pool=event.pool,
        license_type=event.license_type,
        machine_rate=machine_rate,
        license_rate=license_rate,
        cost=line_amount(duration, machine_rate, currency),
        license_cost=line_amount(duration, license_rate, currency),
    )


def _store_lines(lines: list[Charge], rollups: dict[tuple, list], result: RatingResult) -> None:
    lines.sort(key=lambda c: (c.license_id, c.billed_period, c.start))
    Charge.objects.bulk_create(lines, batch_size=500)
    rated = {line.usage_event_id for line in lines}
    UnratedEvent.objects.filter(usage_event_id__in=rated).delete()
    result.lines += len(lines)
    result.rated_events += len(rated)
    for line in lines:
        key = tuple(getattr(line, name) for name in ROLLUP_KEY)
        total = rollups.setdefault(key, [timedelta(0), Decimal(0), Decimal(0), 0])
        total[0] += line.duration
        total[1] += line.cost
        total[2] += line.license_cost
        total[3] += 1
        result.touched.add((line.license_id, line.billed_period))


def _queue_unpriced(
    unpriced: list[tuple[UsageEvent, str]], waiting: set[int], now: datetime
) -> None:
    retried_by_reason: dict[str, list[int]] = defaultdict(list)
    for event, reason in unpriced:
        if event.id in waiting:
            retried_by_reason[reason].append(event.id)
    for reason, ids in retried_by_reason.items():
        UnratedEvent.objects.filter(usage_event_id__in=ids).update(reason=reason, last_tried_at=now)
    UnratedEvent.objects.bulk_create(
        [
            UnratedEvent(
                usage_event_id=event.id,
                account_id=event.account_id,
                license_id=event.license_id,
                reason=reason,
                first_seen_at=now,
                last_tried_at=now,
            )
            for event, reason in unpriced
            if event.id not in waiting
        ],
        batch_size=500,
    )


ROLLUP_KEY = (
    "license_id",
    "billed_period",
    "period",
    "pool",
    "machine_type",
    "region",
    "license_type",
)


def _store_rollups(rollups: dict[tuple, list]) -> None:
    """Add the new totals to the stored rollup rows (SQLite has one writer, so a read-modify-
    write is safe here)."""
    by_license: dict[int, list[tuple]] = defaultdict(list)
    for key in rollups:
        by_license[key[0]].append(key)
    for license_id, keys in by_license.items():
        periods = {k[1] for k in keys}
        stored = {
            tuple(getattr(r, name) for name in ROLLUP_KEY): r
            for r in ChargeRollup.objects.filter(license_id=license_id, billed_period__in=periods)
        }
        changed, created = [], []
        for key in keys:
            duration, cost, license_cost, lines = rollups[key]
            row = stored.get(key)
            if row is None:
                created.append(
                    ChargeRollup(
                        **dict(zip(ROLLUP_KEY, key, strict=True)),
                        duration=duration,
                        cost=cost,
                        license_cost=license_cost,
                        lines=lines,
                    )
                )
            else:
                row.duration += duration
                row.cost += cost
                row.license_cost += license_cost
                row.lines += lines
                changed.append(row)
        ChargeRollup.objects.bulk_create(created, batch_size=500)
        ChargeRollup.objects.bulk_update(
            changed, ["duration", "cost", "license_cost", "lines"], batch_size=500
        )
