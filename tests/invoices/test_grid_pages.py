"""The Billing grid page and a row's details: the default range and mode, the filters and the
toggle in the URL, the summary cards beside the previous range, the chart's data, the CSV of
exactly the filtered rows, the details' sections and events, tenancy (404s) and bad input."""

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.exports import csv_safe
from accounts.models import BillingSettings, Role
from metering.models import UsageEvent
from tests.base import BillingTestCase, csv_rows, html_tables
from tests.factories import BillingRowFactory, MembershipFactory, UserFactory

from ..metering.billing_world import FORMULA_ASSET, billing_world

GRID = reverse("invoices:grid")
IN_MAY = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
MAY = "start=2026-05-01&end=2026-05-31"


def row_url(row: object) -> str:
    return reverse("invoices:row", args=[row.uuid])


def figure(response: object, currency: str) -> dict:
    match = re.search(
        rf'<script type="application/json" id="figure-{currency}">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    return json.loads(match.group(1))


def usage_event(account: object, event_id: str, at: str, **fields: object) -> UsageEvent:
    values = {
        "meter": "cpu_hours",
        "quantity": Decimal("5"),
        "asset": "vm-a1",
        "subscription": "sub-alpha",
        "region": "west",
        **fields,
    }
    return UsageEvent.objects.create(
        account=account,
        event_id=event_id,
        type="usage",
        occurred_at=datetime.fromisoformat(at).replace(tzinfo=UTC),
        fingerprint=event_id,
        **values,
    )


@time_machine.travel(IN_MAY, tick=False)
class BillingGridPageTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.world = billing_world(cls.account, cls.tenant, cls.outsider_account)
        cls.tenant_user = UserFactory(username="tenant-user")
        MembershipFactory(user=cls.tenant_user, account=cls.tenant, role=Role.MEMBER)

    def rows(self, response: object) -> list[list[str]]:
        return html_tables(response)[-1]

    def test_opens_on_this_month_so_far_in_daily_mode(self) -> None:
        response = self.login(self.owner).get(GRID)
        self.assertEqual(response.status_code, 200)
        query = response.context["query"]
        self.assertEqual((query.mode, str(query.days)), ("daily", "2026-05-01 to 2026-05-20"))
        self.assertEqual(len(self.rows(response)), 6)
        # Newest day first, names not ids, money with its currency.
        days = [row[0][:10] for row in self.rows(response)]
        self.assertEqual(days, sorted(days, reverse=True))
        formula = next(row for row in self.rows(response) if FORMULA_ASSET in row)
        self.assertEqual(formula[:3], ["2026-05-03", "Alpha Tenant", "—"])
        self.assertIn("$3.00", formula)
        self.assertContains(response, 'href="/billing/grid/"')  # the navigation's item

    def test_one_end_of_the_range_is_enough(self) -> None:
        client = self.login(self.owner)
        cases = {
            "start=2026-05-10": "2026-05-10 to 2026-05-20",
            "start=2026-06-01": "2026-06-01 to 2026-06-01",
            "start=2020-01-01": "2020-01-01 to 2020-12-31",
            "end=2026-04-10": "2026-04-01 to 2026-04-10",
        }
        for query, days in cases.items():
            with self.subTest(query=query):
                response = client.get(f"{GRID}?{query}")
                self.assertEqual(str(response.context["query"].days), days)
                self.assertFalse(response.context["form"].errors)

    def test_summary_cards_beside_the_previous_range_with_the_change(self) -> None:
        response = self.login(self.owner).get(GRID)
        eur = next(c for c in response.context["cards"] if c["currency"] == "EUR")
        self.assertEqual(
            (eur["cost"], eur["previous"], eur["change"], eur["percent"], eur["rows"]),
            (Decimal("20.00"), Decimal("8.00"), Decimal("12.00"), Decimal("150.0"), 5),
        )
        summary = response.context["summary"]
        self.assertEqual(str(summary.previous.days), "2026-04-11 to 2026-04-30")
        self.assertContains(response, "Previous 20 days")
        self.assertContains(response, "+150.0% on the previous range")
        self.assertContains(response, "nothing billed before")  # USD: none in April

    def test_the_chart_stacks_each_meter_per_day(self) -> None:
        response = self.login(self.owner).get(f"{GRID}?{MAY}")
        eur = figure(response, "EUR")
        self.assertEqual(eur["layout"]["barmode"], "stack")
        traces = {t["name"]: t for t in eur["data"]}
        self.assertEqual(set(traces), {"CPU hours", "Storage"})
        self.assertEqual(len(traces["CPU hours"]["x"]), 31)
        self.assertEqual(traces["CPU hours"]["y"][:3], [5.0, 12.0, 1.0])
        self.assertEqual(traces["Storage"]["y"][:3], [0.0, 2.0, 0.0])
        self.assertEqual([t["name"] for t in figure(response, "USD")["data"]], ["CPU hours"])
        self.assertContains(response, 'src="/static/invoices/grid.js"')

    def test_filters_live_in_the_url(self) -> None:
        client = self.login(self.owner)
        cases = {
            f"tenant={self.tenant.uuid}": 2,
            "meter=storage_gb": 1,
            "region=east": 1,
            "subscription=sub-tenant": 1,
            "service=compute&asset=vm-a1": 3,
            f"tenant={self.account.uuid}&meter=cpu_hours": 3,
        }
        for query, count in cases.items():
            with self.subTest(query=query):
                response = client.get(f"{GRID}?{MAY}&{query}")
                self.assertEqual(len(self.rows(response)), count)
        response = client.get(f"{GRID}?{MAY}&region=east")
        self.assertEqual(response.context["cards"][0]["cost"], Decimal("2.00"))
        self.assertContains(response, 'value="east"')

    def test_monthly_mode_sums_each_key_per_month(self) -> None:
        response = self.login(self.owner).get(f"{GRID}?mode=monthly&month=2026-05")
        self.assertEqual(str(response.context["query"].days), "2026-05-01 to 2026-05-31")
        lines = self.rows(response)
        self.assertEqual(len(lines), 4)
        vm = next(line for line in lines if line[5] == "vm-a1")
        self.assertEqual(vm[0], "May 2026")
        self.assertIn("32 vCPU-hour", vm)  # 10 + 20 + the adjustment's 2
        self.assertIn("€16.00", vm)
        self.assertContains(response, "Previous month")
        self.assertEqual(str(response.context["summary"].previous.days), "2026-04-01 to 2026-04-30")

    def test_a_month_with_a_price_change_shows_that_its_price_varies(self) -> None:
        from tests.factories import BillingRowFactory, MeterPriceFactory

        raised = MeterPriceFactory(
            plan=self.world.cpu_eur.plan,
            meter=self.world.cpu,
            unit_price=Decimal("0.6"),
            effective_from=datetime(2026, 5, 15, tzinfo=UTC),
        )
        BillingRowFactory(
            account=self.account,
            asset=self.world.first_day.asset,
            subscription=self.world.production,
            price=raised,
            day=datetime(2026, 5, 16).date(),
        )
        response = self.login(self.owner).get(f"{GRID}?mode=monthly&month=2026-05")
        prices = {line[5]: line[8] for line in self.rows(response)}
        self.assertEqual(prices["vm-a1"], "varies")
        self.assertEqual(prices["disk-a1"], "0.02")
        rows = csv_rows(self.client.get(f"{GRID}?mode=monthly&month=2026-05&export=csv"))
        self.assertEqual({r[6]: r[10] for r in rows[1:]}["vm-a1"], "")

    def test_the_default_mode_is_the_sites_setting_and_the_toggle_keeps_filters(self) -> None:
        BillingSettings.objects.update_or_create(
            id=1, defaults={"default_billing_aggregation_monthly": True}
        )
        response = self.login(self.owner).get(f"{GRID}?meter=cpu_hours")
        self.assertEqual(response.context["query"].mode, "monthly")
        links = response.context["mode_links"]
        self.assertIn("mode=daily", links["daily"])
        self.assertIn("start=2026-05-01&end=2026-05-31", links["daily"])
        self.assertIn("meter=cpu_hours", links["daily"])
        daily = self.client.get(f"{GRID}?mode=daily&{MAY}")
        self.assertEqual(daily.context["query"].mode, "daily")
        self.assertIn("month=2026-05", daily.context["mode_links"]["monthly"])

    def test_bad_dates_show_form_errors_and_this_month_so_far(self) -> None:
        client = self.login(self.owner)
        cases = {
            "start=2026-13-01": ("start", "Must be a date written YYYY-MM-DD"),
            "start=2026-05-10&end=2026-05-01": ("end", "Must be on or after the start date."),
            "start=2024-01-01&end=2026-05-01": ("end", "A range covers at most 366 days."),
            "mode=monthly&month=2026-13": ("month", "Must be a month written YYYY-MM"),
            f"tenant={self.outsider_account.uuid}": ("tenant", "Select a valid choice"),
            "per_page=abc&page=zz&sort=nope": (None, None),
        }
        for query, (field, message) in cases.items():
            with self.subTest(query=query):
                response = client.get(f"{GRID}?{query}")
                self.assertEqual(response.status_code, 200)
                if field:
                    self.assertIn(message, " ".join(response.context["form"].errors[field]))
                    self.assertContains(response, "invalid-feedback")
                self.assertNotIn("Outsider Co", response.content.decode())

    def test_a_tenant_sees_only_its_own_rows(self) -> None:
        response = self.login(self.tenant_user).get(f"{GRID}?{MAY}")
        self.assertEqual(len(self.rows(response)), 2)
        self.assertNotContains(response, "Alpha production")
        self.assertNotContains(response, "Outsider")

    def test_the_csv_has_exactly_the_filtered_rows_with_formulas_neutralised(self) -> None:
        response = self.login(self.owner).get(f"{GRID}?{MAY}&tenant={self.tenant.uuid}&export=csv")
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        self.assertRegex(
            response["Content-Disposition"],
            r'attachment; filename="billing-alpha-devices-2026-05-01-2026-05-31-daily-[\d-]+\.csv"',
        )
        rows = csv_rows(response)
        self.assertEqual(
            rows[0],
            [
                "Date",
                "Tenant",
                "Subscription",
                "Subscription ID",
                "Platform",
                "Region",
                "Asset",
                "Service",
                "Meter",
                "Quantity",
                "Unit",
                "Unit price",
                "Cost",
                "Currency",
                "Adjusts",
                "Row ID",
            ],
        )
        self.assertEqual(
            rows[1:],
            [
                [
                    "2026-05-03",
                    "Alpha Tenant",
                    "",
                    "",
                    "",
                    "",
                    "'" + FORMULA_ASSET,
                    "",
                    "CPU hours",
                    "5.000000",
                    "vCPU-hour",
                    "0.600000",
                    "3.00",
                    "USD",
                    "",
                    str(self.world.formula_row.uuid),
                ],
                [
                    "2026-05-02",
                    "Alpha Tenant",
                    "Tenant hosting",
                    "sub-tenant",
                    "CloudStack",
                    "east",
                    "vm-t1",
                    "compute",
                    "CPU hours",
                    "4.000000",
                    "vCPU-hour",
                    "0.500000",
                    "2.00",
                    "EUR",
                    "",
                    str(self.world.tenant_day.uuid),
                ],
            ],
        )

    def test_the_monthly_csv_has_the_months_lines(self) -> None:
        response = self.login(self.owner).get(f"{GRID}?mode=monthly&month=2026-05&export=csv")
        rows = csv_rows(response)
        self.assertEqual(rows[0][:2], ["Month", "Tenant"])
        self.assertEqual(len(rows), 5)
        self.assertEqual({r[0] for r in rows[1:]}, {"2026-05"})

    def test_the_page_reads_a_pinned_number_of_queries_whatever_the_rows(self) -> None:
        client = self.login(self.owner)
        client.get(f"{GRID}?{MAY}")
        with CaptureQueriesContext(connection) as few:
            client.get(f"{GRID}?{MAY}")
        for n in range(30):
            billing_world_row(self, n)
        with CaptureQueriesContext(connection) as many:
            response = client.get(f"{GRID}?{MAY}&per_page=100")
        self.assertEqual(len(self.rows(response)), 36)
        self.assertEqual(len(many), len(few))
        # Session, user, memberships and navigation (7), the tree, settings and the form's
        # choices (5), the summary (which counts the rows for the table), the chart and one
        # page of rows: never a query per row.
        self.assertLessEqual(len(many), 17)


def billing_world_row(case: BillingGridPageTests, n: int) -> None:
    from tests.factories import AssetFactory, BillingRowFactory

    BillingRowFactory(
        account=case.tenant,
        sender=case.account,
        asset=AssetFactory(account=case.account, client=case.tenant, asset_id=f"extra-{n}"),
        price=case.world.cpu_eur,
        subscription=case.world.tenant_subscription,
        day=datetime(2026, 5, 1 + n % 28).date(),
    )


@time_machine.travel(IN_MAY, tick=False)
class BillingRowDetailsTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.world = billing_world(cls.account, cls.tenant, cls.outsider_account)
        cls.tenant_user = UserFactory(username="tenant-user")
        MembershipFactory(user=cls.tenant_user, account=cls.tenant, role=Role.MEMBER)
        usage_event(cls.account, "e-1", "2026-05-01 08:00", description="hour 8", ends_at=None)
        usage_event(cls.account, "e-2", "2026-05-01 23:00", quantity=Decimal("5"))
        usage_event(cls.account, "e-next-day", "2026-05-02 00:00")
        usage_event(cls.account, "e-other-asset", "2026-05-01 09:00", asset="disk-a1")
        usage_event(cls.account, "e-other-region", "2026-05-01 09:00", region="east")
        usage_event(cls.account, "e-late", "2026-04-30 12:00", quantity=Decimal("2"))

    def test_pricing_hosting_resource_and_the_events(self) -> None:
        response = self.login(self.owner).get(row_url(self.world.first_day))
        self.assertEqual(response.status_code, 200)
        page = response.content.decode()
        for text in (
            "Hosting EUR",
            "0.50 EUR per vCPU-hour",
            "2026-01-01 00:00 UTC",
            "every region",
            "10 \u00d7 0.50 = €5.00",  # the multiplication sign
            "Azure Stack",
            "Alpha production",
            "sub-alpha",
            "west",
            "vm-a1",
            "compute",
            "Web server",
        ):
            with self.subTest(text=text):
                self.assertIn(text, page)
        events = html_tables(response)[-1]
        self.assertEqual([e[0] for e in events], ["e-1", "e-2"])
        self.assertEqual(events[0][1:4], ["2026-05-01 08:00:00", "—", "5"])

    def test_an_adjustment_row_shows_the_events_of_the_day_it_adjusts(self) -> None:
        response = self.login(self.owner).get(row_url(self.world.adjustment))
        self.assertContains(response, "adjusts 2026-04-30")
        self.assertEqual([e[0] for e in html_tables(response)[-1]], ["e-late"])

    def test_an_imported_cost_shows_the_cost_and_the_markup(self) -> None:
        from tests.factories import BillingRowFactory

        imported = BillingRowFactory(
            account=self.account,
            asset=self.world.first_day.asset,
            price=None,
            plan=self.world.cpu_eur.plan,
            meter=self.world.cpu,
            unit_price=None,
            imported_cost=Decimal("12.5"),
            cost=Decimal("13.13"),
            currency="EUR",
            day=datetime(2026, 5, 4).date(),
        )
        response = self.login(self.owner).get(row_url(imported))
        self.assertContains(response, "12.50 EUR")
        self.assertContains(response, "5 %")
        self.assertContains(response, "€13.13")
        self.assertNotContains(response, "Unit price")

    def test_another_tenants_row_is_a_404(self) -> None:
        cases = [
            (self.outsider, self.world.first_day),
            (self.owner, self.world.outsider_day),
            (self.tenant_user, self.world.first_day),
        ]
        for user, row in cases:
            with self.subTest(user=user.username):
                self.assertEqual(self.login(user).get(row_url(row)).status_code, 404)
        self.assertEqual(
            self.login(self.tenant_user).get(row_url(self.world.tenant_day)).status_code, 200
        )
        missing = reverse("invoices:row", args=["00000000-0000-0000-0000-000000000000"])
        self.assertEqual(self.login(self.owner).get(missing).status_code, 404)

    def test_staff_see_any_row_and_anonymous_is_sent_to_sign_in(self) -> None:
        self.assertEqual(
            self.login(self.staff).get(row_url(self.world.outsider_day)).status_code, 200
        )
        self.client.logout()
        response = self.client.get(row_url(self.world.first_day))
        self.assertEqual(response.status_code, 302)
        self.assertIn("/login/", response["Location"])


class RowSenderTests(BillingTestCase):
    def test_the_sender_is_named_only_to_those_who_may_see_it(self) -> None:
        imported = BillingRowFactory(account=self.tenant, sender=self.platform)
        self.login(self.owner)
        page = self.client.get(row_url(imported)).content.decode()
        self.assertNotIn("Sent by", page)
        self.client.logout()
        self.login(self.staff)
        self.assertIn("Sent by", self.client.get(row_url(imported)).content.decode())


class CsvCellTests(BillingTestCase):
    def test_the_sql_cells_follow_the_sites_formula_rule(self) -> None:
        values = ["=1+2", "+44 20", "-5", "-5.25", "-x", "@sum", "\tx", "plain", "1-2", "'quoted"]
        for value in values:
            BillingRowFactory(account=self.account, asset__asset_id=value, day=date(2026, 5, 4))
        response = self.login(self.owner).get(f"{GRID}?start=2026-05-04&end=2026-05-04&export=csv")
        cells = sorted(row[6] for row in csv_rows(response)[1:])
        self.assertEqual(cells, sorted(csv_safe(value) for value in values))
