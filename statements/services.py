"""Statement changes: the poll that prices new usage and refreshes the statements it touched,
the monthly close, and credits. Each runs in one transaction.

Every license has a contiguous run of monthly statements. Writers lock a license's open
statements in id order before changing any of them (after the rating cursor, when they take it),
so concurrent polls, closes and credits never deadlock and never compute from stale rows. On
PostgreSQL the refreshes are set-based SQL; elsewhere the same arithmetic runs in Python on
Decimals (SQLite would sum money as floating point).
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from accounts.audit import audit_record, record_change, record_delete, snapshot
from accounts.models import AuditAction
from accounts.money import minor_unit
from accounts.scoping import SYSTEM, Actor
from licenses.models import License, LicenseStatus
from metering.models import Charge, ChargeRollup
from metering.periods import format_period, month_of, months_between, next_month, previous_month
from metering.rating import RatingResult, charges_rate, rating_lock, rating_pending
from metering.services import committed_watermark

from .models import Credit, Statement, StatementStatus

INVOICE_NUMBER_MAX = 50
FUTURE_TOLERANCE = timedelta(minutes=5)

ERR_PERIOD_CLOSED = "{period} is closed: its statement never changes."
ERR_AMOUNT = "Must be a number above 0 with at most {places} decimals."
ERR_FUTURE = "Must not be in the future."
ERR_TIME = "Must be a timestamp with a time zone."
ERR_INVOICE_NUMBER = f"Must be a non-empty text of at most {INVOICE_NUMBER_MAX} characters."
ERR_INVOICE_DATE = "Must be a date, e.g. 2026-05-01."
ERR_INVOICE_REUSED = "Invoice {number} is already recorded on this license with other values."
ERR_CLOSE_CURRENT = "{period} is not over yet: only months before {current} can be closed."


def _use_sql() -> bool:
    return connection.vendor == "postgresql"


# -- Reads the writers need ---------------------------------------------------------------------


def first_open_periods() -> dict[int, date]:
    """For each license with closed statements, the first month after them: usage priced now for
    an earlier month is billed as an adjustment on the current month instead."""
    rows = (
        Statement.objects.filter(status=StatementStatus.CLOSED)
        .values("license_id")
        .annotate(last=Max("period"))
        .values_list("license_id", "last")
    )
    return {license_id: next_month(last) for license_id, last in rows}


def _lock_open_statements(license_ids: Iterable[int]) -> None:
    """Lock the licenses' open statements in id order (no-op on SQLite's single writer)."""
    ids = sorted(set(license_ids))
    if ids and _use_sql():
        list(
            Statement.objects.select_for_update()
            .filter(license_id__in=ids, status=StatementStatus.OPEN)
            .order_by("id")
            .values_list("id", flat=True)
        )


# -- Statement runs -----------------------------------------------------------------------------


# The months each wanted license lacks, made in one statement: from its first statement (or
# its creation month, or the earliest wanted month) to the latest wanted one, never before a
# closed first statement, skipping the run it already has.
_ENSURE_SQL = """
WITH wanted AS (
    SELECT license_id, min(period) AS lo, max(period) AS hi
    FROM ({wanted}) AS w(license_id, period)
    GROUP BY license_id
), spans AS (
    SELECT license_id, min(period) AS first, max(period) AS last,
           min(period) FILTER (WHERE status = 'open') AS first_open
    FROM statements_statement WHERE license_id IN (SELECT license_id FROM wanted)
    GROUP BY license_id
), ranges AS (
    SELECT w.license_id, li.account_id, a.currency, s.first, s.last,
           CASE WHEN s.license_id IS NULL
                    THEN least(w.lo, date_trunc('month', li.created_at, 'UTC')::date)
                WHEN s.first_open = s.first THEN least(s.first, w.lo)
                ELSE s.first END AS lo,
           greatest(w.hi, s.last) AS hi
    FROM wanted w
    JOIN licenses_license li ON li.id = w.license_id
    JOIN accounts_account a ON a.id = li.account_id
    LEFT JOIN spans s ON s.license_id = w.license_id
)
INSERT INTO statements_statement (uuid, account_id, license_id, period, status, currency,
    starting_balance, total_credits, license_charges, machine_charges, ending_balance,
    line_count, usage, revision, created_at, updated_at)
