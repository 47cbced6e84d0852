"""The monthly close: a final poll, then every open month before the current one closes for good."""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditAction
from accounts.scoping import SYSTEM, Actor
from metering.months import Month
from metering.rating import rating_lock

from ..models import Statement, StatementStatus
from .poll import PollResult, statements_poll
from .runs import ENSURE_SQL, refresh_balances

ERR_CLOSE_CURRENT = "{period} is not over yet: only months before {current} can be closed."


@dataclass
class CloseResult:
    poll: PollResult
    closed: dict[str, int] = field(default_factory=dict)  # period -> statements closed
    statements_created: int = 0

    def counts(self) -> dict[str, int]:
        return {
            **self.poll.counts(),
            "statements_closed": sum(self.closed.values()),
            "periods_closed": len(self.closed),
            "statements_created": self.poll.statements_created + self.statements_created,
        }


def close_period_check(through: date | None, now: datetime) -> date:
    """The last month a close may take: `through` if it is over, else a ValidationError."""
    current = Month.of(now).first_day
    through = through or Month.of(current).previous().first_day
    if through >= current:
        raise ValidationError(
            {
                "period": [
                    ERR_CLOSE_CURRENT.format(
                        period=str(Month.of(through)), current=str(Month.of(current))
                    )
                ]
            }
        )
    return through


def statements_close(
    *, through: date | None = None, now: datetime | None = None, actor: Actor = SYSTEM
) -> CloseResult:
    """A final poll, then close every open statement of a month up to `through` (default: the
    month before the current one), oldest month first, carrying each ending balance into the
    next month. Closing recomputes each statement's totals from its lines and credits, so a
    closed statement is exactly the sum of what it lists. Running it again changes nothing."""
    now = now or timezone.now()
    current = Month.of(now).first_day
    through = close_period_check(through, now)
    result = CloseResult(poll=statements_poll(now=now))
    with transaction.atomic():
        rating_lock()
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_SQL)
            # Room for a month's per-license totals in memory (the default 4 MB spills to disk
            # at about 10,000 licenses); and no JIT: compiling these statements would take
            # longer than running them (estimates of generate_series runs are far too high).
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL jit = off")
        result.statements_created = _ensure_runs_through(current, now)
        periods = list(
            Statement.objects.filter(status=StatementStatus.OPEN, period__lte=through)
            .order_by("period")
            .values_list("period", flat=True)
            .distinct()
        )
        for period in periods:
            closed = _close_period(period, now)
            result.closed[str(Month.of(period))] = closed
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                object_type="statements.statement",
                object_id=str(Month.of(period)),
                old={"status": StatementStatus.OPEN},
                new={"status": StatementStatus.CLOSED, "statements": closed},
            )
    return result


# Closing takes every open statement of its months and starts the current month's. Rather than
# locking those tens of thousands of rows one by one (each row lock is a write), the close
# locks the table against other writers for the moment it runs; pages go on reading it. Polls
# already wait for the close on the rating cursor; a credit waits for it here.
_LOCK_SQL = "LOCK TABLE statements_statement IN EXCLUSIVE MODE"

# Most licenses at a close simply go on from last month: the current month's statement opens
# with last month's ending balance. One plain insert does those before the general ensure, which
# is left with the exceptions (gaps, licenses without statements).
_CONTINUE_SQL = """
INSERT INTO statements_statement (uuid, account_id, license_id, period, status, currency,
    starting_balance, total_credits, license_charges, machine_charges, ending_balance,
    line_count, usage, revision, created_at, updated_at)
SELECT gen_random_uuid(), li.account_id, s.license_id, %(current)s, 'open', a.currency,
       s.ending_balance, 0, 0, 0, s.ending_balance, 0, interval '0', 0, %(now)s, %(now)s
FROM statements_statement s
JOIN licenses_license li ON li.id = s.license_id
JOIN accounts_account a ON a.id = li.account_id
WHERE s.period = %(previous)s AND (li.status = 'active' OR s.status = 'open')
  AND NOT EXISTS (SELECT FROM statements_statement c
                  WHERE c.license_id = s.license_id AND c.period = %(current)s)
"""
# Then every active license, and every license with an open statement, that still does not reach
# the current month (so balances carry forward even in months without usage). Runs are
# contiguous, so a license that reaches the current month misses nothing.
_WANTED_AT_CLOSE = """
SELECT l.id, %(current)s::date FROM licenses_license l
WHERE (l.status = 'active' OR EXISTS (
          SELECT FROM statements_statement o WHERE o.license_id = l.id AND o.status = 'open'))
  AND NOT EXISTS (SELECT FROM statements_statement c
                  WHERE c.license_id = l.id AND c.period = %(current)s)
"""


