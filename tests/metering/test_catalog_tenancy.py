"""Subscriptions and assets through the API: the platform creates subscriptions, everyone reads
only what belongs to accounts it may see (another tenant's is a 404, also when a filter names
it), and an unassigned asset is assigned by the platform or its sending account's admins.
Plus the site-wide billing settings: the platform changes them, services read them."""

import uuid

from django.urls import reverse

from accounts.models import ApiKeyRole, AuditEvent, BillingSettings, Role
from metering.catalog_api import ERR_ACCOUNT, ERR_ASSIGN, ERR_CLIENT
from metering.catalog_serializers import ERR_PLATFORM
from metering.models import Asset, Subscription
from tests.factories import AssetFactory, MembershipFactory, SubscriptionFactory, UserFactory
from tests.metering.test_catalog_api import CatalogCase

SUBSCRIPTIONS = reverse("api-subscriptions")
ASSETS = reverse("api-assets")
SETTINGS = reverse("api-billing-settings")


def subscription_url(subscription: Subscription) -> str:
    return reverse("api-subscription", args=[subscription.uuid])


def asset_url(asset: Asset) -> str:
    return reverse("api-asset", args=[asset.uuid])


class SubscriptionTests(CatalogCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.mine = SubscriptionFactory(
            external_id="sub-a", account=cls.tenant, region="west", platform="azure_stack"
        )
        cls.theirs = SubscriptionFactory(
            external_id="sub-o", account=cls.outsider_account, region="east", platform="cloudstack"
        )
        _, cls.outsider_key = cls.make_key(ApiKeyRole.READ, cls.outsider_account)

    def payload(self, **overrides: object) -> dict:
        return {
            "external_id": "4f1c-77",
            "name": "Tenant production",
            "account": str(self.tenant.uuid),
            "region": "west",
            "platform": "azure_local",
            **overrides,
        }

    def external_ids(self, response: object) -> list[str]:
        self.assertEqual(response.status_code, 200)
        return [s["external_id"] for s in response.json()["results"]]

    def test_admin_key_creates_a_subscription(self) -> None:
        response = self.api("post", SUBSCRIPTIONS, self.admin, self.payload())
        self.assertEqual(response.status_code, 201)
        created = Subscription.objects.get(external_id="4f1c-77")
        body = response.json()
        self.assertEqual(
            {k: v for k, v in body.items() if k != "created_at"},
            {
                "id": str(created.uuid),
                "external_id": "4f1c-77",
                "name": "Tenant production",
                "account": str(self.tenant.uuid),
                "account_name": "Alpha Tenant",
                "region": "west",
                "platform": "azure_local",
            },
        )
        self.assertTrue(
            AuditEvent.objects.filter(
                object_type="metering.subscription", account=self.tenant
            ).exists()
        )

    def test_the_same_external_id_on_another_platform_is_another_subscription(self) -> None:
        response = self.api("post", SUBSCRIPTIONS, self.admin, self.payload(external_id="sub-a"))
        self.assertEqual(response.status_code, 201)

    def test_bad_input_is_400_and_writes_nothing(self) -> None:
        unknown = str(uuid.uuid4())
        cases = [
            (
                {"external_id": "sub-a", "platform": "azure_stack"},
                {
                    "external_id": [
                        "A subscription with the external id 'sub-a' exists on azure_stack."
                    ]
                },
            ),
            ({"account": unknown}, {"account": [ERR_ACCOUNT]}),
            ({"account": "tenant"}, {"account": ["Must be a valid UUID."]}),
            ({"platform": "aws"}, {"platform": [ERR_PLATFORM]}),
            ({"name": ""}, {"name": ["This field may not be blank."]}),
            (
                {"external_id": "x" * 201},
                {"external_id": ["Ensure this field has no more than 200 characters."]},
            ),
        ]
        before = (Subscription.objects.count(), AuditEvent.objects.count())
        for overrides, errors in cases:
            with self.subTest(overrides=overrides):
                response = self.api("post", SUBSCRIPTIONS, self.admin, self.payload(**overrides))
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json(), errors)
        self.assertEqual((Subscription.objects.count(), AuditEvent.objects.count()), before)

    def test_only_the_platform_creates_subscriptions(self) -> None:
        for key in (self.service, self.finance, self.read, self.ingest):
            with self.subTest(key=key[:11]):
                self.assertRefused(self.api("post", SUBSCRIPTIONS, key, self.payload()), 403)
        self.login(self.owner)
        self.assertRefused(self.api("post", SUBSCRIPTIONS, data=self.payload()), 403)
        self.client.logout()
        self.assertRefused(self.api("post", SUBSCRIPTIONS, data=self.payload()), 401)
        self.assertEqual(Subscription.objects.count(), 2)

    def test_each_caller_lists_what_it_may_see(self) -> None:
        self.assertEqual(
            self.external_ids(self.api("get", SUBSCRIPTIONS, self.admin)), ["sub-a", "sub-o"]
        )
        self.assertEqual(
            self.external_ids(self.api("get", SUBSCRIPTIONS, self.service)), ["sub-a", "sub-o"]
        )
        self.assertEqual(self.external_ids(self.api("get", SUBSCRIPTIONS, self.read)), ["sub-a"])
        self.assertEqual(
            self.external_ids(self.api("get", SUBSCRIPTIONS, self.outsider_key)), ["sub-o"]
        )
        self.login(self.teammate)
        self.assertEqual(self.external_ids(self.api("get", SUBSCRIPTIONS)), ["sub-a"])
        self.assertRefused(self.api("get", SUBSCRIPTIONS, self.ingest), 403)

    def test_filters(self) -> None:
        def listed(query: str, key: str = self.admin) -> list[str]:
            return self.external_ids(self.api("get", f"{SUBSCRIPTIONS}?{query}", key))

        self.assertEqual(listed(f"account={self.tenant.uuid}"), ["sub-a"])
        self.assertEqual(listed("platform=cloudstack"), ["sub-o"])
        self.assertEqual(listed("region=west"), ["sub-a"])
        self.assertEqual(listed(f"account={self.account.uuid}", self.read), [])
        response = self.api("get", f"{SUBSCRIPTIONS}?platform=aws", self.admin)
        self.assertEqual(
            (response.status_code, response.json()), (400, {"platform": [ERR_PLATFORM]})
        )
        response = self.api("get", f"{SUBSCRIPTIONS}?account=nope", self.admin)
        self.assertEqual(response.status_code, 400)

    def test_a_filter_naming_another_tenants_account_is_a_404(self) -> None:
        for account in (self.outsider_account, self.platform):
            response = self.api("get", f"{SUBSCRIPTIONS}?account={account.uuid}", self.read)
            self.assertRefused(response, 404)
        response = self.api("get", f"{SUBSCRIPTIONS}?account={uuid.uuid4()}", self.admin)
        self.assertRefused(response, 404)

    def test_detail_is_scoped(self) -> None:
        response = self.api("get", subscription_url(self.mine), self.read)
        self.assertEqual(response.json()["external_id"], "sub-a")
        self.assertEqual(
            self.api("get", subscription_url(self.theirs), self.service).status_code, 200
        )
        self.assertRefused(self.api("get", subscription_url(self.theirs), self.read), 404)
        self.login(self.outsider)
        self.assertRefused(self.api("get", subscription_url(self.mine)), 404)
        self.client.logout()
        self.assertRefused(self.api("get", subscription_url(self.mine)), 401)
        missing = reverse("api-subscription", args=[uuid.uuid4()])
        self.assertRefused(self.api("get", missing, self.admin), 404)