SELECT gen_random_uuid(), r.account_id, r.license_id, m::date, 'open', r.currency,
       b.balance, 0, 0, 0, b.balance, 0, interval '0', 0, %(now)s, %(now)s
FROM ranges r
-- A month added after the run starts (and ends) with its last balance: nothing happened in it.
LEFT JOIN statements_statement ls ON ls.license_id = r.license_id AND ls.period = r.last
CROSS JOIN generate_series(r.lo, r.hi, interval '1 month') m
CROSS JOIN LATERAL (
    SELECT CASE WHEN m::date > r.last THEN ls.ending_balance ELSE 0 END AS balance
) b
WHERE r.first IS NULL OR m::date < r.first OR m::date > r.last
ON CONFLICT (license_id, period) DO NOTHING
"""
_WANTED_LISTED = "SELECT * FROM unnest(%(licenses)s::bigint[], %(periods)s::date[])"
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


def statements_ensure(*, wanted: Mapping[int, Iterable[date]], now: datetime) -> int:
    """Make sure each license has statements through each wanted month, keeping its months
    contiguous: from its first statement (or its creation month) to the latest wanted one. A
    month before a closed first statement is never created. Returns how many were created."""
    wanted = {license_id: set(periods) for license_id, periods in wanted.items() if periods}
    if not wanted:
        return 0
    if _use_sql():
        pairs = [(license_id, period) for license_id, ps in wanted.items() for period in ps]
        with connection.cursor() as cursor:
            cursor.execute(
                _ENSURE_SQL.format(wanted=_WANTED_LISTED),
                {
                    "licenses": [p[0] for p in pairs],
                    "periods": [p[1] for p in pairs],
                    "now": now,
                },
            )
            return cursor.rowcount
    spans = {
        row["license_id"]: row
        for row in Statement.objects.filter(license_id__in=wanted)
        .values("license_id")
        .annotate(
            first=Min("period"),
            last=Max("period"),
            first_open=Min("period", filter=Q(status=StatementStatus.OPEN)),
        )
    }
    licenses = License.objects.filter(id__in=wanted).values_list(
        "id", "account_id", "account__currency", "created_at"
    )
    missing = []
    for license_id, account_id, currency, created_at in licenses:
        periods = wanted[license_id]
        span = spans.get(license_id)
        if span is None:
            first = min(min(periods), month_of(created_at))
            have: set[date] = set()
            last = max(periods)
        else:
            first, last = span["first"], max(span["last"], max(periods))
            if span["first_open"] == span["first"]:
                first = min(first, min(periods))
            have = set(months_between(span["first"], span["last"]))
        missing += [
            Statement(
                account_id=account_id,
                license_id=license_id,
                period=period,
                currency=currency,
                created_at=now,
                updated_at=now,
            )
            for period in months_between(first, last)
            if period not in have
        ]
    Statement.objects.bulk_create(missing, batch_size=1000, ignore_conflicts=True)
    return len(missing)


# -- Refreshing open statements -----------------------------------------------------------------

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
"""

_CREDIT_TOTALS_SQL = """
UPDATE statements_statement s
SET total_credits = coalesce((SELECT sum(c.amount) FROM statements_credit c
                              WHERE c.statement_id = s.id), 0),
    updated_at = %(now)s
WHERE s.id = ANY(%(ids)s) AND s.status = 'open'
"""

