"""The billing pages: My billing, Active devices, Service package history and Usage reports with
the tenant pane. Exact figures and rows, CSV downloads with the filters applied, and tenancy:
an outsider gets 404, a tenant never sees a sibling, an aggregator sees its tenants."""

import gzip
from datetime import timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AccountKind, Role
from accounts.navigation import visible_navigation
from accounts.roles import Capability
from metering.months import Month, report_available_on
from quotas.services.packages import package_create, packages_expire
from quotas.services.reports import usage_reports_run
from quotas.urls import urlpatterns as billing_urls
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.moments import LAST_SECOND_OF_A_MONTH

from .factories import at, ingest
from .factories import connection as connection_event
from .pages import csv_text, figures, table_rows
from .world import APRIL, UsageReportWorld

MY_BILLING = reverse("quotas:my_billing")
HISTORY = reverse("quotas:package_history")
REPORTS = reverse("quotas:usage_reports")
DEVICES = reverse("quotas:active_devices")


def assert_queries_flat(test: UsageReportWorld, url: str, params: dict) -> None:
    """The page takes as many queries with three more tenants (with live usage) as before."""
    test.login(test.owner)
    test.client.get(url, params)
    with CaptureQueriesContext(connection) as before:
        test.assertEqual(test.client.get(url, params).status_code, 200)
    now = timezone.now().strftime("%Y-%m-%d %H:%M:%S")
    for n in range(3):
        extra = AccountFactory(name=f"Extra {n}", slug=f"extra-{n}", parent=test.account)
        ingest([connection_event(extra, f"x{n}", f"d{n}", now)])
    with CaptureQueriesContext(connection) as after:
        response = test.client.get(url, params)
    test.assertContains(response, "Extra 2")
    test.assertEqual(len(after), len(before))


class PagesWorld(UsageReportWorld):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        usage_reports_run(now=at("2026-05-05 00:10:00"))

    def download(self, account, kind: str, month: str = APRIL):
        url = reverse(
            "quotas:report_download",
            kwargs={"account_id": account.uuid, "month": month, "kind": kind},
        )
        return self.client.get(url)


