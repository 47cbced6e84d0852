"""Each license's contiguous run of monthly statements: missing months, locks, balances."""

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from django.db import connection

from ..models import Statement, StatementStatus

# The months each wanted license lacks, made in one statement: from its first statement (or
# its creation month, or the earliest wanted month) to the latest wanted one, never before a
# closed first statement, skipping the run it already has. `{wanted}` is a query of
# (license_id, period) rows.
ENSURE_SQL = """
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


def statements_ensure(*, wanted: Mapping[int, Iterable[date]], now: datetime) -> int:
    """Make sure each license has statements through each wanted month, keeping its months
    contiguous: from its first statement (or its creation month) to the latest wanted one. A
    month before a closed first statement is never created. Returns how many were created."""
    pairs = [(license_id, period) for license_id, periods in wanted.items() for period in periods]
    if not pairs:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            ENSURE_SQL.format(wanted=_WANTED_LISTED),
            {"licenses": [p[0] for p in pairs], "periods": [p[1] for p in pairs], "now": now},
        )
        return cursor.rowcount


def lock_open_statements(license_ids: Iterable[int]) -> None:
    """Lock the licenses' open statements in id order. Polls and credits do this before
    changing a statement (after the rating cursor, when they take it), so they never deadlock
    and never compute from stale rows; the close locks the whole table instead (close.py)."""
    ids = sorted(set(license_ids))
    if ids:
        list(
            Statement.objects.select_for_update()
            .filter(license_id__in=ids, status=StatementStatus.OPEN)
            .order_by("id")
            .values_list("id", flat=True)
        )


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


def refresh_balances(license_ids: Iterable[int]) -> None:
    """Starting and ending balances of the licenses' open statements."""
    ids = sorted(set(license_ids))
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(_BALANCES_SQL, {"licenses": ids})
