"""The statement panel, its downloads, balances and transactions: exact content, tenancy
(outsiders get 404 everywhere), roles and bad input."""

import csv
import io
import re
from datetime import date
from urllib.parse import urlencode

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from metering.months import ERR_MONTH
from statements.models import Statement
from statements.services.chart_cache import statement_charts_refresh
from statements.services.credits import credit_add
from statements.services.poll import statements_poll
from tests.factories import LicenseFactory, UserFactory
from tests.statements.factories import ingest, session
from tests.statements.world import APRIL, FORMULA, IN_MAY, MAY, StatementWorld

PANEL = reverse("statements:panel")
BALANCES = reverse("statements:balances")
TRANSACTIONS = reverse("statements:transactions")


def downloads(license: object, month: str = "2026-05") -> dict[str, str]:
    return {
        name: reverse(f"statements:{name}", args=[license.uuid, month])
        for name in ("download_csv", "download_summary_csv", "download_html", "download_pdf")
    }


def body(response: object) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(
            part if isinstance(part, bytes) else part.encode()
            for part in response.streaming_content
        )
    return response.content


def csv_rows(response: object) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response).decode())))


def text(html: bytes) -> str:
    """The page's visible text with whitespace squeezed, for exact phrase checks."""
    stripped = re.sub(r"<script.*?</script>|<style.*?</style>", " ", html.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", stripped))


class PanelTests(StatementWorld):
    def get(self, **params: str) -> object:
        return self.login(self.owner).get(f"{PANEL}?{urlencode(params)}")

    def test_the_owner_sees_the_statement_with_its_summary_and_sections(self) -> None:
        statement_charts_refresh(statement_ids=Statement.objects.values_list("id", flat=True))
        response = self.get(license=str(self.license.uuid), month="2026-05")
        self.assertEqual(response.status_code, 200)
        page = text(response.content)
        for phrase in [
            "Statement · May 2026",
            "Balance $43.25",
            "Starting balance $47.00",
            "Total credits + $0.00",
            "License charges \u2212 $1.25",
            "Machine charges \u2212 $2.50",
            "Ending balance $43.25",
            "standard 2.50 $1.25",
            "render 1.50 $2.25",
            "sim 1.00 $1.50",
            "No credits this month.",
            "2026-04 1 1.00 $1.00 $0.50",
            "Machine usage · 3 lines",
        ]:
            self.assertIn(phrase, page)
        rows = re.findall(
            r"<tr[^>]*>(.*?)</tr>", response.content.decode().split('id="machine-usage"')[1], re.S
        )
        starts = [re.sub(r"<[^>]+>|\s+", " ", r).split()[0:2] for r in rows[1:]]
        self.assertEqual(
            starts,
            [["2026-04-28", "09:00:00"], ["2026-05-02", "08:00:00"], ["2026-05-03", "08:00:00"]],
        )
        self.assertContains(response, "adjustment · 2026-04")
        for name in (
            "pie-pool",
            "pie-machine_type",
            "pie-region",
            "hourly-cost",
            "hourly-machines",
        ):
            self.assertContains(response, f'id="figure-{name}"')

    def test_the_latest_statement_is_shown_by_default_and_licenses_switch(self) -> None:
        response = self.get()
        self.assertEqual(response.context["license"], self.license)
        self.assertEqual(response.context["month"], "2026-05")
        tenant = self.get(license=str(self.tenant_license.uuid))
        self.assertIn("Balance -$1.50", text(tenant.content))
        self.assertEqual(
            [license.name for license in tenant.context["licenses"]], ["Alpha Render", "Tenant Sim"]
        )

    def test_the_panel_opens_on_the_latest_month_with_usage_not_the_new_empty_one(self) -> None:
        Statement.objects.create(
            account=self.account, license=self.license, period=date(2026, 6, 1), currency="USD"
        )
        response = self.login(self.owner).get(f"{PANEL}?license={self.license.uuid}")
        self.assertEqual(response.context["month"], "2026-05")

    def test_without_usage_the_panel_opens_on_the_last_closed_month(self) -> None:
        idle = LicenseFactory(account=self.account, name="Idle", created_at=IN_MAY)
        for period in (APRIL, MAY):
            Statement.objects.create(
                account=self.account, license=idle, period=period, currency="USD"
            )
        Statement.objects.filter(license=idle, period=APRIL).update(
            status="closed", closed_at=IN_MAY
        )
        response = self.login(self.owner).get(f"{PANEL}?license={idle.uuid}")
        self.assertEqual(response.context["month"], "2026-04")

    def test_another_license_keeps_the_chosen_month_even_without_a_statement(self) -> None:
        page = self.get(license=str(self.tenant_license.uuid), month="2026-03")
        self.assertEqual(page.context["month"], "2026-03")
        self.assertContains(page, '<option value="2026-03" selected>March 2026</option>')

    def test_a_closed_month_shows_when_it_closed(self) -> None:
        page = text(self.get(license=str(self.license.uuid), month="2026-04").content)
        self.assertIn("Balance $47.00", page)
        self.assertIn("Closed on 2026-05-20 12:00 UTC", page)
        self.assertIn("2026-04-05 INV-1 · 2026-04-01 $50.00", page)

    def test_a_bad_or_empty_month_is_explained_not_an_error(self) -> None:
        bad = self.get(license=str(self.license.uuid), month="May")
        self.assertEqual(bad.status_code, 200)
        self.assertContains(bad, ERR_MONTH)
        empty = self.get(license=str(self.license.uuid), month="2025-01")
        self.assertContains(empty, "No statement for Alpha Render in January 2025.")

    def test_rows_per_page_is_clamped_and_pages_need_no_count(self) -> None:
        ingest(
            [session(self.license, f"p{n}", "2026-05-10 00:00", 60 + n) for n in range(30)],
            now=IN_MAY,
        )
        statements_poll(now=IN_MAY)
        response = self.get(license=str(self.license.uuid), month="2026-05", per_page="5")
        self.assertEqual(response.context["table"].paginator.per_page, 25)
        self.assertEqual(response.context["table"].paginator.num_pages, 2)
        second = self.get(license=str(self.license.uuid), month="2026-05", page="2")
        self.assertEqual(len(second.context["table"].page.object_list), 8)

    def test_a_big_statement_costs_the_same_queries_as_a_small_one(self) -> None:
        def queries(license: object) -> int:
            client = self.login(self.owner)
            url = f"{PANEL}?{urlencode({'license': license.uuid, 'month': '2026-05'})}"
            client.get(url)  # the first view queues the chart cache; later ones read the same
            with CaptureQueriesContext(connection) as captured:
                self.assertEqual(client.get(url).status_code, 200)
            return len(captured)

        small = queries(self.tenant_license)
        ingest(
            [session(self.tenant_license, f"x{n}", "2026-05-11 00:00", 600) for n in range(120)],
            now=IN_MAY,
        )
        statements_poll(now=IN_MAY)
        self.assertEqual(queries(self.tenant_license), small)

    def test_outsiders_get_404_on_the_panel_and_every_download(self) -> None:
        client = self.login(self.outsider)
        response = client.get(f"{PANEL}?license={self.license.uuid}")
        self.assertEqual(response.status_code, 404)
        for url in downloads(self.license).values():
            self.assertEqual(client.get(url).status_code, 404, url)
        own = client.get(PANEL)
        self.assertEqual([license.name for license in own.context["licenses"]], ["Outsider Farm"])

    def test_a_read_only_teammate_may_look_and_a_user_without_an_account_may_not(self) -> None:
        self.assertEqual(self.login(self.teammate).get(PANEL).status_code, 200)
        nobody = UserFactory(username="nobody")
        client = self.login(nobody)
        for url in [PANEL, BALANCES, TRANSACTIONS, downloads(self.license)["download_csv"]]:
            self.assertIn(client.get(url).status_code, (403, 404), url)
        self.assertEqual(client.get(PANEL).status_code, 403)


class DownloadTests(StatementWorld):
    def setUp(self) -> None:
        self.urls = downloads(self.license)
        self.client = self.login(self.owner)

    def test_machine_usage_csv_lists_every_line_and_neutralises_formulas(self) -> None:
        response = self.client.get(self.urls["download_csv"])
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        self.assertEqual(
            csv_rows(response),
            [
                [
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
                ],
                [
                    "2026-04-28T09:00:00Z",
                    "3600",
                    "m-late",
                    "us-east",
                    "render",
                    "c5.xlarge",
                    "standard",
                    "1.00",
                    "0.50",
                    "2026-04",
                ],
                [
                    "2026-05-02T08:00:00Z",
                    "3600",
                    "m-b",
                    "us-east",
                    "sim",
                    "c5.xlarge",
                    "standard",
                    "1.00",
                    "0.50",
                    "2026-05",
                ],
                [
                    "2026-05-03T08:00:00Z",
                    "1800",
                    "'" + FORMULA,
                    "us-east",
                    "render",
                    "c5.xlarge",
                    "standard",
                    "0.50",
                    "0.25",
                    "2026-05",
                ],
            ],
        )

    def test_a_formula_in_a_catalog_name_and_fractional_seconds_in_the_csv(self) -> None:
        pool = "=cmd|' /C calc'!A0"
        ingest(
            [
                {
                    **session(self.tenant_license, "frac", "2026-05-06 08:00", 90, pool=pool),
                    "start": "2026-05-06T08:00:00.25Z",
                }
            ],
            now=IN_MAY,
        )
        statements_poll(now=IN_MAY)
        rows = csv_rows(self.client.get(downloads(self.tenant_license)["download_csv"]))
        self.assertEqual(
            [(row[0], row[4]) for row in rows[1:]],
            [("2026-05-04T09:00:00Z", "render"), ("2026-05-06T08:00:00.250000Z", "'" + pool)],
        )

    def test_summary_csv(self) -> None:
        rows = csv_rows(self.client.get(self.urls["download_summary_csv"]))
        self.assertEqual(
            rows,
            [
                ["section", "name", "hours", "lines", "amount", "invoice_date", "credited_at"],
                ["summary", "starting_balance", "", "", "47.00", "", ""],
                ["summary", "total_credits", "", "", "0.00", "", ""],
                ["summary", "license_charges", "", "", "1.25", "", ""],
                ["summary", "machine_charges", "", "", "2.50", "", ""],
                ["summary", "ending_balance", "", "", "43.25", "", ""],
                ["license_type", "standard", "2.50", "3", "1.25", "", ""],
                ["pool", "render", "1.50", "2", "2.25", "", ""],
                ["pool", "sim", "1.00", "1", "1.50", "", ""],
                ["adjustment", "2026-04", "1.00", "1", "1.50", "", ""],
            ],
        )

    def test_html_is_standalone_and_lists_the_lines(self) -> None:
        response = self.client.get(self.urls["download_html"])
        html = body(response).decode()
        self.assertNotRegex(html, r"<link|<script|src=|url\(")
        page = text(html.encode())
        self.assertIn("Statement · May 2026", page)
        self.assertIn("Ending balance $43.25", page)
        self.assertIn("Total $2.50 $0.50".replace("$0.50", "$1.25"), page)
        for start in ("2026-04-28 09:00:00", "2026-05-02 08:00:00", "2026-05-03 08:00:00"):
            self.assertIn(f"<tr><td>{start}", html)
        self.assertEqual(html.count('<td class="num">1:00:00</td>'), 2)
        self.assertIn("=HYPERLINK(&quot;http://evil.example/x&quot;,&quot;click&quot;)", html)

    def test_pdf_is_a_pdf(self) -> None:
        response = self.client.get(self.urls["download_pdf"])
        self.assertEqual(response["Content-Type"], "application/pdf")
        self.assertTrue(response.content.startswith(b"%PDF-"))

    def test_a_month_without_a_statement_is_404(self) -> None:
        self.assertEqual(
            self.client.get(downloads(self.license, "2025-01")["download_csv"]).status_code, 404
        )
        self.assertEqual(
            self.client.get(downloads(self.license, "May-2026")["download_pdf"]).status_code, 404
        )

    def test_every_download_is_named_after_the_license_and_month(self) -> None:
        names = {
            name: self.client.get(url)["Content-Disposition"] for name, url in self.urls.items()
        }
        self.assertEqual(
            names,
            {
                "download_csv": 'attachment; filename="alpha-render-2026-05-machine-usage.csv"',
                "download_summary_csv": 'attachment; filename="alpha-render-2026-05-summary.csv"',
                "download_html": 'attachment; filename="alpha-render-2026-05-statement.html"',
                "download_pdf": 'attachment; filename="alpha-render-2026-05-statement.pdf"',
            },
        )


class BalancesTests(StatementWorld):
    def rows(self, **params: str) -> list[tuple]:
        response = self.login(self.owner).get(f"{BALANCES}?{urlencode(params)}")
        self.assertEqual(response.status_code, 200)
        return [
            (
                s.license.name,
                s.period_label,
                str(s.starting_balance.normalize()),
                str(s.ending_balance.normalize()),
            )
            for s in response.context["table"].page.object_list.data
        ]

    def test_a_row_per_license_per_month(self) -> None:
        self.assertEqual(
            self.rows(),
            [
                ("Alpha Render", "2026-05", "47", "43.25"),
                ("Tenant Sim", "2026-05", "0", "-1.5"),
                ("Alpha Render", "2026-04", "0", "47"),
                ("Tenant Sim", "2026-04", "0", "0"),
            ],
        )

    def test_server_side_filters(self) -> None:
        self.assertEqual(
            self.rows(license=str(self.license.uuid), month_from="2026-05"),
            [("Alpha Render", "2026-05", "47", "43.25")],
        )
        self.assertEqual(self.rows(balance="negative"), [("Tenant Sim", "2026-05", "0", "-1.5")])
        self.assertEqual(
            [r[1] for r in self.rows(status="closed", month_to="2026-04")], ["2026-04", "2026-04"]
        )

    def test_a_bad_month_is_a_form_error(self) -> None:
        response = self.login(self.owner).get(f"{BALANCES}?month_from=2026-13")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, ERR_MONTH)

    def test_each_row_links_to_its_statement_and_its_transactions(self) -> None:
        response = self.login(self.owner).get(f"{BALANCES}?license={self.license.uuid}")
        self.assertContains(
            response, f'href="/statements/?license={self.license.uuid}&amp;month=2026-04"'
        )
        self.assertContains(
            response,
            f'href="/transactions/?license={self.license.uuid}&amp;credited_after=2026-04-01'
            "&amp;credited_before=2026-04-30",
        )
        self.assertContains(response, 'id="balance-search"')

    def test_csv_has_the_filtered_rows(self) -> None:
        response = self.login(self.owner).get(f"{BALANCES}?export=csv&status=open")
        self.assertEqual(
            csv_rows(response),
            [
                [
                    "License",
                    "Account",
                    "Month",
                    "Start balance",
                    "Total credits",
                    "Total charges",
                    "Ending balance",
                    "Status",
                ],
                [
                    "Alpha Render",
                    "Alpha Devices",
                    "2026-05",
                    "47.00",
                    "0.00",
                    "3.75",
                    "43.25",
                    "Open",
                ],
                ["Tenant Sim", "Alpha Tenant", "2026-05", "0.00", "0.00", "1.50", "-1.50", "Open"],
            ],
        )

    def test_outsiders_see_only_their_own_rows(self) -> None:
        response = self.login(self.outsider).get(BALANCES)
        self.assertEqual(
            {s.license.name for s in response.context["table"].page.object_list.data},
            {"Outsider Farm"},
        )
        # Naming another tenant's license is a form error, and still shows only their rows.
        other = self.login(self.outsider).get(f"{BALANCES}?license={self.license.uuid}")
        self.assertContains(other, "Select a valid choice")
        self.assertEqual(
            {s.license.name for s in other.context["table"].page.object_list.data},
            {"Outsider Farm"},
        )