# The live month is the clock's: its last second, standing still, so a test that reads the clock
# and then a page that reads it again see the same month whenever the suite runs.
@time_machine.travel(LAST_SECOND_OF_A_MONTH, tick=False)
class MyBillingTests(PagesWorld):
    def test_a_generated_month_shows_the_snapshot_of_the_account_and_its_tenants(self) -> None:
        response = self.login(self.owner).get(MY_BILLING, {"month": APRIL})
        self.assertEqual(response.status_code, 200)
        shown = figures(response)
        self.assertEqual(
            {k: shown[k] for k in ["devices", "transactions", "tenants", "remaining", "started"]},
            {
                "devices": "2",
                "transactions": "0",
                "tenants": "2",
                "remaining": "98",
                "started": "10 Jan 2026",
            },
        )
        self.assertEqual(
            {
                k: shown[k]
                for k in ["business-model", "active-devices", "firmware-updates", "expires"]
            },
            {
                "business-model": "Active devices",
                "active-devices": "4",
                "firmware-updates": "2",
                "expires": "10 Jan 2027",
            },
        )
        self.assertContains(response, "generated 2026-05-05 00:10 UTC")
        download = reverse(
            "quotas:report_download",
            kwargs={"account_id": self.account.uuid, "month": APRIL, "kind": "active-devices"},
        )
        self.assertContains(response, f'href="{download}" download>Active devices report')
        # The API-call breakdown belongs to the API-calls business model only.
        self.assertNotContains(response, "Device to service API calls")

    def test_the_api_calls_model_lists_each_total_and_its_events(self) -> None:
        from accounts.services import account_update

        # The report keeps the business model it was generated with: change it, then look at
        # a live month where the current model applies.
        account_update(actor=None, account=self.account, business_model="api_calls")
        response = self.login(self.owner).get(MY_BILLING, {"month": APRIL})
        self.assertNotContains(response, "Device to service API calls")
        now = timezone.now()
        ingest(
            [
                {
                    "event_id": "live-call",
                    "type": "api_call",
                    "account": str(self.account.uuid),
                    "category": "device_to_service",
                    "event": "notification",
                    "count": 7,
                    "timestamp": now.isoformat(),
                }
            ]
        )
        live = self.client.get(MY_BILLING, {"month": str(Month.of(now))})
        self.assertContains(live, "Device to service API calls")
        self.assertEqual(figures(live)["api-1"], "7")
        self.assertEqual(figures(live)["transactions"], "7")
        self.assertContains(
            live, '<code>notification</code> <span class="num">7</span>', html=False
        )

    def test_the_current_month_is_live(self) -> None:
        now = timezone.now()
        ingest([connection_event(self.tenant, "now-1", "t-9", now.strftime("%Y-%m-%d %H:%M:%S"))])
        response = self.login(self.owner).get(MY_BILLING, {"month": str(Month.of(now))})
        self.assertContains(response, "LIVE")
        self.assertContains(response, "so far")
        self.assertEqual(figures(response)["active-devices"], "1")
        self.assertNotContains(response, "Active devices report (.csv.gz)")

    def test_before_its_report_exists_a_month_says_when_it_will_be(self) -> None:
        previous = Month.of(timezone.now()).previous()
        response = self.login(self.owner).get(MY_BILLING)  # the previous month by default
        day = report_available_on(previous)
        self.assertContains(response, f"The usage report for {previous.label}")
        self.assertContains(response, day.strftime("%A %-d %B %Y"))
        self.assertContains(response, "provisional")
        self.assertNotContains(response, "Active devices report (.csv.gz)")
        self.assertEqual(
            self.download(self.account, "active-devices", str(previous)).status_code, 404
        )

    def test_expiry_warning_from_three_months_before(self) -> None:
        now = timezone.now()
        for slug, started_days_ago, warned in [("fresh", 30, False), ("ageing", 300, True)]:
            with self.subTest(package_age=started_days_ago):
                owner = UserFactory(username=f"{slug}-owner")
                account = AccountFactory(name=slug.title(), slug=slug)
                MembershipFactory(user=owner, account=account, role=Role.OWNER)
                package_create(
                    actor=None,
                    account=account,
                    tokens=50,
                    starts_at=now - timedelta(days=started_days_ago),
                )
                response = self.login(owner).get(MY_BILLING)
                self.assertEqual("expiry-warning" in response.content.decode(), warned)

    def test_an_expired_package_says_so(self) -> None:
        owner = UserFactory(username="late-owner")
        account = AccountFactory(name="Late", slug="late")
        MembershipFactory(user=owner, account=account, role=Role.OWNER)
        started = timezone.now() - timedelta(days=400)
        package_create(actor=None, account=account, tokens=50, starts_at=started, now=started)
        packages_expire()
        response = self.login(owner).get(MY_BILLING, {"month": str(Month.of(timezone.now()))})
        self.assertContains(response, "The service package expired")
        self.assertEqual(figures(response)["remaining"], "0")

    def test_an_account_newer_than_the_generated_month_is_not_offered_it(self) -> None:
        owner = UserFactory(username="newcomer")
        newcomer = AccountFactory(name="Newcomer", slug="newcomer")
        MembershipFactory(user=owner, account=newcomer, role=Role.OWNER)
        current = Month.of(timezone.now())
        response = self.login(owner).get(MY_BILLING, {"month": APRIL})
        self.assertContains(
            response,
            "Newcomer has no usage report for 2026-04: the month&#x27;s reports were generated "
            f"on 2026-05-05, before the account existed. Showing {current.label} instead.",
        )
        self.assertContains(response, f'<option value="{current}" selected>')
        self.assertEqual(figures(response)["active-devices"], "0")

    def test_without_a_package(self) -> None:
        response = self.login(self.outsider).get(MY_BILLING, {"month": APRIL})
        self.assertContains(response, "No service package at the end of April 2026")

    def test_an_account_without_tenants_says_so_instead_of_naming_them(self) -> None:
        response = self.login(self.outsider).get(MY_BILLING, {"month": APRIL})
        self.assertContains(response, '<div class="text-secondary">Outsider Co · the usage')
        self.assertContains(response, "No tenants in April 2026")
        self.assertContains(response, "Outsider Co only.")
        self.assertContains(response, "contact your administrator about anything you see here.")
        self.assertNotContains(response, "tenants ·")
        self.assertNotContains(response, "View tenants")
        owner = self.login(self.owner).get(MY_BILLING, {"month": APRIL})
        self.assertContains(owner, "Alpha Devices and all its tenants · the usage")
        self.assertContains(owner, "Alpha Devices and its 2 tenants.")

    def test_downloads_are_the_generated_gzipped_csv_files(self) -> None:
        self.login(self.owner)
        response = self.download(self.account, "firmware-updates")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/gzip")
        self.assertEqual(
            response["Content-Disposition"],
            'attachment; filename="firmware-updates-2026-04-alpha.csv.gz"',
        )
        text = gzip.decompress(b"".join(response.streaming_content)).decode()
        self.assertEqual(
            text.splitlines()[0], "account_id,timestamp,campaign_name,device_id,endpoint_name"
        )
        self.assertEqual(len(text.splitlines()), 3)
        tenant_file = gzip.decompress(
            b"".join(self.download(self.tenant, "active-devices").streaming_content)
        )
        self.assertEqual(tenant_file.decode().count("\r\n"), 2)

    def test_a_tenant_sees_its_own_billing_and_the_package_it_uses(self) -> None:
        response = self.login(self.tenant_user).get(MY_BILLING, {"month": APRIL})
        shown = figures(response)
        self.assertEqual((shown["devices"], shown["tenants"], shown["remaining"]), ("1", "0", "98"))
        self.assertEqual((shown["active-devices"], shown["firmware-updates"]), ("1", "2"))
        self.assertContains(response, "Uses the package of Alpha Devices")
        self.assertNotContains(response, "Beta Tenant")
        self.assertEqual(self.download(self.sibling, "active-devices").status_code, 404)
        self.assertEqual(self.download(self.account, "active-devices").status_code, 404)
        self.assertEqual(self.download(self.tenant, "active-devices").status_code, 200)

    def test_the_outsider_gets_404_for_everything_of_alpha(self) -> None:
        self.login(self.outsider)
        own = self.client.get(MY_BILLING, {"month": APRIL})
        self.assertEqual(own.status_code, 200)
        self.assertEqual(figures(own)["devices"], "1")
        self.assertNotContains(own, "Alpha")
        for account in [self.account, self.tenant]:
            self.assertEqual(self.download(account, "active-devices").status_code, 404)
        self.assertEqual(self.download(self.outsider_account, "bogus").status_code, 404)

    def test_the_read_only_teammate_may_read_and_a_user_without_account_may_not(self) -> None:
        self.assertEqual(self.login(self.teammate).get(MY_BILLING).status_code, 200)
        nobody = UserFactory(username="nobody")
        self.login(nobody)
        for url in [MY_BILLING, HISTORY, REPORTS, DEVICES]:
            with self.subTest(url=url):
                self.assertEqual(self.client.get(url).status_code, 403)

    def test_query_count_does_not_grow_with_tenants(self) -> None:
        assert_queries_flat(self, MY_BILLING, {"month": str(Month.of(timezone.now()))})