# Open statements chain from the last closed ending balance (or 0): each starts where the
# previous one ended.
_BALANCES_SQL = """
UPDATE statements_statement s
SET starting_balance = c.anchor + c.running - c.delta, ending_balance = c.anchor + c.running
FROM (
    SELECT o.id, o.delta, o.running, coalesce(a.ending_balance, 0) AS anchor
    FROM (
        SELECT id, license_id, total_credits - license_charges - machine_charges AS delta,
               sum(total_credits - license_charges - machine_charges)
                   OVER (PARTITION BY license_id ORDER BY period) AS running
        FROM statements_statement
        WHERE status = 'open' AND license_id = ANY(%(licenses)s)
    ) o
    LEFT JOIN (
        SELECT DISTINCT ON (license_id) license_id, ending_balance
        FROM statements_statement
        WHERE status = 'closed' AND license_id = ANY(%(licenses)s)
        ORDER BY license_id, period DESC
    ) a ON a.license_id = o.license_id
) c
WHERE s.id = c.id
  AND (s.starting_balance <> c.anchor + c.running - c.delta
       OR s.ending_balance <> c.anchor + c.running)
"""


def _refresh_usage_totals(touched: set[tuple[int, date]], now: datetime) -> None:
    """Machine and license charges, line count and usage of the touched open statements, from
    the charge rollups; bumps their revision."""
    if not touched:
        return
    if _use_sql():
        pairs = sorted(touched)
        with connection.cursor() as cursor:
            cursor.execute(
                _USAGE_TOTALS_SQL,
                {
                    "now": now,
                    "licenses": [p[0] for p in pairs],
                    "periods": [p[1] for p in pairs],
                },
            )
        return
    totals: dict[tuple[int, date], list] = defaultdict(
        lambda: [Decimal(0), Decimal(0), 0, timedelta(0)]
    )
    rollups = ChargeRollup.objects.filter(
        license_id__in={t[0] for t in touched}, billed_period__in={t[1] for t in touched}
    ).values_list("license_id", "billed_period", "cost", "license_cost", "lines", "duration")
    for license_id, period, cost, license_cost, lines, duration in rollups:
        total = totals[(license_id, period)]
        total[0] += cost
        total[1] += license_cost
        total[2] += lines
        total[3] += duration
    statements = [
        s
        for s in Statement.objects.filter(
            license_id__in={t[0] for t in touched},
            period__in={t[1] for t in touched},
            status=StatementStatus.OPEN,
        )
        if (s.license_id, s.period) in touched
    ]
    for statement in statements:
        cost, license_cost, lines, usage = totals[(statement.license_id, statement.period)]
        statement.machine_charges, statement.license_charges = cost, license_cost
        statement.line_count, statement.usage = lines, usage
        statement.revision += 1
        statement.updated_at = now
    Statement.objects.bulk_update(
        statements,
        ["machine_charges", "license_charges", "line_count", "usage", "revision", "updated_at"],
        batch_size=500,
    )


def _refresh_credit_totals(statement_ids: list[int], now: datetime) -> None:
    if not statement_ids:
        return
    if _use_sql():
        with connection.cursor() as cursor:
            cursor.execute(_CREDIT_TOTALS_SQL, {"now": now, "ids": statement_ids})
        return
    sums: dict[int, Decimal] = defaultdict(Decimal)
    for statement_id, amount in Credit.objects.filter(statement_id__in=statement_ids).values_list(
        "statement_id", "amount"
    ):
        sums[statement_id] += amount
    statements = list(Statement.objects.filter(id__in=statement_ids, status=StatementStatus.OPEN))
    for statement in statements:
        statement.total_credits = sums[statement.id]
        statement.updated_at = now
    Statement.objects.bulk_update(statements, ["total_credits", "updated_at"], batch_size=500)


