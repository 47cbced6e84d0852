"""An account's price plan: its own or its nearest ancestor's (`metering.plans`), set by the
platform on POST and PATCH /api/v1/accounts, answered by every account endpoint."""

import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, ApiKeyRole, AuditEvent
from metering.catalog_serializers import ERR_PLAN
from metering.models import AccountBilling
from metering.plans import effective_plan_ids, effective_plans, own_plans
from metering.services.catalog import account_billing_set
from tests.base import BillingTestCase
from tests.factories import AccountFactory, PricePlanFactory

ACCOUNTS = reverse("api-accounts")


def account_url(account: Account) -> str:
    return reverse("api-account", args=[account.uuid])


class EffectivePlanTests(BillingTestCase):
    """platform > alpha (aggregator) > alpha-tenant > sub-tenant; outsider beside alpha."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.sub_tenant = AccountFactory(name="Sub Tenant", parent=cls.tenant)
        cls.standard = PricePlanFactory(name="Standard")
        cls.special = PricePlanFactory(name="Special")

    def everyone(self) -> list[int]:
        return [
            a.id
            for a in (
                self.platform,
                self.account,
                self.tenant,
                self.sub_tenant,
                self.outsider_account,
            )
        ]

    def test_without_any_plan_every_account_has_none(self) -> None:
        self.assertEqual(effective_plans(self.everyone()), dict.fromkeys(self.everyone()))
        self.assertEqual(effective_plans([]), {})

    def test_the_nearest_plan_up_the_tree_wins(self) -> None:
        account_billing_set(actor=None, account=self.platform, price_plan=self.standard)
        account_billing_set(actor=None, account=self.account, price_plan=self.special)
        self.assertEqual(
            effective_plans(self.everyone()),
            {
                self.platform.id: self.standard,
                self.account.id: self.special,
                self.tenant.id: self.special,
                self.sub_tenant.id: self.special,
                self.outsider_account.id: self.standard,
            },
        )
        self.assertEqual(
            own_plans([self.account.id, self.tenant.id]),
            {self.account.id: self.special, self.tenant.id: None},
        )

    def test_an_own_plan_beats_the_ancestors_and_removing_it_inherits_again(self) -> None:
        account_billing_set(actor=None, account=self.account, price_plan=self.special)
        account_billing_set(actor=None, account=self.tenant, price_plan=self.standard)
        self.assertEqual(
            effective_plan_ids([self.tenant.id, self.sub_tenant.id]),
            {self.tenant.id: self.standard.id, self.sub_tenant.id: self.standard.id},
        )
        account_billing_set(actor=None, account=self.tenant, price_plan=None)
        self.assertEqual(effective_plans([self.sub_tenant.id]), {self.sub_tenant.id: self.special})

    def test_one_query_for_any_number_of_accounts(self) -> None:
        account_billing_set(actor=None, account=self.platform, price_plan=self.standard)
        with CaptureQueriesContext(connection) as queries:
            effective_plan_ids(self.everyone())
        self.assertEqual(len(queries), 1)


class AccountPlanApiTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        _, cls.admin = cls.make_key(ApiKeyRole.ADMIN)
        _, cls.service = cls.make_key(ApiKeyRole.SERVICE)
        _, cls.read = cls.make_key(ApiKeyRole.READ, cls.account)
        _, cls.finance = cls.make_key(ApiKeyRole.FINANCE, cls.account)
        cls.plan = PricePlanFactory(name="Standard")
        cls.other = PricePlanFactory(name="Special")

    def test_accounts_answer_their_own_and_effective_plan(self) -> None:
        account_billing_set(actor=None, account=self.account, price_plan=self.plan)
        tenant = self.api("get", account_url(self.tenant), self.read).json()
        self.assertEqual(
            (tenant["price_plan"], tenant["effective_price_plan"]), (None, str(self.plan.uuid))
        )
        listed = self.api("get", ACCOUNTS, self.read).json()["results"]
        self.assertEqual(
            [(a["name"], a["price_plan"], a["effective_price_plan"]) for a in listed],
            [
                ("Alpha Devices", str(self.plan.uuid), str(self.plan.uuid)),
                ("Alpha Tenant", None, str(self.plan.uuid)),
            ],
        )

    def test_the_list_reads_plans_once_a_page(self) -> None:
        AccountFactory.create_batch(5, parent=self.account)
        self.api("get", ACCOUNTS, self.admin)  # the key's first use of the minute is written
        with CaptureQueriesContext(connection) as few:
            self.api("get", ACCOUNTS, self.admin)
        AccountFactory.create_batch(20, parent=self.account)
        with CaptureQueriesContext(connection) as many:
            self.api("get", ACCOUNTS, self.admin)
        self.assertEqual(len(many), len(few))

    def test_admin_key_sets_and_clears_a_plan_and_each_change_is_audited(self) -> None:
        response = self.api(
            "patch", account_url(self.tenant), self.admin, {"price_plan": str(self.plan.uuid)}
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["price_plan"], str(self.plan.uuid))
        self.assertEqual(AccountBilling.objects.get(account=self.tenant).price_plan, self.plan)
        cleared = self.api("patch", account_url(self.tenant), self.admin, {"price_plan": None})
        self.assertEqual(
            (cleared.json()["price_plan"], cleared.json()["effective_price_plan"]), (None, None)
        )
        events = AuditEvent.objects.filter(object_type="metering.accountbilling").order_by("id")
        self.assertEqual(
            [(e.action, e.account_id, (e.new_values or {}).get("price_plan_id")) for e in events],
            [("create", self.tenant.id, self.plan.id), ("update", self.tenant.id, None)],
        )

    def test_patch_changes_the_accounts_own_fields_too(self) -> None:
        self.login(self.staff)
        response = self.api(
            "patch",
            account_url(self.tenant),
            data={"organization": "Renamed Org", "price_plan": str(self.other.uuid)},
        )
        self.assertEqual(response.status_code, 200)
        self.tenant.refresh_from_db()
        self.assertEqual(self.tenant.organization, "Renamed Org")
        self.assertEqual(response.json()["effective_price_plan"], str(self.other.uuid))

    def test_a_new_account_may_come_with_its_plan(self) -> None:
        data = {
            "name": "Gamma",
            "kind": "customer",
            "parent": str(self.account.uuid),
            "price_plan": str(self.plan.uuid),
        }
        response = self.api("post", ACCOUNTS, self.admin, data)
        self.assertEqual(response.status_code, 201)
        self.assertEqual(response.json()["price_plan"], str(self.plan.uuid))
        created = Account.objects.get(uuid=response.json()["id"])
        self.assertEqual(AccountBilling.objects.get(account=created).price_plan, self.plan)

    def test_an_unknown_plan_is_a_400_that_writes_nothing(self) -> None:
        before = (Account.objects.count(), AuditEvent.objects.count())
        for plan, errors in [
            (str(uuid.uuid4()), {"price_plan": [ERR_PLAN]}),
            ("standard", {"price_plan": ["Must be a valid UUID."]}),
            ({"id": 1}, {"price_plan": ["Must be a valid UUID."]}),
        ]:
            with self.subTest(plan=plan):
                data = {"name": "Gamma", "kind": "customer", "price_plan": plan}
                response = self.api("post", ACCOUNTS, self.admin, data)
                self.assertEqual((response.status_code, response.json()), (400, errors))
                patch = self.api(
                    "patch", account_url(self.tenant), self.admin, {"price_plan": plan}
                )
                self.assertEqual((patch.status_code, patch.json()), (400, errors))
        self.assertEqual((Account.objects.count(), AuditEvent.objects.count()), before)
        self.assertFalse(AccountBilling.objects.exists())

    def test_a_bad_account_field_writes_no_plan_either(self) -> None:
        data = {"kind": "distributor", "price_plan": str(self.plan.uuid)}
        response = self.api("patch", account_url(self.tenant), self.admin, data)
        self.assertEqual(response.status_code, 400)
        self.assertFalse(AccountBilling.objects.exists())

    def test_only_the_platform_patches_and_outsiders_get_404(self) -> None:
        data = {"price_plan": str(self.plan.uuid)}
        for key in (self.service, self.finance, self.read):
            with self.subTest(key=key[:11]):
                response = self.api("patch", account_url(self.tenant), key, data)
                self.assertEqual(response.status_code, 403)
        self.login(self.owner)
        self.assertEqual(self.api("patch", account_url(self.tenant), data=data).status_code, 403)
        self.login(self.outsider)
        self.assertEqual(self.api("patch", account_url(self.tenant), data=data).status_code, 404)
        self.client.logout()
        self.assertEqual(self.api("patch", account_url(self.tenant), data=data).status_code, 401)
        self.assertFalse(AccountBilling.objects.exists())