class AssetTests(CatalogCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        # Sent by the aggregator: one billed to its tenant, one waiting for a client.
        cls.billed = AssetFactory(account=cls.account, client=cls.tenant, asset_id="vm-1")
        cls.waiting = AssetFactory(account=cls.account, client=None, asset_id="vm-2")
        cls.foreign = AssetFactory(account=cls.outsider_account, asset_id="vm-9")
        cls.tenant_user = UserFactory(username="tenant-user")
        MembershipFactory(user=cls.tenant_user, account=cls.tenant, role=Role.OWNER)
        cls.account_admin = UserFactory(username="account-admin")
        MembershipFactory(user=cls.account_admin, account=cls.account, role=Role.ADMIN)

    def asset_ids(self, response: object) -> list[str]:
        self.assertEqual(response.status_code, 200)
        return [a["asset_id"] for a in response.json()["results"]]

    def test_an_asset_as_the_api_shows_it(self) -> None:
        body = self.api("get", asset_url(self.waiting), self.read).json()
        self.assertEqual(
            body,
            {
                "id": str(self.waiting.uuid),
                "asset_id": "vm-2",
                "account": str(self.account.uuid),
                "client": None,
                "source": "",
                "description": "",
                "first_seen_at": "2026-01-01T00:00:00Z",
                "last_seen_at": "2026-01-01T00:00:00Z",
                "status": "unassigned",
            },
        )

    def test_visible_through_the_client_or_the_sender(self) -> None:
        self.assertEqual(
            self.asset_ids(self.api("get", ASSETS, self.admin)), ["vm-1", "vm-2", "vm-9"]
        )
        self.assertEqual(
            self.asset_ids(self.api("get", ASSETS, self.service)), ["vm-1", "vm-2", "vm-9"]
        )
        self.assertEqual(self.asset_ids(self.api("get", ASSETS, self.read)), ["vm-1", "vm-2"])
        self.login(self.tenant_user)
        response = self.api("get", ASSETS)
        self.assertEqual(self.asset_ids(response), ["vm-1"])
        # The tenant may not see the aggregator that sends the usage: its id is not shown.
        self.assertEqual(
            (response.json()["results"][0]["account"], response.json()["results"][0]["client"]),
            (None, str(self.tenant.uuid)),
        )
        self.assertRefused(self.api("get", asset_url(self.waiting)), 404)

    def test_a_client_the_sender_may_not_see_is_not_named(self) -> None:
        Asset.objects.filter(pk=self.waiting.pk).update(client=self.outsider_account)
        body = self.api("get", asset_url(self.waiting), self.read).json()
        self.assertEqual(
            (body["account"], body["client"], body["status"]),
            (str(self.account.uuid), None, "assigned"),
        )

    def test_filters(self) -> None:
        self.assertEqual(
            self.asset_ids(self.api("get", f"{ASSETS}?unassigned=true", self.read)), ["vm-2"]
        )
        self.assertEqual(
            self.asset_ids(self.api("get", f"{ASSETS}?unassigned=false", self.read)), ["vm-1"]
        )
        self.assertEqual(
            self.asset_ids(self.api("get", f"{ASSETS}?client={self.tenant.uuid}", self.read)),
            ["vm-1"],
        )
        self.assertEqual(
            self.api("get", f"{ASSETS}?unassigned=perhaps", self.read).status_code, 400
        )
        outsider = f"{ASSETS}?client={self.outsider_account.uuid}"
        self.assertRefused(self.api("get", outsider, self.read), 404)

    def test_outsiders_get_404_and_ingest_keys_403(self) -> None:
        self.login(self.outsider)
        for asset in (self.billed, self.waiting):
            self.assertRefused(self.api("get", asset_url(asset)), 404)
            self.assertRefused(
                self.api(
                    "patch", asset_url(asset), data={"client": str(self.outsider_account.uuid)}
                ),
                404,
            )
        self.client.logout()
        self.assertRefused(self.api("get", ASSETS, self.ingest), 403)
        self.assertRefused(self.api("get", ASSETS), 401)
        self.assertIsNone(Asset.objects.get(pk=self.waiting.pk).client)

    def test_the_sending_accounts_admin_assigns_a_client_and_it_is_audited(self) -> None:
        self.login(self.account_admin)
        response = self.api(
            "patch", asset_url(self.waiting), data={"client": str(self.tenant.uuid)}
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            (response.json()["client"], response.json()["status"]),
            (str(self.tenant.uuid), "assigned"),
        )
        event = AuditEvent.objects.get(object_type="metering.asset")
        self.assertEqual(
            (event.old_values["client_id"], event.new_values["client_id"]), (None, self.tenant.pk)
        )

    def test_the_platform_assigns_any_client(self) -> None:
        response = self.api(
            "patch",
            asset_url(self.waiting),
            self.admin,
            {"client": str(self.outsider_account.uuid)},
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(Asset.objects.get(pk=self.waiting.pk).client, self.outsider_account)

    def test_others_who_see_the_asset_may_not_assign_it(self) -> None:
        data = {"client": str(self.tenant.uuid)}
        for key in (self.service, self.finance, self.read):
            with self.subTest(key=key[:11]):
                response = self.api("patch", asset_url(self.waiting), key, data)
                self.assertRefused(response, 403)
        self.login(self.teammate)
        self.assertJsonDetail(
            self.api("patch", asset_url(self.waiting), data=data), 403, ERR_ASSIGN
        )
        self.login(self.tenant_user)
        self.assertRefused(self.api("patch", asset_url(self.billed), data=data), 403)
        self.assertIsNone(Asset.objects.get(pk=self.waiting.pk).client)
        self.assertFalse(AuditEvent.objects.filter(object_type="metering.asset").exists())

    def assertJsonDetail(self, response: object, status: int, detail: str) -> None:
        self.assertRefused(response, status)
        self.assertEqual(response.json()["detail"], detail)

    def test_a_client_the_caller_may_not_see_or_bad_input_is_a_400(self) -> None:
        self.login(self.account_admin)
        for client, errors in [
            (str(self.outsider_account.uuid), {"client": [ERR_CLIENT]}),
            (str(uuid.uuid4()), {"client": [ERR_CLIENT]}),
            ("tenant", {"client": ["Must be a valid UUID."]}),
            (None, {"client": ["This field may not be null."]}),
        ]:
            with self.subTest(client=client):
                response = self.api("patch", asset_url(self.waiting), data={"client": client})
                self.assertEqual((response.status_code, response.json()), (400, errors))
        self.assertIsNone(Asset.objects.get(pk=self.waiting.pk).client)


class BillingSettingsTests(CatalogCase):
    def test_admin_changes_a_setting_and_it_is_audited(self) -> None:
        response = self.api("patch", SETTINGS, self.admin, {"use_overlap_usage_selection": True})
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(
            (body["use_overlap_usage_selection"], body["default_billing_aggregation_monthly"]),
            (True, False),
        )
        self.assertTrue(BillingSettings.load().use_overlap_usage_selection)
        event = AuditEvent.objects.get(object_type="accounts.billingsettings")
        self.assertEqual(
            (event.action, event.old_values, event.new_values),
            (
                "update",
                {
                    "use_overlap_usage_selection": False,
                    "updated_at": event.old_values["updated_at"],
                },
                {"use_overlap_usage_selection": True, "updated_at": event.new_values["updated_at"]},
            ),
        )
        again = self.api("patch", SETTINGS, self.admin, {"use_overlap_usage_selection": True})
        self.assertEqual(again.status_code, 200)
        self.assertEqual(
            AuditEvent.objects.filter(object_type="accounts.billingsettings").count(), 1
        )

    def test_staff_changes_them_and_services_read_them(self) -> None:
        self.login(self.staff)
        data = {"default_billing_aggregation_monthly": True}
        self.assertEqual(self.api("patch", SETTINGS, data=data).status_code, 200)
        self.client.logout()
        body = self.api("get", SETTINGS, self.service).json()
        self.assertEqual(body["default_billing_aggregation_monthly"], True)
        self.assertEqual(self.api("get", SETTINGS, self.admin).status_code, 200)

    def test_others_are_refused(self) -> None:
        data = {"use_overlap_usage_selection": True}
        self.assertRefused(self.api("patch", SETTINGS, self.service, data), 403)
        for key in (self.finance, self.read, self.ingest):
            with self.subTest(key=key[:11]):
                self.assertRefused(self.api("get", SETTINGS, key), 403)
                self.assertRefused(self.api("patch", SETTINGS, key, data), 403)
        self.login(self.owner)
        self.assertRefused(self.api("get", SETTINGS), 403)
        self.client.logout()
        self.assertRefused(self.api("get", SETTINGS), 401)
        self.assertFalse(BillingSettings.load().use_overlap_usage_selection)

    def test_bad_input_is_400(self) -> None:
        response = self.api(
            "patch", SETTINGS, self.admin, {"use_overlap_usage_selection": "perhaps"}
        )
        self.assertEqual(
            (response.status_code, response.json()),
            (400, {"use_overlap_usage_selection": ["Must be a valid boolean."]}),
        )
        self.assertFalse(BillingSettings.load().use_overlap_usage_selection)