def _refresh_balances(license_ids: Iterable[int]) -> None:
    """Starting and ending balances of the licenses' open statements."""
    ids = sorted(set(license_ids))
    if not ids:
        return
    if _use_sql():
        with connection.cursor() as cursor:
            cursor.execute(_BALANCES_SQL, {"licenses": ids})
        return
    anchors: dict[int, Decimal] = {}
    closed = Statement.objects.filter(license_id__in=ids, status=StatementStatus.CLOSED)
    for license_id, ending in closed.order_by("license_id", "period").values_list(
        "license_id", "ending_balance"
    ):
        anchors[license_id] = ending
    changed = []
    open_statements = Statement.objects.filter(
        license_id__in=ids, status=StatementStatus.OPEN
    ).order_by("license_id", "period")
    balance: dict[int, Decimal] = {}
    for statement in open_statements:
        starting = balance.get(statement.license_id, anchors.get(statement.license_id, Decimal(0)))
        ending = (
            starting
            + statement.total_credits
            - statement.license_charges
            - statement.machine_charges
        )
        balance[statement.license_id] = ending
        if (statement.starting_balance, statement.ending_balance) != (starting, ending):
            statement.starting_balance, statement.ending_balance = starting, ending
            changed.append(statement)
    Statement.objects.bulk_update(changed, ["starting_balance", "ending_balance"], batch_size=500)


# -- The poll -----------------------------------------------------------------------------------


@dataclass
class PollResult:
    rating: RatingResult
    statements_created: int = 0

    def counts(self) -> dict[str, int]:
        return {**self.rating.counts(), "statements_created": self.statements_created}


def statements_poll(*, now: datetime | None = None, engine: str | None = None) -> PollResult:
    """Price every machine session stored since the last poll (and those waiting for a price),
    then refresh the open statements the new lines landed on. Running it again with nothing new
    changes nothing. `engine` picks the rating implementation (tests compare both)."""
    upto = committed_watermark()  # before the transaction: it briefly waits for ingest commits
    now = now or timezone.now()
    with transaction.atomic():
        cursor = rating_lock()
        if not rating_pending(cursor, upto):
            return PollResult(rating=RatingResult(upto=cursor.last_event_id))
        rating = charges_rate(
            upto=upto,
            cutoffs=first_open_periods(),
            current_period=month_of(now),
            now=now,
            engine=engine,
        )
        created = _refresh_touched(rating.touched, now)
    return PollResult(rating=rating, statements_created=created)


def _refresh_touched(touched: set[tuple[int, date]], now: datetime) -> int:
    wanted: dict[int, set[date]] = defaultdict(set)
    for license_id, period in touched:
        wanted[license_id].add(period)
    created = statements_ensure(wanted=wanted, now=now)
    _lock_open_statements(wanted)
    _refresh_usage_totals(touched, now)
    _refresh_balances(wanted)
    return created


# -- The close ----------------------------------------------------------------------------------


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


def _ensure_runs_through(current: date, now: datetime) -> int:
    """Every active license, and every license with an open statement, gets statements through
    the current month, so balances carry forward even in months without usage."""
    if _use_sql():
        params = {"current": current, "previous": previous_month(current), "now": now}
        with connection.cursor() as cursor:
            cursor.execute(_CONTINUE_SQL, params)
            continued = cursor.rowcount
            cursor.execute(_ENSURE_SQL.format(wanted=_WANTED_AT_CLOSE), params)
            return continued + cursor.rowcount
    active = License.objects.filter(status=LicenseStatus.ACTIVE).values_list("id", flat=True)
    with_open = Statement.objects.filter(status=StatementStatus.OPEN).values_list(
        "license_id", flat=True
    )
    wanted = {license_id: {current} for license_id in {*active, *with_open}}
    return statements_ensure(wanted=wanted, now=now)


_LOCK_CLOSING_SQL = """
SELECT id FROM statements_statement
WHERE status = 'open' AND license_id IN (
    SELECT license_id FROM statements_statement WHERE period = %(period)s AND status = 'open'
)
ORDER BY id FOR UPDATE
"""