def _ensure_runs_through(current: date, now: datetime) -> int:
    """Every active license, and every license with an open statement, gets statements through
    the current month, so balances carry forward even in months without usage."""
    params = {"current": current, "previous": Month.of(current).previous().first_day, "now": now}
    with connection.cursor() as cursor:
        cursor.execute(_CONTINUE_SQL, params)
        continued = cursor.rowcount
        cursor.execute(ENSURE_SQL.format(wanted=_WANTED_AT_CLOSE), params)
        return continued + cursor.rowcount


# Each closing statement's final figures: its lines' totals, its credits, and last month's
# ending balance as its start (runs are contiguous). CREATE TABLE AS lets the aggregate over
# every line of the month run in parallel, which a data-modifying statement never does.
_CLOSE_TOTALS_SQL = """
CREATE TEMP TABLE close_totals ON COMMIT DROP AS
SELECT o.id, coalesce(l.cost, 0) AS cost, coalesce(l.license_cost, 0) AS license_cost,
       coalesce(l.lines, 0) AS lines, coalesce(l.usage, interval '0') AS usage,
       coalesce(c.amount, 0) AS credits, coalesce(p.ending_balance, 0) AS starting,
       o.ending_balance AS ending_before
FROM statements_statement o
LEFT JOIN (
    SELECT license_id, sum(cost) AS cost, sum(license_cost) AS license_cost,
           count(*) AS lines, sum(duration) AS usage
    FROM metering_charge WHERE billed_period = %(period)s GROUP BY license_id
) l ON l.license_id = o.license_id
LEFT JOIN (
    SELECT statement_id, sum(amount) AS amount FROM statements_credit
    WHERE statement_id IN (SELECT id FROM statements_statement WHERE period = %(period)s)
    GROUP BY statement_id
) c ON c.statement_id = o.id
LEFT JOIN statements_statement p ON p.license_id = o.license_id AND p.period = %(previous)s
WHERE o.period = %(period)s AND o.status = 'open'
"""

# Closes them, and answers how many closed and on which licenses the recount moved the ending
# balance (the poll keeps open balances current, so rarely any): only those licenses' later
# months need new balances.
_CLOSE_SQL = """
WITH closed AS (
    UPDATE statements_statement s
    SET machine_charges = t.cost, license_charges = t.license_cost, line_count = t.lines,
        usage = t.usage, total_credits = t.credits, starting_balance = t.starting,
        ending_balance = t.starting + t.credits - t.license_cost - t.cost,
        status = 'closed', closed_at = %(now)s, updated_at = %(now)s
    FROM close_totals t
    WHERE s.id = t.id
    RETURNING s.license_id, s.ending_balance <> t.ending_before AS moved
)
SELECT count(*), coalesce(array_agg(license_id) FILTER (WHERE moved), '{}') FROM closed
"""


def _close_period(period: date, now: datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            _CLOSE_TOTALS_SQL, {"period": period, "previous": Month.of(period).previous().first_day}
        )
        cursor.execute(_CLOSE_SQL, {"now": now})
        closed, moved = cursor.fetchone()
        cursor.execute("DROP TABLE close_totals")
    refresh_balances(moved)
    return closed
