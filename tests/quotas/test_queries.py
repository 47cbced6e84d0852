"""Listings of several update campaigns take a pinned number of queries, however many campaigns
there are: campaign names, accounts and spent tokens are read with the rows, never one by one."""

from django.urls import reverse

from accounts.models import ApiKeyRole
from quotas.services.campaigns import campaign_finish
from tests.base import BillingTestCase
from tests.factories import AccountFactory

from .factories import at, campaign, ingest, package, update

HISTORY_API = "/api/v1/service-packages/quota-history"
HISTORY_PAGE = reverse("quotas:package_history")
MONTH = "2026-04"


class CampaignListingQueryTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.second_tenant = AccountFactory(name="Alpha Second", slug="alpha-2", parent=cls.account)
        package(cls.account, 100, "2026-01-10 00:00:00")
        rollouts = [
            campaign(owner, name, 5, f"2026-04-{day:02d} 00:00:00")
            for day, (owner, name) in enumerate(
                [
                    (cls.tenant, "Tenant rollout"),
                    (cls.second_tenant, "Second rollout"),
                    (cls.account, "Own rollout"),
                    (cls.tenant, "Tenant hotfix"),
                ],
                start=5,
            )
        ]
        ingest(
            [
                update(cls.tenant, f"u{n}", f"t-{n}", rollouts[0], f"2026-04-06 0{n}:00:00")
                for n in range(3)
            ]
        )
        for finished in rollouts[:3]:
            campaign_finish(actor=None, campaign=finished, now=at("2026-04-20 00:00:00"))

    def test_the_quota_history_api_lists_every_campaign_in_three_queries(self) -> None:
        _, reader = self.make_key(ApiKeyRole.READ, self.account)
        url = f"{HISTORY_API}?month={MONTH}"
        self.api("get", url, reader)  # records the key's first use
        # The key, the account, the ledger with its campaigns and running balance.
        with self.assertNumQueries(3):
            response = self.api("get", url, reader)
        self.assertEqual(
            [(e["event_type"], e["campaign_name"]) for e in response.json()["entries"]],
            [
                ("reservation", "Tenant rollout"),
                ("reservation", "Second rollout"),
                ("reservation", "Own rollout"),
                ("reservation", "Tenant hotfix"),
                ("reservation_release", "Tenant rollout"),
                ("reservation_release", "Second rollout"),
                ("reservation_release", "Own rollout"),
            ],
        )

        # Two more campaigns are two more entries and not one more query.
        campaign(self.second_tenant, "Second hotfix", 3, "2026-04-25 00:00:00")
        campaign(self.account, "Own hotfix", 3, "2026-04-26 00:00:00")
        with self.assertNumQueries(3):
            response = self.api("get", url, reader)
        self.assertEqual(len(response.json()["entries"]), 9)

    def test_the_package_history_page_lists_every_campaign_in_a_fixed_number_of_queries(
        self,
    ) -> None:
        self.login(self.owner)
        self.client.get(HISTORY_PAGE, {"month": MONTH})
        # Two of them find the first month the picker offers (first package, first report).
        with self.assertNumQueries(16):
            response = self.client.get(HISTORY_PAGE, {"month": MONTH})
        self.assertEqual(response.status_code, 200)
        for name in ["Tenant rollout", "Second rollout", "Own rollout", "Tenant hotfix"]:
            self.assertContains(response, name)

        # Two more campaigns are two more rows and not one more query.
        campaign(self.second_tenant, "Second hotfix", 3, "2026-04-25 00:00:00")
        campaign(self.account, "Own hotfix", 3, "2026-04-26 00:00:00")
        with self.assertNumQueries(16):
            response = self.client.get(HISTORY_PAGE, {"month": MONTH})
        self.assertContains(response, "Own hotfix")
