"""The Billing grid's tables: daily billing rows, or one line per key and month in monthly
mode. Names on the page, ids beside them in the CSV (hidden columns), money through the site's
money column, quantities with the meter's unit."""

from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts.columns import CountColumn, DateColumn, MoneyColumn, NumberColumn
from accounts.listing import ClampedTable
from metering.models import BillingRow, Platform
from metering.months import Month

from .formatting import format_quantity, format_unit_price

EMPTY = "—"
# A small inline chevron (no icon font or outside asset needed).
ICON_OPEN = mark_safe(
    '<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" fill="none" '
    'stroke="currentColor" stroke-width="1.6"><path d="M6 3.5 10.5 8 6 12.5"/></svg>'
)
_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "id": "billing-rows"}


class AssetColumn(tables.Column):
    """An asset id on pages: resource paths (Azure's are long and share their start) show their
    last two parts, the whole id in the tooltip; the CSV keeps the whole id."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            accessor="asset__asset_id", verbose_name="Asset", attrs={"td": {"class": "asset-cell"}}
        )

    def render(self, value: str) -> str:
        parts = [part for part in value.split("/") if part]
        shown = value if len(parts) <= 2 else "…/" + "/".join(parts[-2:])
        return format_html('<span title="{}">{}</span>', value, shown)

    def value(self, value: str) -> str:
        return value


class QuantityColumn(NumberColumn):
    """A quantity and its unit on pages ('1,250.5 vCPU-hour'), the plain number in CSV."""

    def __init__(self, *args: Any, unit: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unit_accessor = unit

    def render(self, value: Decimal, record: object) -> str:
        unit = tables.A(self.unit_accessor).resolve(record)
        return format_html(
            '{} <span class="text-secondary small">{}</span>', format_quantity(value), unit
        )

    def value(self, value: Decimal) -> Decimal:
        return value


class UnitPriceColumn(NumberColumn):
    """A unit price with up to 6 decimals; imported costs have none."""

    def render(self, value: Decimal) -> str:
        return format_unit_price(value)

    def value(self, value: Decimal) -> Decimal:
        return value


class DailyRowTable(ClampedTable):
    day = DateColumn(verbose_name="Date", order_by=("day", "id"))
    tenant = tables.Column(
        accessor="account__name", verbose_name="Tenant", order_by=("account__name", "day")
    )
    subscription = tables.Column(
        accessor="subscription__name", verbose_name="Subscription", default=EMPTY
    )
    subscription_id = tables.Column(
        accessor="subscription__external_id",
        verbose_name="Subscription ID",
        visible=False,
        orderable=False,
    )
    platform = tables.Column(accessor="subscription__platform", default=EMPTY)
    region = tables.Column(default=EMPTY)
    asset = AssetColumn()
    service = tables.Column(default=EMPTY, attrs={"td": {"class": "service-cell"}})
    meter = tables.Column(accessor="meter__name", verbose_name="Meter")
    quantity = QuantityColumn(unit="meter__unit")
    unit = tables.Column(accessor="meter__unit", visible=False, orderable=False)
    unit_price = UnitPriceColumn(verbose_name="Unit price", default="imported")
    cost = MoneyColumn()
    currency = tables.Column(visible=False, orderable=False)
    adjustment_for = DateColumn(verbose_name="Adjusts", visible=False, orderable=False)
    row_id = tables.Column(accessor="uuid", verbose_name="Row ID", visible=False, orderable=False)
    details = tables.Column(
        accessor="uuid",
        verbose_name="",
        orderable=False,
        exclude_from_export=True,
        attrs={"td": {"class": "text-end"}},
    )

    class Meta:
        model = BillingRow
        fields = ()
        sequence = (
            "day",
            "tenant",
            "subscription",
            "subscription_id",
            "platform",
            "region",
            "asset",
            "service",
            "meter",
            "quantity",
            "unit",
            "unit_price",
            "cost",
            "currency",
            "adjustment_for",
            "row_id",
            "details",
        )
        order_by = ("-day",)
        attrs = _ATTRS

    def render_day(self, value: object, record: BillingRow) -> str:
        if record.adjustment_for is None:
            return f"{value:%Y-%m-%d}"
        return format_html(
            '{} <span class="badge text-bg-warning" title="Late usage of an invoiced day">'
            "adjusts {}</span>",
            f"{value:%Y-%m-%d}",
            f"{record.adjustment_for:%Y-%m-%d}",
        )

    def value_day(self, value: object) -> object:
        return value

    def render_details(self, value: object) -> str:
        return format_html(
            '<a class="row-icon" href="{}" aria-label="Details" title="Details">{}</a>',
            reverse("invoices:row", args=[value]),
            ICON_OPEN,
        )


def _month(value: object) -> str:
    return str(Month.of(value))


class MonthlyLineTable(ClampedTable):
    """Lines from `metering.billing_selectors.monthly_lines` (dictionaries)."""

    month = tables.Column(
        verbose_name="Month",
        attrs={"td": {"class": "date"}},
        order_by=("month", "account__name", "asset__asset_id", "meter__name", "region"),
    )
    tenant = tables.Column(
        accessor="account__name", verbose_name="Tenant", order_by=("account__name", "month")
    )
    subscription = tables.Column(
        accessor="subscription__name", verbose_name="Subscription", default=EMPTY
    )
    subscription_id = tables.Column(
        accessor="subscription__external_id",
        verbose_name="Subscription ID",
        visible=False,
        orderable=False,
    )
    platform = tables.Column(accessor="subscription__platform", default=EMPTY)
    region = tables.Column(default=EMPTY)
    asset = AssetColumn()
    meter = tables.Column(accessor="meter__name", verbose_name="Meter")
    quantity = QuantityColumn(unit="meter__unit")
    unit = tables.Column(accessor="meter__unit", visible=False, orderable=False)
    unit_price = UnitPriceColumn(verbose_name="Unit price", default="imported")
    cost = MoneyColumn()
    currency = tables.Column(visible=False, orderable=False)
    days = CountColumn(verbose_name="Days")
    details = tables.Column(
        accessor="month",
        verbose_name="",
        orderable=False,
        exclude_from_export=True,
        attrs={"td": {"class": "text-end"}},
    )

    class Meta:
        fields = ()
        sequence = (
            "month",
            "tenant",
            "subscription",
            "subscription_id",
            "platform",
            "region",
            "asset",
            "meter",
            "quantity",
            "unit",
            "unit_price",
            "cost",
            "currency",
            "days",
            "details",
        )
        order_by = ("-month",)
        attrs = _ATTRS

    def render_month(self, value: object) -> str:
        return f"{Month.of(value).first_day:%b %Y}"

    def value_month(self, value: object) -> str:
        return _month(value)

    def render_platform(self, value: str) -> str:
        return Platform(value).label if value in Platform.values else value

    def value_platform(self, value: str) -> str:
        return self.render_platform(value)

    def render_unit_price(self, value: object, record: dict[str, Any]) -> str:
        # One price over the whole month shows; a mid-month change shows on the days.
        if value != record["highest_price"]:
            return "varies"
        return format_unit_price(value)

    def value_unit_price(self, value: object, record: dict[str, Any]) -> object:
        return value if value == record["highest_price"] else None

    def render_details(self, value: object, record: dict[str, Any]) -> str:
        """The month's days of this line, in daily mode."""
        month = Month.of(value)
        query = self.day_query(record, month)
        return format_html(
            '<a class="row-icon" href="?{}" aria-label="Days" title="The days of this line">{}</a>',
            query,
            ICON_OPEN,
        )

    def day_query(self, record: dict[str, Any], month: Month) -> str:
        query = self.request.GET.copy()
        for key in ("page", "month", "sort"):
            query.pop(key, None)
        query["mode"] = "daily"
        query["start"] = month.first_day.isoformat()
        query["end"] = month.last_day.isoformat()
        query["tenant"] = str(record["account__uuid"])
        query["meter"] = record["meter__code"]
        query["region"] = record["region"]
        query["asset"] = record["asset__asset_id"]
        query["subscription"] = record["subscription__external_id"] or ""
        return query.urlencode()