def _close_period(period: date, now: datetime) -> int:
    if not _use_sql():
        license_ids = list(
            Statement.objects.filter(period=period, status=StatementStatus.OPEN).values_list(
                "license_id", flat=True
            )
        )
        closed = _close_period_python(period, now)
        _refresh_balances(license_ids)
        return closed
    with connection.cursor() as cursor:
        # The licenses' open statements, in id order like every writer (see the top).
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
    _refresh_balances(moved)
    return closed


def _close_period_python(period: date, now: datetime) -> int:
    lines: dict[int, list] = defaultdict(lambda: [Decimal(0), Decimal(0), 0, timedelta(0)])
    for license_id, cost, license_cost, duration in Charge.objects.filter(
        billed_period=period
    ).values_list("license_id", "cost", "license_cost", "duration"):
        total = lines[license_id]
        total[0] += cost
        total[1] += license_cost
        total[2] += 1
        total[3] += duration
    statements = list(
        Statement.objects.filter(period=period, status=StatementStatus.OPEN).order_by("id")
    )
    credits: dict[int, Decimal] = defaultdict(Decimal)
    for statement_id, amount in Credit.objects.filter(statement__in=statements).values_list(
        "statement_id", "amount"
    ):
        credits[statement_id] += amount
    # Runs are contiguous: the previous statement is last month's.
    previous = dict(
        Statement.objects.filter(
            license_id__in=[s.license_id for s in statements], period=previous_month(period)
        ).values_list("license_id", "ending_balance")
    )
    for statement in statements:
        cost, license_cost, count, usage = lines[statement.license_id]
        statement.machine_charges, statement.license_charges = cost, license_cost
        statement.line_count, statement.usage = count, usage
        statement.total_credits = credits[statement.id]
        statement.starting_balance = previous.get(statement.license_id, Decimal(0))
        statement.ending_balance = (
            statement.starting_balance + statement.total_credits - license_cost - cost
        )
        statement.status, statement.closed_at, statement.updated_at = (
            StatementStatus.CLOSED,
            now,
            now,
        )
    Statement.objects.bulk_update(
        statements,
        [
            "machine_charges",
            "license_charges",
            "line_count",
            "usage",
            "total_credits",
            "starting_balance",
            "ending_balance",
            "status",
            "closed_at",
            "updated_at",
        ],
        batch_size=500,
    )
    return len(statements)


# -- Credits ------------------------------------------------------------------------------------


def _clean_amount(value: Any, currency: str) -> Decimal:
    places = minor_unit(currency)
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        amount = None
    if (
        amount is None
        or isinstance(value, bool | float)
        or not amount.is_finite()
        or amount <= 0
        or amount.adjusted() >= 14
        or amount != amount.quantize(Decimal(1).scaleb(-places))
    ):
        raise ValidationError({"amount": [ERR_AMOUNT.format(places=places)]})
    return amount


def _clean_credit(
    *,
    license: License,
    amount: Any,
    credited_at: datetime | None,
    invoice_number: Any,
    invoice_date: Any,
    now: datetime,
) -> tuple[Decimal, datetime, str, date]:
    errors: dict[str, list[str]] = {}
    try:
        amount = _clean_amount(amount, license.account.currency)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if credited_at is None:
        credited_at = now
    elif not isinstance(credited_at, datetime) or timezone.is_naive(credited_at):
        errors["credited_at"] = [ERR_TIME]
    elif credited_at > now + FUTURE_TOLERANCE:
        errors["credited_at"] = [ERR_FUTURE]
    if (
        not isinstance(invoice_number, str)
        or not invoice_number.strip()
        or len(invoice_number.strip()) > INVOICE_NUMBER_MAX
    ):
        errors["invoice_number"] = [ERR_INVOICE_NUMBER]
    if not isinstance(invoice_date, date) or isinstance(invoice_date, datetime):
        errors["invoice_date"] = [ERR_INVOICE_DATE]
    if errors:
        raise ValidationError(errors)
    return amount, credited_at.astimezone(UTC), invoice_number.strip(), invoice_date