class TransactionsTests(StatementWorld):
    def numbers(self, **params: str) -> list[str]:
        response = self.login(self.owner).get(f"{TRANSACTIONS}?{urlencode(params)}")
        self.assertEqual(response.status_code, 200)
        return [c.invoice_number for c in response.context["table"].page.object_list.data]

    def test_every_credit_and_the_filters(self) -> None:
        credit_add(
            actor=None,
            license=self.tenant_license,
            amount="5.00",
            invoice_number="INV-T",
            invoice_date=IN_MAY.date(),
            credited_at=IN_MAY,
            now=IN_MAY,
        )
        self.assertEqual(self.numbers(), ["INV-T", "INV-1"])
        self.assertEqual(self.numbers(license=str(self.license.uuid)), ["INV-1"])
        self.assertEqual(
            self.numbers(credited_after="2026-04-01", credited_before="2026-04-30"), ["INV-1"]
        )
        self.assertEqual(self.numbers(preset="30d"), [])

    def test_presets_count_back_from_now(self) -> None:
        from django.utils import timezone

        now = timezone.now()
        credit_add(
            actor=None,
            license=self.license,
            amount="1.00",
            invoice_number="INV-NOW",
            invoice_date=now.date(),
            credited_at=now,
        )
        self.assertEqual(self.numbers(preset="24h"), ["INV-NOW"])
        self.assertEqual(self.numbers(preset="7d"), ["INV-NOW"])

    def test_csv_and_outsiders(self) -> None:
        rows = csv_rows(self.login(self.owner).get(f"{TRANSACTIONS}?export=csv"))
        self.assertEqual(
            rows,
            [
                [
                    "License",
                    "Account",
                    "Amount credited",
                    "Credited (UTC)",
                    "Invoice number",
                    "Invoice date",
                ],
                [
                    "Alpha Render",
                    "Alpha Devices",
                    "50.00",
                    "2026-04-05T10:00:00Z",
                    "INV-1",
                    "2026-04-01",
                ],
            ],
        )
        outsider = self.login(self.outsider).get(TRANSACTIONS)
        self.assertEqual(len(outsider.context["table"].page.object_list), 0)


class NavigationTests(StatementWorld):
    def test_the_three_pages_are_in_the_header(self) -> None:
        response = self.login(self.owner).get(PANEL)
        for url in (PANEL, BALANCES, TRANSACTIONS):
            self.assertContains(response, f'href="{url}"')
        self.assertEqual(Statement.objects.filter(license=self.license).count(), 2)
