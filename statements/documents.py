"""The statement as a document: a standalone printable HTML file, streamed, and a PDF that
WeasyPrint makes from the same head and tail.

The machine-usage rows are written by PostgreSQL (`COPY (SELECT ...) TO STDOUT`): formatting a
million lines in Python or a template runs at a few thousand lines a second, in SQL at hundreds
of thousands. Amounts and durations read exactly as statements.formatting writes them
(tests/statements/test_documents.py compares the two). Every text cell is HTML-escaped in the
SELECT, backslashes included, so COPY's text format passes each row through unchanged; ingest
refuses control characters, and any left are blanked for the same reason.

The PDF lists each line as one preformatted monospace line in fixed-width columns: laying out
nine table cells a line is what made WeasyPrint take 12-25 s for 900 lines (measured in
docs/statements.md).
"""

from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import cache

from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape

from accounts.money import display_money, minor_unit

from .models import Statement
from .selectors import statement_credits, statement_sections

# A PDF lists this many lines at most; the CSV and HTML downloads list every line.
PDF_LINES_MAX = 5000
COPY_BUFFER = 256 * 1024
# Percent done once the document's HTML is read and once its pages are laid out: WeasyPrint
# gives no progress of its own, and laying out takes most of the time.
PROGRESS_READ = 20
PROGRESS_LAID_OUT = 80
# Fixed-width columns of a PDF line: (heading, width, right-aligned).
PDF_COLUMNS = (
    ("Start", 19, False),
    ("Duration", 12, True),
    ("Machine id", 14, False),
    ("Region", 9, False),
    ("Pool", 10, False),
    ("Type", 11, False),
    ("License", 9, False),
    ("Cost", 10, True),
    ("License cost", 12, True),
)


def _escaped(expression: str) -> str:
    """The text as HTML (what django.utils.html.escape does, plus backslashes for COPY)."""
    for char, entity in (
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ('"', "&quot;"),
        ("''", "&#x27;"),
        ("\\", "&#92;"),
    ):
        expression = f"replace({expression}, '{char}', '{entity}')"
    return f"translate({expression}, E'\\t\\n\\r', '   ')"


def money_sql(expression: str) -> str:
    """The amount as display_money writes it, with the affixes of money_params."""
    return (
        f"CASE WHEN round({expression}, %(places)s) < 0"
        f" THEN %(neg_prefix)s || to_char(abs(round({expression}, %(places)s)), %(pattern)s)"
        " || %(neg_suffix)s"
        f" ELSE %(pos_prefix)s || to_char(round({expression}, %(places)s), %(pattern)s)"
        " || %(pos_suffix)s END"
    )


def duration_sql(expression: str) -> str:
    """The interval as format_duration writes it: hours past a day, fractions of seconds kept."""
    micros = f"(extract(epoch FROM {expression}) * 1000000)::bigint"
    return (
        f"(({micros}) / 3600000000)::text || ':'"
        f" || lpad(((({micros}) / 60000000) %% 60)::text, 2, '0') || ':'"
        f" || lpad(((({micros}) / 1000000) %% 60)::text, 2, '0')"
        f" || CASE WHEN ({micros}) %% 1000000 = 0 THEN ''"
        f" ELSE '.' || rtrim(lpad((({micros}) %% 1000000)::text, 6, '0'), '0') END"
    )


@cache
def money_params(currency: str) -> dict[str, object]:
    """What money_sql needs to write amounts of this currency as display_money does."""
    places = minor_unit(currency)
    one = f"{Decimal(1):.{places}f}"
    positive, negative = display_money(Decimal(1), currency), display_money(Decimal(-1), currency)
    pos_prefix, pos_suffix = positive.split(one)
    neg_prefix, neg_suffix = negative.split(one)
    return {
        "places": places,
        "pattern": "FM999,999,999,999,990" + ("." + "0" * places if places else ""),
        "pos_prefix": escape(pos_prefix),
        "pos_suffix": escape(pos_suffix),
        "neg_prefix": escape(neg_prefix),
        "neg_suffix": escape(neg_suffix),
    }


_START = "to_char(c.start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
_ADJUSTMENT = "CASE WHEN c.period <> c.billed_period THEN to_char(c.period, 'YYYY-MM') END"
_TEXT_COLUMNS = ("machine_id", "region", "pool", "machine_type", "license_type")
_CELLS = (
    _START,
    duration_sql("c.duration"),
    *(f"c.{column}" for column in _TEXT_COLUMNS),
    money_sql("c.cost"),
    money_sql("c.license_cost"),
)

