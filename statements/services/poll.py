"""The poll: price new usage, then refresh the open statements the new lines landed on."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from metering.months import Month
from metering.rating import RatingResult, charges_rate, rating_lock, rating_pending
from metering.services.ingest import committed_watermark
from metering.services.usage_rating import usage_rate

from ..models import Statement, StatementStatus
from .chart_cache import statement_charts_queue
from .runs import lock_open_statements, refresh_balances, statements_ensure


@dataclass
class PollResult:
    rating: RatingResult
    statements_created: int = 0

    def counts(self) -> dict[str, int]:
        return {**self.rating.counts(), "statements_created": self.statements_created}


def first_open_periods() -> dict[int, date]:
    """For each license with closed statements, the first month after them: usage priced now for
    an earlier month is billed as an adjustment on the current month instead."""
    rows = (
        Statement.objects.filter(status=StatementStatus.CLOSED)
        .values("license_id")
        .annotate(last=Max("period"))
        .values_list("license_id", "last")
    )
    return {license_id: Month.of(last).next().first_day for license_id, last in rows}


# Machine and license charges, line count and usage of the touched open statements, from the
# charge rollups; bumps their revision so their chart cache knows it is stale.
_USAGE_TOTALS_SQL = """
UPDATE statements_statement s
SET machine_charges = t.cost, license_charges = t.license_cost, line_count = t.lines,
    usage = t.usage, revision = s.revision + 1, updated_at = %(now)s
FROM (
    SELECT r.license_id, r.billed_period, sum(r.cost) AS cost,
           sum(r.license_cost) AS license_cost, sum(r.lines) AS lines, sum(r.duration) AS usage
    FROM metering_chargerollup r
    JOIN unnest(%(licenses)s::bigint[], %(periods)s::date[]) AS w(license_id, period)
      ON r.license_id = w.license_id AND r.billed_period = w.period
    GROUP BY r.license_id, r.billed_period
) t
WHERE s.license_id = t.license_id AND s.period = t.billed_period AND s.status = 'open'
RETURNING s.id
"""


def statements_poll(*, now: datetime | None = None) -> PollResult:
    """Price every machine session stored since the last poll (and those waiting for a price),
    then refresh the open statements the new lines landed on, and once committed queue their
    chart cache for a worker. Running it again with nothing new changes nothing."""
    upto = committed_watermark()  # before the transaction: it briefly waits for ingest commits
    now = now or timezone.now()
    with transaction.atomic():
        cursor = rating_lock()
        if not rating_pending(cursor, upto):
            return PollResult(rating=RatingResult(upto=cursor.last_event_id))
        rating = charges_rate(
            upto=upto, cutoffs=first_open_periods(), current_period=Month.of(now).first_day, now=now
        )
        created = _refresh_touched(rating.touched, now)
    return PollResult(rating=rating, statements_created=created)


def _refresh_touched(touched: set[tuple[int, date]], now: datetime) -> int:
    if not touched:
        return 0
    wanted: dict[int, set[date]] = defaultdict(set)
    for license_id, period in touched:
        wanted[license_id].add(period)
    created = statements_ensure(wanted=wanted, now=now)
    lock_open_statements(wanted)
    pairs = sorted(touched)
    with connection.cursor() as cursor:
        cursor.execute(
            _USAGE_TOTALS_SQL,
            {"now": now, "licenses": [p[0] for p in pairs], "periods": [p[1] for p in pairs]},
        )
        refreshed = [statement_id for (statement_id,) in cursor.fetchall()]
    refresh_balances(wanted)
    statement_charts_queue(statement_ids=refreshed)
    return created


def events_poll(*, now: datetime | None = None) -> dict[str, int]:
    """The two-minute poll job: price new machine sessions and refresh the open statements they
    touched, then rate new metered usage into daily billing rows. Returns the job's counts."""
    return {**statements_poll(now=now).counts(), **usage_rate(now=now).counts()}
