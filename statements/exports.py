"""Statement CSV downloads (the machine usage and a summary) and the names of every statement
download; the HTML and PDF documents are statements.documents.

The machine-usage CSV streams straight out of PostgreSQL (`COPY (SELECT ...) TO STDOUT`,
spreadsheet formulas neutralised in the SELECT exactly as accounts.exports.csv_safe does) in
constant memory.
"""

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

from django.db import connection

from accounts.exports import csv_lines, download_filename
from accounts.money import minor_unit, round_money
from metering.months import Month

from .models import Statement
from .selectors import statement_credits, statement_sections

CSV_HEADER = [
    "start",
    "duration_seconds",
    "machine_id",
    "region",
    "pool",
    "machine_type",
    "license_type",
    "cost",
    "license_cost",
    "usage_month",
]
CSV_BUFFER = 64 * 1024

# Text cells that a spreadsheet would run as a formula get a leading apostrophe, exactly as
# accounts.exports.csv_safe does (plain signed numbers are left alone).
_FORMULA = "({col} ~ '^[=+@\\t\\r\\n-]' AND {col} !~ '^[+-]?[0-9]+(\\.[0-9]+)?$')"
# Machine ids are free text on every line. The catalog columns hold the few names of the
# statement's rollups, so each is checked line by line only when one of those names could be a
# formula. The rollups are read in the COPY's own statement: one snapshot, so a poll that
# commits meanwhile cannot add a name the check did not see.
_CATALOG_COLUMNS = ("region", "pool", "machine_type", "license_type")


def _safe(column: str, *, guarded: bool) -> str:
    """The column, with an apostrophe before a formula; `guarded` first asks the rollups."""
    when = _FORMULA.format(col=f"c.{column}")
    if guarded:
        when = f"r.{column} AND {when}"
    return f"CASE WHEN {when} THEN '''' || c.{column} ELSE c.{column} END"


_RISKY = ", ".join(
    f"coalesce(bool_or({_FORMULA.format(col=col)}), false) AS {col}" for col in _CATALOG_COLUMNS
)
_COPY_SQL = f"""
COPY (
    WITH r AS (
        SELECT {_RISKY} FROM metering_chargerollup
        WHERE license_id = %(license)s AND billed_period = %(period)s
    )
    SELECT replace(to_char(c.start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                   '.000000Z', 'Z'),
           trim_scale(extract(epoch FROM c.duration)),
           {_safe("machine_id", guarded=False)},
           {", ".join(_safe(col, guarded=True) for col in _CATALOG_COLUMNS)},
           round(c.cost, %(places)s), round(c.license_cost, %(places)s),
           to_char(c.period, 'YYYY-MM')
    FROM metering_charge c CROSS JOIN r
    WHERE c.license_id = %(license)s AND c.billed_period = %(period)s
    ORDER BY c.start, c.usage_event_id
) TO STDOUT WITH (FORMAT csv, HEADER false)
"""  # noqa: S608 - built from our column names; values are bound


def exact_seconds(duration: timedelta) -> str:
    micros = duration // timedelta(microseconds=1)
    seconds, fraction = divmod(micros, 1_000_000)
    return str(seconds) if not fraction else f"{seconds}.{fraction:06d}".rstrip("0")


def machine_usage_csv(statement: Statement) -> Iterator[bytes]:
    """Every line of the statement as CSV, in start order, streamed."""
    params = {
        "places": minor_unit(statement.currency),
        "license": statement.license_id,
        "period": statement.period,
    }
    buffer = bytearray(",".join(CSV_HEADER).encode() + b"\n")
    with connection.cursor() as cursor, cursor.cursor.copy(_COPY_SQL, params) as copy:
        for data in copy:
            buffer += data
            if len(buffer) >= CSV_BUFFER:
                yield bytes(buffer)
                buffer.clear()
    yield bytes(buffer)


SUMMARY_CSV_HEADER = [
    "section",
    "name",
    "hours",
    "lines",
    "amount",
    "invoice_date",
    "credited_at",
]


def summary_csv(statement: Statement) -> Iterator[str]:
    """The summary and the sections as one CSV: a `section` column says which is which, and
    every other column means one thing in every row (empty where it does not apply). `name` is
    the row's key in its section: the figure, license type, pool, usage month or invoice
    number."""
    currency = statement.currency

    def money(amount: Decimal) -> Decimal:
        return round_money(amount, currency)

    def figure(name: str, amount: Decimal) -> list[object]:
        return ["summary", name, None, None, money(amount), None, None]

    def share(section: str, key: str, hours: Decimal, lines: int, amount: Decimal) -> list:
        return [section, key, hours, lines, money(amount), None, None]

    sections = statement_sections(statement)
    rows: list[list[object]] = [
        figure("starting_balance", statement.starting_balance),
        figure("total_credits", statement.total_credits),
        figure("license_charges", statement.license_charges),
        figure("machine_charges", statement.machine_charges),
        figure("ending_balance", statement.ending_balance),
    ]
    rows += [
        share("license_type", s.key, s.hours, s.lines, s.license_cost)
        for s in sections.by_license_type
    ]
    rows += [share("pool", s.key, s.hours, s.lines, s.total) for s in sections.by_pool]
    rows += [share("adjustment", s.key, s.hours, s.lines, s.total) for s in sections.adjustments]
    rows += [
        ["credit", c.invoice_number, None, None, money(c.amount), c.invoice_date, c.credited_at]
        for c in statement_credits(statement)
    ]
    return csv_lines(SUMMARY_CSV_HEADER, rows)


def document_filename(statement: Statement, what: str, extension: str) -> str:
    """`alpha-render-2026-05-statement.pdf`: the license, the month, what it is."""
    return download_filename(
        statement.license.name, Month.of(statement.period), what, extension=extension
    )
