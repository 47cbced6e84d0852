"""My billing and the Usage reports tenant pane in a real Chromium, driven by Playwright against
a live server: the month picker, the figures, a report download and the pane's four tabs."""

import gzip
from pathlib import Path

import pytest
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.utils import timezone

from accounts.models import Account, AccountKind, Role
from metering.months import Month
from quotas.services.campaigns import campaign_finish
from quotas.services.reports import usage_reports_run
from tests.factories import AccountFactory, MembershipFactory, UserFactory

from .factories import at, call, campaign, ingest, package, update
from .factories import connection as connect


@pytest.fixture
def browser_page(request: pytest.FixtureRequest, page: object) -> None:
    request.instance.page = page


@pytest.mark.browser
@pytest.mark.usefixtures("browser_page")
class BillingInTheBrowserTests(StaticLiveServerTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.aggregator = AccountFactory(
            name="Globex Devices",
            slug="globex",
            organization="Globex IoT",
            kind=AccountKind.CUSTOMER,
        )
        self.metro = AccountFactory(
            name="Metro Transit",
            slug="metro",
            parent=self.aggregator,
            organization="Metro Transit Authority",
            business_model="api_calls",
        )
        self.lumen = AccountFactory(name="Lumen Lighting", slug="lumen", parent=self.aggregator)
        Account.objects.update(created_at=at("2026-01-01 00:00:00"))
        owner = UserFactory(username="olivia")
        MembershipFactory(user=owner, account=self.aggregator, role=Role.OWNER)
        package(self.aggregator, 1000, "2026-01-15 00:00:00")
        rollout = campaign(self.metro, "Bus gateways 3.1", 40, "2026-04-02 09:00:00")
        ingest(
            [connect(self.aggregator, f"g{i}", f"gw-{i}", "2026-04-03 10:00:00") for i in range(3)]
            + [connect(self.metro, f"m{i}", f"bus-{i}", "2026-04-04 10:00:00") for i in range(5)]
            + [connect(self.lumen, f"l{i}", f"lamp-{i}", "2026-04-05 10:00:00") for i in range(7)]
            + [
                update(self.metro, f"u{i}", f"bus-{i}", rollout, "2026-04-06 10:00:00")
                for i in range(4)
            ]
            + [
                call(
                    self.metro,
                    "k1",
                    "device_to_service",
                    "notification",
                    120,
                    "2026-04-07 00:00:00",
                )
            ]
        )
        campaign_finish(actor=None, campaign=rollout, now=at("2026-04-20 00:00:00"))
        usage_reports_run(now=at("2026-05-06 00:10:00"))

    def sign_in(self) -> None:
        self.page.goto(f"{self.live_server_url}/login/")
        self.page.fill("#id_username", "olivia")
        self.page.fill("#id_password", "test-password")
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{self.live_server_url}/")

    def figure(self, name: str, scope: str = "main") -> str:
        return self.page.locator(f'{scope} [data-figure="{name}"]').first.inner_text().strip()

    def test_my_billing_month_by_month_with_a_download(self) -> None:
        page = self.page
        self.sign_in()
        page.goto(f"{self.live_server_url}/billing/?month=2026-04")
        page.get_by_role("heading", name="My billing").wait_for()
        self.assertEqual(
            [
                self.figure(n)
                for n in ["devices", "tenants", "remaining", "active-devices", "firmware-updates"]
            ],
            ["3", "2", "996", "15", "4"],
        )
        self.assertIn("generated 2026-05-06 00:10 UTC", page.locator(".period-banner").inner_text())

        with page.expect_download() as download:
            page.get_by_role("link", name="Active devices report (.csv.gz)").click()
        path = Path(download.value.path())
        rows = gzip.decompress(path.read_bytes()).decode().splitlines()
        self.assertEqual(download.value.suggested_filename, "active-devices-2026-04-globex.csv.gz")
        self.assertEqual((rows[0], len(rows)), ("account_id,timestamp,device_id,endpoint_name", 16))

        current = Month.of(timezone.now())
        page.select_option("#id_month", str(current))
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(f"**/billing/?month={current}")
        self.assertIn("LIVE", page.locator(".period-banner").inner_text())
        self.assertEqual(self.figure("active-devices"), "0")
        self.assertIn("The downloads appear when the month's report is generated", page.content())

    def test_the_tenant_pane_and_its_tabs(self) -> None:
        page = self.page
        self.sign_in()
        page.goto(f"{self.live_server_url}/billing/usage-reports/?month=2026-04")
        names = page.locator("#usage-reports tbody td:first-child").all_inner_texts()
        self.assertEqual(names, ["Globex Devices (you)", "Lumen Lighting", "Metro Transit"])

        page.locator("a.tenant-link", has_text="Metro Transit").click()
        pane = page.locator("#tenant-pane")
        pane.wait_for()
        self.assertEqual(pane.locator("#tenant-pane-title").inner_text(), "Metro Transit")
        panes = {
            "summary": "Metro Transit Authority",
            "billing": "Aggregated monthly usage",
            "quota": "Bus gateways 3.1",
            "attributes": f'"id": "{self.metro.uuid}"',
        }
        labels = {
            "summary": "Summary",
            "billing": "Billing details",
            "quota": "Quota history",
            "attributes": "Attributes",
        }
        for key, text in panes.items():
            with self.subTest(tab=key):
                pane.get_by_role("tab", name=labels[key]).click()
                shown = pane.locator(f"#pane-{key}")
                shown.wait_for(state="visible")
                self.assertIn(text, shown.inner_text())
                hidden = [k for k in panes if k != key]
                self.assertEqual(
                    [pane.locator(f"#pane-{k}").is_visible() for k in hidden], [False] * 3
                )
        billing = pane.locator("#pane-billing")
        pane.get_by_role("tab", name="Billing details").click()
        self.assertEqual(billing.locator('[data-figure="active-devices"]').inner_text(), "5")
        self.assertIn("Device to service API calls", billing.inner_text())
        self.assertEqual(billing.locator('[data-figure="api-1"]').inner_text(), "120")

        pane.get_by_role("link", name="Close").click()
        page.wait_for_url("**/billing/usage-reports/?month=2026-04")
        self.assertEqual(page.locator("#tenant-pane").count(), 0)