def _period_is_closed(license: License, period: date) -> bool:
    """Whether the license's month is closed, or lies before its closed first statement."""
    return Statement.objects.filter(
        license=license, period__gte=period, status=StatementStatus.CLOSED
    ).exists()


def credit_check(
    *,
    license: License,
    amount: Any,
    invoice_number: Any,
    invoice_date: Any,
    credited_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[Decimal, datetime, str, date]:
    """The cleaned (amount, credited_at, invoice number, invoice date) of a credit that may be
    added, or a ValidationError naming each bad field."""
    now = now or timezone.now()
    cleaned = _clean_credit(
        license=license,
        amount=amount,
        credited_at=credited_at,
        invoice_number=invoice_number,
        invoice_date=invoice_date,
        now=now,
    )
    period = month_of(cleaned[1])
    if _period_is_closed(license, period):
        raise ValidationError(
            {"credited_at": [ERR_PERIOD_CLOSED.format(period=format_period(period))]}
        )
    return cleaned


@transaction.atomic
def credit_add(
    *,
    actor: Actor | None,
    license: License,
    amount: Decimal | str,
    invoice_number: str,
    invoice_date: date,
    credited_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[Credit, bool]:
    """Credit money to a license on the statement of the month it is credited in. Returns the
    credit and whether it is new: sending the same invoice again returns the stored credit
    (a retry changes nothing); the same invoice number with other values is refused."""
    now = now or timezone.now()
    amount, credited_at, invoice_number, invoice_date = _clean_credit(
        license=license,
        amount=amount,
        credited_at=credited_at,
        invoice_number=invoice_number,
        invoice_date=invoice_date,
        now=now,
    )
    # One credit write per license at a time, so two identical requests racing each other end
    # as one stored credit and one retry instead of a unique violation.
    License.objects.select_for_update().filter(pk=license.pk).exists()
    existing = Credit.objects.filter(license=license, invoice_number=invoice_number).first()
    if existing is not None:
        if (existing.amount, existing.credited_at, existing.invoice_date) == (
            amount,
            credited_at,
            invoice_date,
        ):
            return existing, False
        raise ValidationError(
            {"invoice_number": [ERR_INVOICE_REUSED.format(number=invoice_number)]}
        )
    period = month_of(credited_at)
    # Lock the license's open statements first, so a close or poll cannot slip in between.
    _lock_open_statements([license.id])
    credit_check(
        license=license,
        amount=amount,
        credited_at=credited_at,
        invoice_number=invoice_number,
        invoice_date=invoice_date,
        now=now,
    )
    statements_ensure(wanted={license.id: {period}}, now=now)
    _lock_open_statements([license.id])
    statement = Statement.objects.select_for_update().get(license=license, period=period)
    credit = Credit.objects.create(
        account_id=license.account_id,
        license=license,
        statement=statement,
        amount=amount,
        credited_at=credited_at,
        invoice_number=invoice_number,
        invoice_date=invoice_date,
        created_at=now,
    )
    record_change(actor=actor, instance=credit, old=None)
    _refresh_credit_totals([statement.id], now)
    _refresh_balances([license.id])
    return credit, True


@transaction.atomic
def credit_delete(*, actor: Actor | None, credit: Credit, now: datetime | None = None) -> None:
    """Remove a credit recorded by mistake, while its statement is still open."""
    now = now or timezone.now()
    _lock_open_statements([credit.license_id])
    statement = Statement.objects.select_for_update().get(pk=credit.statement_id)
    if statement.is_closed:
        raise ValidationError(
            {"credited_at": [ERR_PERIOD_CLOSED.format(period=format_period(statement.period))]}
        )
    old = snapshot(credit)
    Credit.objects.filter(pk=credit.pk).delete()
    record_delete(actor=actor, instance=credit, old=old)
    _refresh_credit_totals([statement.id], now)
    _refresh_balances([credit.license_id])
