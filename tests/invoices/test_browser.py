"""The Billing grid in a real Chromium, driven by Playwright against a live server: reach it from
the navigation, pick the days, change a filter, toggle monthly mode, open a row's details and
download the CSV."""

import csv
import io
from pathlib import Path

import pytest
from django.contrib.staticfiles.testing import StaticLiveServerTestCase

from accounts.models import AccountKind, Role
from tests.factories import AccountFactory, MembershipFactory, UserFactory

from ..metering.billing_world import billing_world


@pytest.fixture
def browser_page(request: pytest.FixtureRequest, page: object) -> None:
    request.instance.page = page


@pytest.mark.browser
@pytest.mark.usefixtures("browser_page")
class BillingGridInTheBrowserTests(StaticLiveServerTestCase):
    def setUp(self) -> None:
        super().setUp()
        platform = AccountFactory(name="Platform", slug="platform", kind=AccountKind.PLATFORM)
        self.alpha = AccountFactory(name="Alpha Devices", slug="alpha", parent=platform)
        self.tenant = AccountFactory(name="Alpha Tenant", slug="alpha-tenant", parent=self.alpha)
        outsider = AccountFactory(name="Outsider Co", slug="outsider", parent=platform)
        self.world = billing_world(self.alpha, self.tenant, outsider)
        owner = UserFactory(username="olivia")
        MembershipFactory(user=owner, account=self.alpha, role=Role.OWNER)

    def sign_in(self) -> None:
        self.page.goto(f"{self.live_server_url}/login/")
        self.page.fill("#id_username", "olivia")
        self.page.fill("#id_password", "test-password")
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{self.live_server_url}/")

    def rows(self) -> list[str]:
        return self.page.locator("#billing-rows tbody tr").all_inner_texts()

    def test_filter_toggle_details_and_download(self) -> None:
        page = self.page
        self.sign_in()
        page.get_by_role("button", name="Billing").click()
        page.get_by_role("link", name="Billing grid").click()
        page.get_by_role("heading", name="Billing grid").wait_for()

        page.fill("#id_start", "2026-05-01")
        page.fill("#id_end", "2026-05-31")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url("**/billing/grid/?*start=2026-05-01*")
        self.assertEqual(len(self.rows()), 6)
        self.assertEqual(page.locator('[data-figure="cost-EUR"]').inner_text(), "€20.00")
        # plotly.js drew the server's figure.
        page.locator("#chart-EUR .main-svg").first.wait_for()

        page.select_option("#id_tenant", label="Alpha Tenant")
        page.wait_for_url(f"**tenant={self.tenant.uuid}*")
        self.assertEqual(len(self.rows()), 2)
        self.assertEqual(page.locator('[data-figure="cost-EUR"]').inner_text(), "€2.00")

        page.get_by_role("link", name="Monthly").click()
        page.wait_for_url("**mode=monthly*")
        self.assertIn("month=2026-05", page.url)
        self.assertEqual(page.locator("#id_month").input_value(), "2026-05")
        self.assertEqual(len(self.rows()), 2)
        self.assertIn("May 2026", self.rows()[0])

        page.get_by_role("link", name="Daily").click()
        page.wait_for_url("**mode=daily*")
        page.locator("#billing-rows tbody tr", has_text="vm-t1").get_by_role(
            "link", name="Details"
        ).click()
        page.locator("#pricing").wait_for()
        self.assertIn("Tenant hosting", page.locator("#hosting").inner_text())
        self.assertIn("0.50 EUR per vCPU-hour", page.locator("#pricing").inner_text())
        page.go_back()

        with page.expect_download() as download:
            page.get_by_role("link", name="Download CSV").click()
        self.assertRegex(
            download.value.suggested_filename,
            r"^billing-alpha-devices-2026-05-01-2026-05-31-daily-[\d-]+\.csv$",
        )
        text = Path(download.value.path()).read_text()
        rows = list(csv.reader(io.StringIO(text)))
        self.assertEqual(len(rows), 3)
        self.assertEqual({r[1] for r in rows[1:]}, {"Alpha Tenant"})
