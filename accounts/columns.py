"""The table columns every list in the site uses, so a figure reads the same on every page and
downloads the same in every CSV: numbers right-aligned in tabular figures (`num`), dates and
times never wrapped (`date`), and each column's CSV value the plain Python value that
`accounts.exports.csv_safe` writes for machines."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.utils.html import format_html

from .formats import format_count
from .money import display_money, round_money

NUMBER_ATTRS = {"th": {"class": "num"}, "td": {"class": "num"}}
DATE_ATTRS = {"th": {"class": "date"}, "td": {"class": "date"}}


class NumberColumn(tables.Column):
    """Any figure: right-aligned in tabular figures. Its render says how it reads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("attrs", NUMBER_ATTRS)
        super().__init__(*args, **kwargs)


class CountColumn(NumberColumn):
    """A whole number: 3,856 on pages, 3856 in CSV."""

    def render(self, value: int) -> str:
        return format_count(value)

    def value(self, value: int) -> int:
        return value


class MoneyColumn(NumberColumn):
    """An amount in the row's currency: '$1,234.50' (negative in red) on pages, 1234.50 in CSV."""

    def __init__(self, *args: Any, currency: str = "currency", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency_accessor = currency

    def _currency(self, record: object) -> str:
        return tables.A(self.currency_accessor).resolve(record)

    def render(self, value: Decimal, record: object) -> str:
        css = "text-danger" if value < 0 else ""
        return format_html(
            '<span class="{}">{}</span>', css, display_money(value, self._currency(record))
        )

    def value(self, value: Decimal, record: object) -> Decimal:
        return round_money(value, self._currency(record))


class DateTimeColumn(tables.DateTimeColumn):
    """A moment in UTC: 2026-11-02 08:00 on pages, 2026-11-02T08:00:00Z in CSV."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("format", "Y-m-d H:i")
        kwargs.setdefault("attrs", DATE_ATTRS)
        super().__init__(*args, **kwargs)

    def value(self, value: datetime | None, **kwargs: Any) -> datetime | None:
        return value


class DateColumn(tables.DateColumn):
    """A day: 2026-11-02 on pages and in CSV."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("format", "Y-m-d")
        kwargs.setdefault("attrs", DATE_ATTRS)
        super().__init__(*args, **kwargs)

    def value(self, value: date | None, **kwargs: Any) -> date | None:
        return value


class BooleanColumn(tables.BooleanColumn):
    """A tick or a cross on pages, true or false in CSV."""

    def value(self, record: object, value: object, bound_column: object) -> bool:
        return self._get_bool_value(record, value, bound_column)
