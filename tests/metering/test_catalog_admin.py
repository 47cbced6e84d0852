"""The metered-usage admin: every page opens for staff, catalog changes are audited, prices
are add-only, assets are assigned but never added or deleted, the billing settings are one row,
and waiting usage and billing rows are read-only."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.urls import reverse

from accounts.models import AuditEvent, BillingSettings
from metering.models import (
    AccountBilling,
    Asset,
    Meter,
    MeterPrice,
    PricePlan,
    UsageEvent,
    WaitingUsage,
)
from tests.accounts.test_admin import AdminTestCase, inline_management
from tests.factories import (
    AssetFactory,
    BillingRowFactory,
    MeterFactory,
    MeterPriceFactory,
    PricePlanFactory,
    SubscriptionFactory,
)

START = datetime(2026, 5, 1, tzinfo=UTC)
PRICES = "prices"


def price_form(plan: PricePlan | None, initial: int, *rows: dict[str, Any]) -> dict[str, Any]:
    data = {
        "name": plan.name if plan else "Hosting",
        "currency": "EUR",
        "markup_percent": "0",
        **inline_management(PRICES, initial=initial, total=initial + len(rows)),
    }
    if plan is not None:
        existing = MeterPrice.objects.filter(plan=plan).order_by(
            "meter__code", "region", "-effective_from"
        )
        for index, price in enumerate(existing):
            data[f"{PRICES}-{index}-id"] = price.pk
            data[f"{PRICES}-{index}-plan"] = plan.pk
    for offset, row in enumerate(rows):
        index = initial + offset
        for field, value in row.items():
            data[f"{PRICES}-{index}-{field}"] = value
    return data


def price_row(meter: Meter, unit_price: str, start: str = "2026-06-01") -> dict[str, Any]:
    return {
        "meter": meter.pk,
        "region": "",
        "unit_price": unit_price,
        "effective_from_0": start,
        "effective_from_1": "00:00:00",
    }


class CatalogAdminTests(AdminTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.cpu = MeterFactory(code="cpu_hours")
        cls.plan = PricePlanFactory(name="Standard")
        cls.price = MeterPriceFactory(plan=cls.plan, meter=cls.cpu, effective_from=START)
        cls.subscription = SubscriptionFactory(account=cls.tenant)
        cls.asset = AssetFactory(account=cls.account, client=None, asset_id="vm-1")
        cls.row = BillingRowFactory(account=cls.tenant, price=cls.price)
        event = UsageEvent.objects.create(
            account=cls.account,
            event_id="u-1",
            type="usage",
            occurred_at=START,
            fingerprint="0" * 32,
            meter="gpu_hours",
            quantity=Decimal(1),
            asset="vm-1",
        )
        cls.waiting = WaitingUsage.objects.create(
            usage_event=event,
            account=cls.account,
            day=date(2026, 5, 1),
            reason="Unknown meter 'gpu_hours'.",
            first_seen_at=START,
            last_tried_at=START,
        )
        AccountBilling.objects.create(account=cls.account, price_plan=cls.plan)

    def test_every_page_opens(self) -> None:
        pages = [
            "admin:metering_meter_changelist",
            "admin:metering_meter_add",
            "admin:metering_priceplan_changelist",
            "admin:metering_priceplan_add",
            "admin:metering_accountbilling_changelist",
            "admin:metering_accountbilling_add",
            "admin:metering_subscription_changelist",
            "admin:metering_subscription_add",
            "admin:metering_asset_changelist",
            "admin:metering_waitingusage_changelist",
            "admin:metering_billingrow_changelist",
        ]
        for name in pages:
            with self.subTest(page=name):
                self.assertEqual(self.client.get(reverse(name)).status_code, 200)
        for name, obj in [
            ("admin:metering_meter_change", self.cpu),
            ("admin:metering_priceplan_change", self.plan),
            ("admin:metering_accountbilling_change", self.account),
            ("admin:metering_subscription_change", self.subscription),
            ("admin:metering_asset_change", self.asset),
            ("admin:metering_billingrow_change", self.row),
        ]:
            with self.subTest(page=name):
                self.assertEqual(self.client.get(reverse(name, args=[obj.pk])).status_code, 200)
        self.assertEqual(self.client.get(reverse("admin:index")).status_code, 200)

    def test_waiting_usage_lists_the_reason_and_links_the_event(self) -> None:
        response = self.client.get(reverse("admin:metering_waitingusage_changelist"))
        self.assertContains(response, "Unknown meter &#x27;gpu_hours&#x27;.")
        event_url = reverse("admin:metering_usageevent_change", args=[self.waiting.pk])
        self.assertContains(response, f'<a href="{event_url}">u-1</a>', html=True)

    def test_read_only_lists_cannot_be_added_to_changed_or_deleted(self) -> None:
        for model, obj in [("billingrow", self.row), ("waitingusage", self.waiting)]:
            with self.subTest(model=model):
                add = self.client.get(reverse(f"admin:metering_{model}_add"))
                self.assertEqual(add.status_code, 403)
                delete = self.client.post(reverse(f"admin:metering_{model}_delete", args=[obj.pk]))
                self.assertEqual(delete.status_code, 403)
        self.assertEqual(self.client.get(reverse("admin:metering_asset_add")).status_code, 403)
        delete = self.client.post(reverse("admin:metering_asset_delete", args=[self.asset.pk]))
        self.assertEqual(delete.status_code, 403)

    def test_a_meter_added_here_is_audited_and_its_code_stays(self) -> None:
        data = {
            "code": "memory_gb_hours",
            "name": "Memory",
            "unit": "GB-hour",
            "aggregation": "max",
        }
        response = self.client.post(reverse("admin:metering_meter_add"), data)
        self.assertEqual(response.status_code, 302)
        meter = Meter.objects.get(code="memory_gb_hours")
        self.assertRootDid(self.events()[-1], "create", "metering.meter", meter.pk)
        change = reverse("admin:metering_meter_change", args=[meter.pk])
        self.client.post(change, {**data, "code": "renamed", "aggregation": "sum", "name": "RAM"})
        meter.refresh_from_db()
        self.assertEqual(
            (meter.code, meter.aggregation, meter.name), ("memory_gb_hours", "max", "RAM")
        )

    def test_a_bad_meter_is_a_form_error(self) -> None:
        data = {"code": "cpu hours", "name": "CPU", "unit": "h", "aggregation": "median"}
        response = self.client.post(reverse("admin:metering_meter_add"), data)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(set(response.context["adminform"].form.errors), {"code", "aggregation"})

    def test_a_plan_is_added_with_its_first_price_and_both_are_audited(self) -> None:
        data = price_form(None, 0, price_row(self.cpu, "0.25"))
        response = self.client.post(reverse("admin:metering_priceplan_add"), data)
        self.assertEqual(response.status_code, 302)
        plan = PricePlan.objects.get(name="Hosting")
        price = MeterPrice.objects.get(plan=plan)
        self.assertEqual(price.unit_price, Decimal("0.25"))
        events = self.events()
        self.assertRootDid(events[-2], "create", "metering.priceplan", plan.pk)
        self.assertRootDid(events[-1], "create", "metering.meterprice", price.pk)

    def test_prices_are_added_never_changed(self) -> None:
        url = reverse("admin:metering_priceplan_change", args=[self.plan.pk])
        page = self.client.get(url)
        self.assertNotContains(page, f'name="{PRICES}-0-unit_price"')
        data = price_form(self.plan, 1, price_row(self.cpu, "0.5"))
        data[f"{PRICES}-0-unit_price"] = "99"  # an edit of the existing price is ignored
        response = self.client.post(url, data)
        self.assertEqual(response.status_code, 302)
        self.assertEqual(
            list(
                MeterPrice.objects.filter(plan=self.plan)
                .order_by("effective_from")
                .values_list("unit_price", flat=True)
            ),
            [Decimal("0.01"), Decimal("0.5")],
        )

    def test_a_price_starting_when_another_does_or_negative_is_a_form_error(self) -> None:
        url = reverse("admin:metering_priceplan_change", args=[self.plan.pk])
        for row in (price_row(self.cpu, "1", start="2026-05-01"), price_row(self.cpu, "-1")):
            with self.subTest(row=row):
                response = self.client.post(url, price_form(self.plan, 1, row))
                self.assertEqual(response.status_code, 200)
                self.assertTrue(response.context["inline_admin_formsets"][0].formset.errors)
        self.assertEqual(MeterPrice.objects.filter(plan=self.plan).count(), 1)

    def test_plans_cannot_be_deleted(self) -> None:
        response = self.client.post(reverse("admin:metering_priceplan_delete", args=[self.plan.pk]))
        self.assertEqual(response.status_code, 403)

    def test_assigning_an_asset_is_audited(self) -> None:
        url = reverse("admin:metering_asset_change", args=[self.asset.pk])
        response = self.client.post(url, {"client": self.tenant.pk})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Asset.objects.get(pk=self.asset.pk).client, self.tenant)
        event = self.events()[-1]
        self.assertRootDid(event, "update", "metering.asset", self.asset.pk)
        self.assertEqual(event.new_values["client_id"], self.tenant.pk)

    def test_the_asset_list_filters_unassigned(self) -> None:
        AssetFactory(account=self.account, client=self.tenant, asset_id="vm-2")
        url = reverse("admin:metering_asset_changelist")
        response = self.client.get(url, {"assigned": "no"})
        self.assertEqual([a.asset_id for a in response.context["cl"].result_list], ["vm-1"])
        response = self.client.get(url, {"assigned": "yes"})
        self.assertEqual(
            sorted(a.asset_id for a in response.context["cl"].result_list),
            sorted([self.row.asset.asset_id, "vm-2"]),
        )

    def test_an_accounts_plan_is_set_here_and_audited(self) -> None:
        other = PricePlanFactory(name="Special")
        url = reverse("admin:metering_accountbilling_add")
        response = self.client.post(url, {"account": self.tenant.pk, "price_plan": other.pk})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(AccountBilling.objects.get(account=self.tenant).price_plan, other)
        self.assertRootDid(self.events()[-1], "create", "metering.accountbilling", self.tenant.pk)


class BillingSettingsAdminTests(AdminTestCase):
    def test_the_list_opens_the_one_row_and_a_change_is_audited(self) -> None:
        response = self.client.get(reverse("admin:accounts_billingsettings_changelist"))
        url = reverse("admin:accounts_billingsettings_change", args=[1])
        self.assertRedirects(response, url)
        response = self.client.post(url, {"use_overlap_usage_selection": "on"})
        self.assertEqual(response.status_code, 302)
        self.assertTrue(BillingSettings.load().use_overlap_usage_selection)
        event = self.events()[-1]
        self.assertRootDid(event, "update", "accounts.billingsettings", 1)
        self.assertEqual(event.new_values["use_overlap_usage_selection"], True)

    def test_no_second_row_and_no_delete(self) -> None:
        BillingSettings.load()
        self.assertEqual(
            self.client.get(reverse("admin:accounts_billingsettings_add")).status_code, 403
        )
        delete = reverse("admin:accounts_billingsettings_delete", args=[1])
        self.assertEqual(self.client.post(delete).status_code, 403)
        self.assertEqual(BillingSettings.objects.count(), 1)
        self.assertFalse(AuditEvent.objects.filter(object_type="accounts.billingsettings"))
