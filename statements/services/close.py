"""The monthly close: a final poll, then every open month before the current one closes for good."""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditAction
from accounts.scoping import SYSTEM, Actor
from metering.periods import format_period, month_of, previous_month
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
    current = month_of(now)
    through = through or previous_month(current)
    if through >= current:
        raise ValidationError(
            {
                "period": [
                    ERR_CLOSE_CURRENT.format(
                        period=format_period(through), current=format_period(current)
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
    current = month_of(now)
    through = close_period_check(through, now)
    result = CloseResult(poll=statements_poll(now=now))
    with transaction.atomic():
        rating_lock()
        result.statements_created = _ensure_runs_through(current, now)
        periods = sorted(
            set(
                Statement.objects.filter(
                    status=StatementStatus.OPEN, period__lte=through
                ).values_list("period", flat=True)
            )
        )
        for period in periods:
            closed = _close_period(period, now)
            result.closed[format_period(period)] = closed
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                object_type="statements.statement",
                object_id=format_period(period),
                old={"status": StatementStatus.OPEN},
                new={"status": StatementStatus.CLOSED, "statements": closed},
            )
    return result


# At the close: every active license, and every license with an open statement, through the
# current month (so balances carry forward even in months without usage). Licenses that already
# reach the current month are left out: their runs are contiguous, so nothing is missing.
_WANTED_AT_CLOSE = """
SELECT id, %(current)s::date FROM licenses_license l
WHERE status = 'active' AND NOT EXISTS (
    SELECT 1 FROM statements_statement WHERE license_id = l.id AND period = %(current)s)
UNION SELECT license_id, %(current)s::date FROM statements_statement s
WHERE status = 'open' AND NOT EXISTS (
    SELECT 1 FROM statements_statement WHERE license_id = s.license_id AND period = %(current)s)
"""
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
ON CONFLICT (license_id, period) DO NOTHING
"""


def _ensure_runs_through(current: date, now: datetime) -> int:
    """Every active license, and every license with an open statement, gets statements through
    the current month, so balances carry forward even in months without usage."""
    params = {"current": current, "previous": previous_month(current), "now": now}
    with connection.cursor() as cursor:
        cursor.execute(_CONTINUE_SQL, params)
        continued = cursor.rowcount
        cursor.execute(ENSURE_SQL.format(wanted=_WANTED_AT_CLOSE), params)
        return continued + cursor.rowcount


_LOCK_CLOSING_SQL = """
SELECT id FROM statements_statement
WHERE status = 'open' AND license_id IN (
    SELECT license_id FROM statements_statement WHERE period = %(period)s AND status = 'open'
)
ORDER BY id FOR UPDATE
"""

# The month's line totals per license, first and on their own: a data-modifying statement never
# runs in parallel, but this aggregate over every line of the month can (CREATE TABLE AS does).
_CLOSE_TOTALS_SQL = """
CREATE TEMP TABLE close_totals ON COMMIT DROP AS
SELECT license_id, sum(cost) AS cost, sum(license_cost) AS license_cost,
       count(*) AS lines, sum(duration) AS usage
FROM metering_charge WHERE billed_period = %(period)s GROUP BY license_id
"""

_CLOSE_SQL = """
UPDATE statements_statement s
SET machine_charges = f.cost, license_charges = f.license_cost, line_count = f.lines,
    usage = f.usage, total_credits = f.credits, starting_balance = f.starting,
    ending_balance = f.starting + f.credits - f.license_cost - f.cost,
    status = 'closed', closed_at = %(now)s, updated_at = %(now)s
FROM (
    SELECT o.id, coalesce(l.cost, 0) AS cost, coalesce(l.license_cost, 0) AS license_cost,
           coalesce(l.lines, 0) AS lines, coalesce(l.usage, interval '0') AS usage,
           coalesce(c.amount, 0) AS credits, coalesce(p.ending_balance, 0) AS starting,
           o.ending_balance AS ending_before
    FROM statements_statement o
    LEFT JOIN close_totals l ON l.license_id = o.license_id
    LEFT JOIN (
        SELECT c.statement_id, sum(c.amount) AS amount
        FROM statements_credit c JOIN statements_statement cs ON cs.id = c.statement_id
        WHERE cs.period = %(period)s GROUP BY c.statement_id
    ) c ON c.statement_id = o.id
    -- Runs are contiguous: the previous statement is last month's.
    LEFT JOIN statements_statement p
           ON p.license_id = o.license_id AND p.period = %(previous)s
    WHERE o.period = %(period)s AND o.status = 'open'
) f
WHERE s.id = f.id
RETURNING s.license_id, s.ending_balance <> f.ending_before
"""


def _close_period(period: date, now: datetime) -> int:
    with connection.cursor() as cursor:
        # The licenses' open statements, in id order like every writer (see runs.py).
        cursor.execute(_LOCK_CLOSING_SQL, {"period": period})
        # Room for the month's per-license totals in memory (the default 4 MB spills to disk
        # at about 10,000 licenses), and statistics so the update joins them sensibly.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(_CLOSE_TOTALS_SQL, {"period": period})
        cursor.execute("ANALYZE close_totals")
        cursor.execute(
            _CLOSE_SQL, {"period": period, "previous": previous_month(period), "now": now}
        )
        closed = cursor.rowcount
        # The poll keeps open balances current, so the close's recount rarely moves an ending
        # balance; only where it did do the later months need new balances.
        moved = [license_id for license_id, changed in cursor.fetchall() if changed]
        cursor.execute("DROP TABLE close_totals")
    refresh_balances(moved)
    return closed
