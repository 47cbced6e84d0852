"""Tables of the statement panel, the balances page and the transactions page."""

from datetime import timedelta
from decimal import Decimal

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from accounts.columns import DateColumn, DateTimeColumn, MoneyColumn, NumberColumn
from accounts.listing import ClampedTable
from accounts.money import display_money
from metering.models import Charge
from metering.months import Month

from .formatting import format_duration
from .models import Credit, Statement

# Small inline icons (no icon font or outside asset needed).
ICON_STATEMENT = mark_safe(
    '<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" fill="none" '
    'stroke="currentColor" stroke-width="1.4"><path d="M4 1.5h5.5L13 5v9.5H4z"/>'
    '<path d="M9.5 1.5V5H13M6 8h5M6 10.5h5M6 13h3"/></svg>'
)
ICON_TRANSACTIONS = mark_safe(
    '<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" fill="none" '
    'stroke="currentColor" stroke-width="1.4"><rect x="1.5" y="3.5" width="13" height="9" '
    'rx="1.5"/><path d="M1.5 6.5h13M4 10h3"/></svg>'
)


class MachineUsageTable(ClampedTable):
    start = DateTimeColumn(verbose_name="Start (UTC)", format="Y-m-d H:i:s")
    duration = NumberColumn()
    machine_id = tables.Column(verbose_name="Machine id")
    region = tables.Column()
    pool = tables.Column()
    machine_type = tables.Column(verbose_name="Type")
    license_type = tables.Column(verbose_name="License type")
    cost = NumberColumn()
    license_cost = NumberColumn(verbose_name="License cost")

    class Meta:
        model = Charge
        fields = ()
        sequence = (
            "start",
            "duration",
            "machine_id",
            "region",
            "pool",
            "machine_type",
            "license_type",
            "cost",
            "license_cost",
        )
        order_by = ("start",)
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "machine-usage"}

    def __init__(self, *args: object, currency: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency

    def render_start(self, value: object, record: Charge) -> str:
        stamp = f"{value:%Y-%m-%d %H:%M:%S}"
        if record.period == record.billed_period:
            return stamp
        return format_html(
            '{} <span class="badge text-bg-warning" title="Late usage of a closed month">'
            "adjustment · {}</span>",
            stamp,
            str(Month.of(record.period)),
        )

    def render_duration(self, value: timedelta) -> str:
        return format_duration(value)

    def render_cost(self, value: Decimal) -> str:
        return display_money(value, self.currency)

    def render_license_cost(self, value: Decimal) -> str:
        return display_money(value, self.currency)


class BalanceTable(tables.Table):
    license = tables.Column(accessor="license__name", verbose_name="License")
    account = tables.Column(accessor="account__name", verbose_name="Account")
    period = tables.Column(verbose_name="Month")
    starting_balance = MoneyColumn(verbose_name="Start balance")
    total_credits = MoneyColumn(verbose_name="Total credits")
    total_charges = MoneyColumn(accessor="charges_total", verbose_name="Total charges")
    ending_balance = MoneyColumn(verbose_name="Ending balance")
    status = tables.Column()
    links = tables.Column(
        empty_values=(), orderable=False, verbose_name="", exclude_from_export=True
    )

    class Meta:
        model = Statement
        fields = ()
        sequence = (
            "license",
            "account",
            "period",
            "starting_balance",
            "total_credits",
            "total_charges",
            "ending_balance",
            "status",
            "links",
        )
        # The license breaks ties: a sort on the month alone leaves their order to the plan.
        order_by = ("-period", "license")
        attrs = {"class": "table table-sm table-hover align-middle", "id": "balances"}

    def render_period(self, value: object) -> str:
        return str(Month.of(value))

    def value_period(self, value: object) -> str:
        return str(Month.of(value))

    def value_status(self, value: str) -> str:
        return value

    def render_status(self, value: str, record: Statement) -> str:
        css = "text-bg-secondary" if record.is_closed else "text-bg-success"
        return format_html('<span class="badge {}">{}</span>', css, value)

    def render_links(self, record: Statement) -> str:
        statement = (
            reverse("statements:panel")
            + "?"
            + urlencode({"license": record.license.uuid, "month": str(Month.of(record.period))})
        )
        last_day = Month.of(record.period).last_day
        transactions = (
            reverse("statements:transactions")
            + "?"
            + urlencode(
                {
                    "license": record.license.uuid,
                    "credited_after": record.period.isoformat(),
                    "credited_before": last_day.isoformat(),
                }
            )
        )
        label = f"{record.license.name} {Month.of(record.period)!s}"
        return format_html(
            '<span class="text-nowrap">'
            '<a class="row-icon me-2" href="{}" title="Open the statement" '
            'aria-label="Statement of {}">{}</a>'
            '<a class="row-icon" href="{}" title="Transactions of this month" '
            'aria-label="Transactions of {}">{}</a></span>',
            statement,
            label,
            ICON_STATEMENT,
            transactions,
            label,
            ICON_TRANSACTIONS,
        )


class TransactionTable(tables.Table):
    license = tables.Column(accessor="license__name", verbose_name="License")
    account = tables.Column(accessor="account__name", verbose_name="Account")
    amount = MoneyColumn(verbose_name="Amount credited", currency="statement__currency")
    credited_at = DateTimeColumn(verbose_name="Credited (UTC)")
    invoice_number = tables.Column(verbose_name="Invoice number")
    invoice_date = DateColumn(verbose_name="Invoice date")

    class Meta:
        model = Credit
        fields = ()
        sequence = (
            "license",
            "account",
            "amount",
            "credited_at",
            "invoice_number",
            "invoice_date",
        )
        order_by = ("-credited_at",)
        attrs = {"class": "table table-sm table-hover align-middle", "id": "transactions"}