class PlatformBillingTests(PagesWorld):
    """Staff at the platform root: the accounts billed below it are customers, whatever the
    distributors and partners between."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        distributor = AccountFactory(
            name="Dist", slug="dist", kind=AccountKind.DISTRIBUTOR, parent=cls.platform
        )
        partner = AccountFactory(
            name="Partner", slug="partner", kind=AccountKind.PARTNER, parent=distributor
        )
        AccountFactory(name="Partner Customer", slug="partner-customer", parent=partner)
        Account.objects.update(created_at=at("2026-01-01 00:00:00"))
        usage_reports_run(now=at("2026-06-04 00:10:00"))  # May 2026, with the new accounts

    def test_staff_count_the_customers_below_the_platform(self) -> None:
        self.login(self.staff)
        for month in ["2026-05", str(Month.of(timezone.now()))]:
            with self.subTest(month=month):
                response = self.client.get(MY_BILLING, {"month": month})
                self.assertEqual(figures(response)["tenants"], "5")
                self.assertContains(response, '<div class="label">Customers</div>')
                self.assertContains(response, "Platform and its 5 customers.")
                self.assertContains(response, "Platform and all its customers · the usage")
                self.assertContains(response, "Platform only, without its customers.")
                self.assertContains(response, "your administrator or your customers about")
        reports = self.client.get(REPORTS, {"month": "2026-05"})
        self.assertEqual(figures(reports)["listed"], "5")
        self.assertContains(reports, '<div class="label">Customers</div>')


class PackageHistoryTests(PagesWorld):
    def test_the_month_ledger_with_its_effect_and_remaining_quota(self) -> None:
        response = self.login(self.owner).get(HISTORY, {"month": APRIL})
        self.assertEqual(
            table_rows(response),
            [
                [
                    "2026-04-05 00:00",
                    "Reservation",
                    "April rollout",
                    "Alpha Tenant",
                    "-10",
                    "90",
                    "10 devices",
                ],
                [
                    "2026-04-10 00:00",
                    "Reservation release",
                    "April rollout",
                    "Alpha Tenant",
                    "+8",
                    "98",
                    "2 of 10 tokens spent",
                ],
                [
                    "2026-04-20 00:00",
                    "Reservation",
                    "Beta trial",
                    "Beta Tenant",
                    "-5",
                    "93",
                    "5 devices",
                ],
                [
                    "2026-04-21 00:00",
                    "Reservation release",
                    "Beta trial",
                    "Beta Tenant",
                    "+5",
                    "98",
                    "0 of 5 tokens spent",
                ],
            ],
        )
        self.assertEqual(
            (figures(response)["opening"], figures(response)["closing"]), ("100", "98")
        )
        january = self.client.get(HISTORY, {"month": "2026-01"})
        self.assertEqual(
            table_rows(january),
            [
                [
                    "2026-01-10 00:00",
                    "Package creation",
                    "—",
                    "—",
                    "+100",
                    "100",
                    "100 tokens until 2027-01-10",
                ]
            ],
        )

    def test_search_by_campaign_or_event_type_and_csv_with_the_same_filters(self) -> None:
        self.login(self.owner)
        by_campaign = self.client.get(HISTORY, {"month": APRIL, "q": "beta"})
        self.assertEqual([r[2] for r in table_rows(by_campaign)], ["Beta trial", "Beta trial"])
        by_type = self.client.get(HISTORY, {"month": APRIL, "q": "release"})
        self.assertEqual([r[1] for r in table_rows(by_type)], ["Reservation release"] * 2)
        chosen = self.client.get(HISTORY, {"month": APRIL, "event_type": "reservation"})
        self.assertEqual([r[4] for r in table_rows(chosen)], ["-10", "-5"])
        csv = self.client.get(HISTORY, {"month": APRIL, "q": "beta", "export": "csv"})
        self.assertEqual(
            csv_text(csv),
            "When (UTC),Event type,Campaign,Account,Effect on quota,Remaining after,Detail\r\n"
            "2026-04-20T00:00:00Z,Reservation,Beta trial,Beta Tenant,-5,93,5 devices\r\n"
            "2026-04-21T00:00:00Z,Reservation release,Beta trial,Beta Tenant,5,98,"
            "0 of 5 tokens spent\r\n",
        )

    def test_a_tenant_sees_package_events_and_its_own_campaigns_only(self) -> None:
        self.login(self.tenant_user)
        april = self.client.get(HISTORY, {"month": APRIL})
        self.assertEqual([r[2] for r in table_rows(april)], ["April rollout", "April rollout"])
        self.assertNotContains(april, "Beta")
        january = self.client.get(HISTORY, {"month": "2026-01"})
        self.assertEqual([r[1] for r in table_rows(january)], ["Package creation"])

    def test_a_tenant_reads_whose_package_it_uses_in_the_possessive(self) -> None:
        response = self.login(self.tenant_user).get(HISTORY, {"month": APRIL})
        self.assertContains(
            response, "of Alpha Devices&#x27; service package (which Alpha Tenant uses)"
        )

    def test_the_outsider_sees_no_ledger_of_alpha(self) -> None:
        response = self.login(self.outsider).get(HISTORY, {"month": APRIL})
        self.assertEqual(
            table_rows(response), [["No quota events in this month for these filters."]]
        )


@time_machine.travel(LAST_SECOND_OF_A_MONTH, tick=False)
class UsageReportsPageTests(PagesWorld):
    maxDiff = None

    def test_the_aggregator_and_each_tenant_in_the_month(self) -> None:
        response = self.login(self.owner).get(REPORTS, {"month": APRIL})
        self.assertEqual(
            table_rows(response, "usage-reports"),
            [
                ["Alpha Devices (you)", "Alpha Devices Org", "Active devices", "2", "0", "10"],
                ["Alpha Tenant", "Alpha Tenant Org", "Active devices", "1", "2", "4"],
                ["Beta Tenant", "=Beta Org", "Active devices", "1", "0", "0"],
            ],
        )
        shown = figures(response)
        self.assertEqual(
            (shown["listed"], shown["total-devices"], shown["total-updates"], shown["total-calls"]),
            ("2", "4", "2", "14"),
        )

    def test_search_and_csv_with_the_filters_applied(self) -> None:
        self.login(self.owner)
        found = self.client.get(REPORTS, {"month": APRIL, "q": "beta org"})
        self.assertEqual([r[0] for r in table_rows(found, "usage-reports")], ["Beta Tenant"])
        csv = self.client.get(REPORTS, {"month": APRIL, "q": "tenant", "export": "csv"})
        self.assertEqual(
            csv_text(csv),
            "Team name,Organization,Business model,Active devices,Firmware updates,API calls,"
            "Account ID\r\n"
            f"Alpha Tenant,Alpha Tenant Org,Active devices,1,2,4,{self.tenant.uuid}\r\n"
            f"Beta Tenant,'=Beta Org,Active devices,1,0,0,{self.sibling.uuid}\r\n",
        )

    def test_a_tenant_is_listed_in_a_month_its_aggregator_had_a_package(self) -> None:
        # February: no usage at all, but Alpha's package ran, so both tenants are listed.
        response = self.login(self.owner).get(REPORTS, {"month": "2026-02"})
        names = [r[0] for r in table_rows(response, "usage-reports")]
        self.assertEqual(names, ["Alpha Devices (you)", "Alpha Tenant", "Beta Tenant"])

    def test_the_tenant_pane_and_its_four_tabs(self) -> None:
        self.login(self.owner)
        base = {"month": APRIL, "tenant": str(self.tenant.uuid)}
        summary = self.client.get(REPORTS, base)
        self.assertContains(summary, 'id="tenant-pane"')
        self.assertEqual(
            (
                figures(summary)["pane-devices"],
                figures(summary)["pane-updates"],
                figures(summary)["pane-calls"],
            ),
            ("1", "2", "4"),
        )
        for tab in ["summary", "billing", "quota", "attributes"]:
            with self.subTest(tab=tab):
                response = self.client.get(REPORTS, {**base, "tab": tab})
                self.assertContains(response, f'id="tab-{tab}" data-bs-toggle="tab"')
                link = f"?month=2026-04&amp;tenant={self.tenant.uuid}&amp;tab={tab}"
                self.assertContains(response, f'class="nav-link active" href="{link}"')
        quota = self.client.get(REPORTS, {**base, "tab": "quota"})
        self.assertEqual(
            table_rows(quota, "pane-ledger"),
            [
                ["2026-04-05 00:00", "Reservation", "April rollout", "-10", "90", "10 devices"],
                [
                    "2026-04-10 00:00",
                    "Reservation release",
                    "April rollout",
                    "+8",
                    "98",
                    "2 of 10 tokens spent",
                ],
            ],
        )
        self.assertContains(quota, f"&quot;id&quot;: &quot;{self.tenant.uuid}&quot;")
        self.assertContains(quota, "&quot;organization&quot;: &quot;Alpha Tenant Org&quot;")

    def test_a_tenant_never_sees_a_sibling_and_the_outsider_gets_404(self) -> None:
        self.login(self.tenant_user)
        own = self.client.get(REPORTS, {"month": APRIL})
        self.assertEqual([r[0] for r in table_rows(own, "usage-reports")], ["Alpha Tenant (you)"])
        sibling = self.client.get(REPORTS, {"month": APRIL, "tenant": str(self.sibling.uuid)})
        self.assertEqual(sibling.status_code, 404)
        aggregator = self.client.get(REPORTS, {"month": APRIL, "tenant": str(self.account.uuid)})
        self.assertEqual(aggregator.status_code, 404)
        self.login(self.outsider)
        for raw in [str(self.tenant.uuid), "not-a-uuid"]:
            with self.subTest(tenant=raw):
                self.assertEqual(
                    self.client.get(REPORTS, {"month": APRIL, "tenant": raw}).status_code, 404
                )

    def test_query_count_does_not_grow_with_rows(self) -> None:
        assert_queries_flat(self, REPORTS, {"month": str(Month.of(timezone.now()))})


class ActiveDevicesPageTests(PagesWorld):
    def test_own_devices_then_with_tenants_and_csv(self) -> None:
        self.login(self.owner)
        own = self.client.get(DEVICES, {"month": APRIL})
        self.assertEqual(
            table_rows(own),
            [
                ["Alpha Devices", "a-1", "ep-a-1", "2026-04-01 00:00", "2026-04-20 00:00", "2"],
                ["Alpha Devices", "a-2", "ep-a-2", "2026-04-30 23:59", "2026-04-30 23:59", "1"],
            ],
        )
        tree = self.client.get(DEVICES, {"month": APRIL, "scope": "tree", "export": "csv"})
        self.assertEqual(
            csv_text(tree).splitlines()[1:],
            [
                "Beta Tenant,'=cmd,'@ep,2026-04-09T00:00:00Z,2026-04-09T00:00:00Z,1",
                "Alpha Devices,a-1,ep-a-1,2026-04-01T00:00:00Z,2026-04-20T00:00:00Z,2",
                "Alpha Devices,a-2,ep-a-2,2026-04-30T23:59:59Z,2026-04-30T23:59:59Z,1",
                "Alpha Tenant,t-1,ep-t1-first,2026-04-03T08:00:00Z,2026-04-04T08:00:00Z,2",
            ],
        )
        tenant = self.client.get(DEVICES, {"month": APRIL, "account": str(self.tenant.uuid)})
        self.assertEqual([r[1] for r in table_rows(tenant)], ["t-1"])

    def test_outsider_and_sibling_get_404(self) -> None:
        self.login(self.outsider)
        self.assertEqual(
            self.client.get(DEVICES, {"account": str(self.account.uuid)}).status_code, 404
        )
        self.login(self.tenant_user)
        self.assertEqual(
            self.client.get(DEVICES, {"account": str(self.sibling.uuid)}).status_code, 404
        )
        self.assertEqual(self.client.get(DEVICES, {"month": APRIL}).status_code, 200)


class BillingMenuTests(PagesWorld):
    def test_every_billing_page_is_in_the_billing_menu(self) -> None:
        [billing] = [
            section
            for section in visible_navigation(frozenset({Capability.READ}))
            if section["label"] == "Billing"
        ]
        pages = {f"quotas:{url.name}" for url in billing_urls if not url.pattern.converters}
        # The hosting Billing grid (invoices) sits in the same menu.
        self.assertEqual({item["name"] for item in billing["items"]}, pages | {"invoices:grid"})
        self.assertEqual(
            [item["label"] for item in billing["items"]],
            [
                "My billing",
                "Billing grid",
                "Active devices",
                "Usage reports",
                "Service package history",
            ],
        )
        response = self.login(self.teammate).get(MY_BILLING)
        self.assertContains(response, f'href="{DEVICES}">Active devices</a>')
