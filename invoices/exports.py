"""The Billing grid's CSV of daily rows, streamed straight out of PostgreSQL.

The rows' queryset (scoped, filtered and sorted exactly as the page's table) is narrowed to the
CSV's columns, each cell written in the database as the table's CSV would write it: text with a
leading apostrophe where a spreadsheet would run it as a formula (accounts.exports.is_formula's
rule), money rounded to its currency's minor unit, quantities and unit prices with 6 decimals,
dates as YYYY-MM-DD. `COPY (SELECT ...) TO STDOUT` then streams it in constant memory.
"""

from collections.abc import Iterator

from django.db import connection
from django.db.models import Case, CharField, F, Func, IntegerField, QuerySet, Value, When
from django.db.models.functions import Cast

from accounts.exports import csv_lines
from accounts.money import minor_unit
from metering.models import BillingRow, Platform, PricePlan

CSV_BUFFER = 64 * 1024


class _SafeText(Func):
    """The text column as a cell: "" when absent, and a leading apostrophe where a spreadsheet
    would run it as a formula (a formula prefix, unless it is a plain signed number). The first
    character is compared before the regular expression runs, so a usual cell costs one
    comparison."""

    template = (
        "CASE WHEN left(coalesce(%(expressions)s, ''), 1) IN "
        r"('=', '+', '-', '@', E'\t', E'\r', E'\n') "
        r"AND %(expressions)s !~ '^[+-]?[0-9]+([.][0-9]+)?$' "
        "THEN '''' || %(expressions)s ELSE coalesce(%(expressions)s, '') END"
    )
    output_field = CharField()


def _text(field: str) -> _SafeText:
    return _SafeText(F(field))


def _platform() -> Case:
    return Case(
        *(
            When(subscription__platform=value, then=Value(label))
            for value, label in Platform.choices
        ),
        default=Value(""),
        output_field=CharField(),
    )


def _money(currencies: list[str]) -> Func:
    """The cost rounded half up to its currency's minor unit (PostgreSQL rounds half away from
    zero, the same for the positive and negative amounts a row holds)."""
    places = Case(
        *(When(currency=code, then=Value(minor_unit(code))) for code in currencies),
        default=Value(2),
        output_field=IntegerField(),
    )
    return Func(F("cost"), places, function="round", output_field=CharField())


# (header, expression) in the order of the table's CSV.
def _columns(currencies: list[str]) -> list[tuple[str, object]]:
    return [
        ("Date", Cast("day", CharField())),
        ("Tenant", _text("account__name")),
        ("Subscription", _text("subscription__name")),
        ("Subscription ID", _text("subscription__external_id")),
        ("Platform", _platform()),
        ("Region", _text("region")),
        ("Asset", _text("asset__asset_id")),
        ("Service", _text("service")),
        ("Meter", _text("meter__name")),
        ("Quantity", Cast("quantity", CharField())),
        ("Unit", _text("meter__unit")),
        ("Unit price", Cast("unit_price", CharField())),
        ("Cost", _money(currencies)),
        ("Currency", F("currency")),
        ("Adjusts", Cast("adjustment_for", CharField())),
        ("Row ID", Cast("uuid", CharField())),
    ]


def daily_rows_csv(rows: QuerySet[BillingRow]) -> Iterator[bytes]:
    """The rows (in their queryset's order) as the grid's CSV, streamed from one COPY."""
    # A row's currency is its price plan's.
    currencies = sorted(set(PricePlan.objects.order_by().values_list("currency", flat=True)))
    columns = _columns(currencies)
    names = [f"csv_{index}" for index in range(len(columns))]
    cells = (
        rows.select_related(None)
        .annotate(
            **{name: expression for name, (_, expression) in zip(names, columns, strict=True)}
        )
        .values_list(*names)
    )
    query, params = cells.query.sql_with_params()
    buffer = bytearray("".join(csv_lines([header for header, _ in columns], [])).encode())
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", params) as copy,
    ):
        for data in copy:
            buffer += data
            if len(buffer) >= CSV_BUFFER:
                yield bytes(buffer)
                buffer.clear()
    yield bytes(buffer)