_HTML_ROW = (
    f"'<tr><td>' || {_START}"
    f" || coalesce(' <span class=\"adjustment\">adj. ' || {_ADJUSTMENT} || '</span>', '')"
    f" || '</td><td class=\"num\">' || {_CELLS[1]}"
    + "".join(f" || '</td><td>' || {_escaped(f'c.{column}')}" for column in _TEXT_COLUMNS)
    + f" || '</td><td class=\"num\">' || {_CELLS[7]}"
    + f" || '</td><td class=\"num\">' || {_CELLS[8]} || '</td></tr>'"
)


def _padded(expression: str, width: int, right: bool) -> str:
    # rpad/lpad would cut a longer value; a long value pushes its line instead.
    fill = f"repeat(' ', greatest({width} - length({expression}), 0))"
    return f"{fill} || {expression}" if right else f"{expression} || {fill}"


_PDF_ROW = (
    "'<div>' || "
    + _escaped(
        " || ' ' || ".join(
            _padded(cell, width, right)
            for cell, (_, width, right) in zip(_CELLS, PDF_COLUMNS, strict=True)
        )
        + f" || coalesce('  adj. ' || {_ADJUSTMENT}, '')"
    )
    + " || '</div>'"
)

_ROWS_SQL = """
COPY (
    SELECT {row} FROM metering_charge c
    WHERE c.license_id = %(license)s AND c.billed_period = %(period)s
    ORDER BY c.start, c.usage_event_id
    LIMIT %(limit)s
) TO STDOUT
"""


def _rows(statement: Statement, row: str, limit: int | None) -> Iterator[bytes]:
    params = {
        **money_params(statement.currency),
        "license": statement.license_id,
        "period": statement.period,
        "limit": limit,
    }
    buffer = bytearray()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(_ROWS_SQL.format(row=row), params) as copy,
    ):
        for data in copy:
            buffer += data
            if len(buffer) >= COPY_BUFFER:
                yield bytes(buffer)
                buffer.clear()
    yield bytes(buffer)


def pdf_line(cells: tuple[str, ...]) -> str:
    """A heading or total line in the PDF's fixed-width columns."""
    return " ".join(
        value.rjust(width) if right else value.ljust(width)
        for value, (_, width, right) in zip(cells, PDF_COLUMNS, strict=True)
    )


def _context(statement: Statement, *, pdf: bool) -> dict:
    shown = min(PDF_LINES_MAX, statement.line_count) if pdf else statement.line_count
    currency = statement.currency
    return {
        "pdf": pdf,
        "statement": statement,
        "license": statement.license,
        "account": statement.account,
        "period_label": statement.period.strftime("%B %Y"),
        "sections": statement_sections(statement),
        "credits": list(statement_credits(statement)),
        "generated_at": timezone.now(),
        "lines_shown": shown,
        "lines_cut": shown < statement.line_count,
        "pdf_heading": pdf_line(tuple(heading for heading, _, _ in PDF_COLUMNS)),
        "pdf_total": pdf_line(
            (
                "Total",
                *[""] * 6,
                display_money(statement.machine_charges, currency),
                display_money(statement.license_charges, currency),
            )
        ),
    }


def statement_html(statement: Statement) -> Iterator[bytes]:
    """The standalone printable statement, streamed: head, every line, tail."""
    context = _context(statement, pdf=False)
    yield render_to_string("statements/document_head.html", context).encode()
    yield from _rows(statement, _HTML_ROW, None)
    yield render_to_string("statements/document_tail.html", context).encode()


def statement_pdf_html(statement: Statement) -> str:
    """What the PDF is made from: the document with its first PDF_LINES_MAX lines."""
    context = _context(statement, pdf=True)
    return (
        render_to_string("statements/document_head.html", context)
        + b"".join(_rows(statement, _PDF_ROW, PDF_LINES_MAX)).decode()
        + render_to_string("statements/document_tail.html", context)
    )


def statement_pdf(
    statement: Statement, *, progress: Callable[[int], object] = lambda percent: None
) -> bytes:
    """The statement as a PDF, telling `progress` the percent done as it goes. Only data: URLs
    may be fetched: nothing outside."""
    # Imported here: WeasyPrint takes a second to load, and only PDF downloads need it.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=False)
    html = statement_pdf_html(statement)
    progress(PROGRESS_READ)
    document = HTML(string=html, base_url=None, url_fetcher=fetcher).render()
    progress(PROGRESS_LAID_OUT)
    return document.write_pdf()
