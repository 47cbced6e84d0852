"""Rating: turn machine sessions into priced charge lines.

Rules (issue 3): a session is split at month boundaries; each part is priced with the rates in
force at the part's start (the machine type's rate for the part's region if one exists, else its
default rate; the license type's rate); hours are seconds / 3600 as exact decimals; each amount
is rounded half up to the currency's minor unit, one line at a time.

Each call prices every session stored since the last call (up to a committed watermark) plus
those still waiting for a price, in one transaction under the rating cursor's row lock, with
set-based SQL: a handful of statements whatever the number of sessions.
A session that cannot be priced is never dropped: it waits in UnratedEvent with the reason. So
does a session no ingest would accept (see _LINES_SQL): one bad row never stops the poll.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from accounts.models import Account
from accounts.money import minor_unit
from licenses.services import pools_ensure, regions_ensure

from .models import Charge, RatingCursor, UnratedEvent
from .validation import EARLIEST, FUTURE_TOLERANCE

CURSOR = "machine_sessions"

REASON_UNKNOWN_LICENSE = "Unknown license"
REASON_UNKNOWN_MACHINE_TYPE = "Unknown machine type '{name}'"
REASON_NO_MACHINE_RATE = "No machine rate for '{name}' in force at {at}"
REASON_UNKNOWN_LICENSE_TYPE = "Unknown license type '{name}'"
REASON_NO_LICENSE_RATE = "No license rate for '{name}' in force at {at}"
REASON_NO_DURATION = "No duration"
REASON_BAD_DURATION = (
    "Implausible duration of {seconds} seconds: sessions of 0 to {max} seconds are priced"
)
REASON_BAD_START = (
    "Implausible start {at}: sessions starting from 2000-01-01 to 5 minutes after the poll are "
    "priced"
)
REASON_NOT_ENDED = "Not ended yet: it ends {at}, more than 5 minutes after the poll"


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
) -> RatingResult:
    """Price every machine session with a row id in (cursor, upto] and every session still
    waiting for a price. Call inside the transaction that holds `rating_lock()`.

    `cutoffs` maps a license id to its first month still open for billing: a part in an earlier
    month is billed in `current_period` as an adjustment. `upto` must be a committed watermark
    (metering.services.ingest.committed_watermark(), taken before the transaction began).
    """
    cursor = rating_lock()
    now = now or timezone.now()
    upto = max(upto, cursor.last_event_id)
    if not rating_pending(cursor, upto):
        return RatingResult(upto=upto)
    result = _rate(
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


# Every session to price, split at month boundaries, with the rates in force at each part's
# start and the rounded amounts, in one pass. Rate validity is [effective_from, next
# effective_from) per machine type and region (or default), so each lookup is an equality hash
# join plus a range check on a handful of rows. Amounts: seconds x rate / 3600 computed exactly
# (numeric with 20 decimals) then rounded half up (PostgreSQL's round() on numeric rounds halves
# away from zero; amounts are never negative). A part without a rate gets no amount.
#
# A session outside what ingest accepts (metering.validation: no duration or one over
# MAX_SESSION_SECONDS, a start before 2000 or after the poll, an end after the poll) gets an
# `implausible` reason and one unpriced part, so it is set aside like a session without a
# price. It may have been stored before a limit existed or written straight into the table:
# its interval arithmetic could overflow, or open statements decades ahead, and fail every poll
# for every tenant. Its end is computed only once its duration and start are known to be in
# range (inside a CASE: the one construct whose order of evaluation PostgreSQL guarantees), and
# only a plausible session is split into months.
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
    SELECT e.id, e.account_id, e.license_id, e.occurred_at AS starts_at, e.duration_seconds,
           e.machine_id, e.machine_type, e.region, e.pool, e.license_type
    FROM metering_usageevent e
    WHERE e.id > %(after)s AND e.id <= %(upto)s AND e.type = 'machine_session'
    UNION ALL
    SELECT e.id, e.account_id, e.license_id, e.occurred_at, e.duration_seconds,
           e.machine_id, e.machine_type, e.region, e.pool, e.license_type
    FROM metering_unratedevent u JOIN metering_usageevent e ON e.id = u.usage_event_id
), ended AS (
    SELECT s.*, CASE WHEN s.duration_seconds BETWEEN 0 AND %(max_seconds)s
                      AND s.starts_at BETWEEN %(earliest)s AND %(latest)s
                     THEN s.starts_at + s.duration_seconds * interval '1 second' END AS ends_at
    FROM sessions s
), checked AS (
    SELECT e.*, CASE
        WHEN e.duration_seconds IS NULL THEN %(no_duration)s
        WHEN e.duration_seconds NOT BETWEEN 0 AND %(max_seconds)s
            THEN replace(replace(%(bad_duration)s, '{seconds}', e.duration_seconds::text),
                         '{max}', %(max_seconds)s::text)
        WHEN e.ends_at IS NULL
            THEN replace(%(bad_start)s, '{at}', coalesce(
                to_char(e.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"'),
                e.starts_at::text))
        WHEN e.ends_at > %(latest)s
            THEN replace(%(not_ended)s, '{at}',
                to_char(e.ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"'))
    END AS implausible
    FROM ended e
), bounded AS (
    SELECT c.*,
           CASE WHEN c.implausible IS NULL THEN date_trunc('month', c.starts_at, 'UTC')
           END AS first_month,
           CASE WHEN c.implausible IS NULL THEN date_trunc(
               'month', greatest(c.starts_at, c.ends_at - interval '1 microsecond'), 'UTC')
           END AS last_month
    FROM checked c
), parts AS (
    SELECT b.*, b.first_month AS month, b.starts_at AS part_start, b.ends_at AS part_end
    FROM bounded b WHERE b.first_month = b.last_month OR b.implausible IS NOT NULL
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
       implausible,
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
# reason the earliest such part gives; an implausible session, with why it is implausible.
_UNPRICED_SQL = """
CREATE TEMPORARY TABLE rating_unpriced ON COMMIT DROP AS
SELECT DISTINCT ON (usage_event_id) usage_event_id, account_id, license_id, region, pool,
    coalesce(implausible, concat_ws('; ',
    CASE WHEN places IS NULL THEN %(unknown_license)s END,
    CASE WHEN NOT machine_type_known
             THEN replace(%(unknown_machine_type)s, '{name}', machine_type)
         WHEN machine_rate IS NULL
             THEN replace(replace(%(no_machine_rate)s, '{at}', at), '{name}', machine_type) END,
    CASE WHEN NOT license_type_known
             THEN replace(%(unknown_license_type)s, '{name}', license_type)
         WHEN license_rate IS NULL
             THEN replace(replace(%(no_license_rate)s, '{at}', at), '{name}', license_type) END
)) AS reason
FROM rating_lines,
     LATERAL (SELECT to_char(start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"') AS at) t
WHERE implausible IS NOT NULL OR places IS NULL OR machine_rate IS NULL OR license_rate IS NULL
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


def _rate(
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
        "max_seconds": settings.MAX_SESSION_SECONDS,
        "earliest": EARLIEST,
        "latest": now + FUTURE_TOLERANCE,
        "no_duration": REASON_NO_DURATION,
        "bad_duration": REASON_BAD_DURATION,
        "bad_start": REASON_BAD_START,
        "not_ended": REASON_NOT_ENDED,
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
