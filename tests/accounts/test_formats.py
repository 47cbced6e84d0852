"""One format for figures and dates everywhere (docs/architecture.md, "Formats"): counts with
thousands separators and amounts in their currency on pages, right-aligned in tabular figures;
dates that never wrap; typed date and month inputs; CSV cells written for machines."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import django_tables2 as tables
from django.template import Context, Template
from django.test import SimpleTestCase
from django.urls import reverse
from django.utils import timezone

import accounts.tables
import quotas.tables
import statements.tables
from accounts import columns
from accounts.exports import csv_safe
from accounts.formats import format_count
from accounts.models import JobRun, JobStatus
from accounts.money import display_money
from statements.services.credits import credit_add
from tests.base import BillingTestCase, csv_rows
from tests.statements.world import IN_MAY, StatementWorld

AUDIT = reverse("accounts:audit_log")
HEALTH = reverse("accounts:health")
PANEL = reverse("statements:panel")
BALANCES = reverse("statements:balances")
TRANSACTIONS = reverse("statements:transactions")
DATE_INPUT = 'placeholder="YYYY-MM-DD" pattern="\\d{4}-\\d{2}-\\d{2}" inputmode="numeric"'
MONTH_INPUT = 'placeholder="YYYY-MM" pattern="\\d{4}-\\d{2}" inputmode="numeric"'


def input_tag(html: str, name: str) -> str:
    [tag] = re.findall(rf'<input [^>]*name="{name}"[^>]*>', html)
    return tag


class PageFormatTests(SimpleTestCase):
    def test_counts_have_thousands_separators(self) -> None:
        self.assertEqual(
            [format_count(n) for n in (0, 7, 3856, -1234567)], ["0", "7", "3,856", "-1,234,567"]
        )

    def test_money_has_the_currency_decimals_and_separators(self) -> None:
        self.assertEqual(
            [
                display_money(Decimal("1234.5"), "USD"),
                display_money(Decimal("-3"), "USD"),
                display_money(Decimal("1199.5"), "JPY"),
                display_money(Decimal("1234.5675"), "KWD"),
            ],
            ["$1,234.50", "-$3.00", "¥1,200", "KWD1,234.568"],
        )

    def test_templates_use_the_same_helpers(self) -> None:
        template = Template("{% load formats %}{{ n|count }} {{ a|money:'USD' }} {{ m|count }}")
        context = Context({"n": 3856, "a": Decimal("1234.5"), "m": "2026-05"})
        self.assertEqual(template.render(context), "3,856 $1,234.50 2026-05")


class CsvCellTests(SimpleTestCase):
    def test_times_are_utc_to_the_second_with_a_z(self) -> None:
        paris = datetime(2026, 11, 2, 9, 0, 0, 123456, tzinfo=ZoneInfo("Europe/Paris"))
        self.assertEqual(csv_safe(paris), "2026-11-02T08:00:00Z")
        self.assertEqual(csv_safe(datetime(2026, 11, 2, 8, tzinfo=UTC)), "2026-11-02T08:00:00Z")

    def test_dates_booleans_and_numbers_are_plain(self) -> None:
        self.assertEqual(
            [
                csv_safe(date(2026, 11, 2)),
                csv_safe(True),
                csv_safe(False),
                csv_safe(3856),
                csv_safe(Decimal("1E+3")),
                csv_safe(Decimal("-12.30")),
            ],
            ["2026-11-02", "true", "false", 3856, "1000", "-12.30"],
        )


def site_tables() -> list[type[tables.Table]]:
    modules = (accounts.tables, quotas.tables, statements.tables)
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, tables.Table)
        and value.__module__ == module.__name__
    ]


class TableColumnTests(SimpleTestCase):
    def test_the_tables_are_found(self) -> None:
        self.assertEqual(
            sorted(t.__name__ for t in site_tables()),
            [
                "AccountTable",
                "ActiveDeviceTable",
                "AuditEventTable",
                "BalanceTable",
                "LedgerTable",
                "MachineUsageTable",
                "MembershipTable",
                "TransactionTable",
                "UsageReportTable",
            ],
        )

    def test_dates_times_and_booleans_use_the_site_columns(self) -> None:
        stock = (tables.BooleanColumn, tables.DateColumn, tables.DateTimeColumn)
        ours = (columns.BooleanColumn, columns.DateColumn, columns.DateTimeColumn)
        offenders = [
            f"{table.__name__}.{name}"
            for table in site_tables()
            for name, column in table.base_columns.items()
            if isinstance(column, stock) and not isinstance(column, ours)
        ]
        self.assertEqual(offenders, [])

    def test_figures_are_num_and_dates_are_date_cells(self) -> None:
        classes = {
            f"{table.__name__}.{name}": column.attrs["td"]["class"]
            for table in site_tables()
            for name, column in table.base_columns.items()
            if isinstance(
                column, columns.NumberColumn | columns.DateTimeColumn | columns.DateColumn
            )
        }
        self.assertEqual(
            {name: css for name, css in classes.items() if css not in ("num", "date")}, {}
        )
        self.assertEqual(classes["AccountTable.tenant_count"], "num")
        self.assertEqual(classes["ActiveDeviceTable.connections"], "num")
        self.assertEqual(classes["TransactionTable.credited_at"], "date")


class AccountPagesTests(BillingTestCase):
    def test_accounts_csv_writes_booleans_and_times_for_machines(self) -> None:
        created = datetime(2026, 11, 2, 8, 0, 0, 123456, tzinfo=UTC)
        type(self.tenant).objects.filter(pk=self.tenant.pk).update(created_at=created)
        response = self.login(self.owner).get(reverse("accounts:home"), {"q": "tenant"})
        csv = csv_rows(
            self.login(self.owner).get(reverse("accounts:home"), {"q": "tenant", "export": "csv"})
        )
        self.assertEqual(csv[1][6:], ["0", "true", "2026-11-02T08:00:00Z"])
        self.assertContains(response, '<td class="num">0</td>', html=True)

    def test_the_audit_filter_types_dates_as_text(self) -> None:
        html = self.login(self.owner).get(AUDIT).content.decode()
        for name in ("created_min", "created_max"):
            tag = input_tag(html, name)
            self.assertIn('type="text"', tag)
            self.assertIn(DATE_INPUT, tag)
        self.assertNotIn('type="date"', html)

    def test_health_counts_have_thousands_separators(self) -> None:
        JobRun.objects.create(
            name="prune_job_runs",
            status=JobStatus.OK,
            started_at=timezone.now() - timedelta(minutes=5),
            finished_at=timezone.now(),
            counts={"deleted": 3856},
        )
        response = self.login(self.staff).get(HEALTH)
        self.assertContains(response, '<strong class="num">3,856</strong>', html=True)


class StatementPagesTests(StatementWorld):
    def test_balance_months_are_typed_as_text(self) -> None:
        html = self.login(self.owner).get(BALANCES).content.decode()
        for name in ("month_from", "month_to"):
            tag = input_tag(html, name)
            self.assertIn('type="text"', tag)
            self.assertIn(MONTH_INPUT, tag)
        self.assertNotIn('type="month"', html)

    def test_transaction_dates_are_typed_as_text(self) -> None:
        html = self.login(self.owner).get(TRANSACTIONS).content.decode()
        for name in ("credited_after", "credited_before"):
            tag = input_tag(html, name)
            self.assertIn('type="text"', tag)
            self.assertIn(DATE_INPUT, tag)
        self.assertNotIn('type="date"', html)

    def test_transactions_csv_times_have_no_microseconds(self) -> None:
        credit_add(
            actor=None,
            license=self.license,
            amount="1234.50",
            invoice_number="INV-M",
            invoice_date=IN_MAY.date(),
            credited_at=IN_MAY + timedelta(microseconds=123456),
            now=IN_MAY,
        )
        rows = csv_rows(self.login(self.owner).get(TRANSACTIONS, {"export": "csv"}))
        self.assertEqual(
            rows[1],
            [
                "Alpha Render",
                "Alpha Devices",
                "1234.50",
                "2026-05-20T12:00:00Z",
                "INV-M",
                "2026-05-20",
            ],
        )

    def test_summary_csv_credit_rows_fill_their_own_columns(self) -> None:
        credit_add(
            actor=None,
            license=self.license,
            amount="1234.50",
            invoice_number="INV-M",
            invoice_date=date(2026, 5, 19),
            credited_at=IN_MAY + timedelta(microseconds=123456),
            now=IN_MAY,
        )
        url = reverse("statements:download_summary_csv", args=[self.license.uuid, "2026-05"])
        rows = csv_rows(self.login(self.owner).get(url))
        self.assertEqual(
            (rows[0], rows[-1]),
            (
                ["section", "name", "hours", "lines", "amount", "invoice_date", "credited_at"],
                ["credit", "INV-M", "", "", "1234.50", "2026-05-19", "2026-05-20T12:00:00Z"],
            ),
        )

    def test_panel_figures_are_num_and_credit_dates_do_not_wrap(self) -> None:
        response = self.login(self.owner).get(
            PANEL, {"license": self.license.uuid, "month": "2026-04"}
        )
        self.assertContains(response, '<td class="date">2026-04-05</td>', html=True)
        self.assertContains(response, '<td class="num">$50.00</td>', html=True)
        self.assertNotContains(response, "text-end")
