"""Usage rating: daily billing rows from `usage` events (issue 10). Every expectation is worked
out by hand from the events and prices in the test."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import time_machine
from django.db import transaction

from accounts.models import BillingSettings
from accounts.scoping import SYSTEM
from metering.models import AccountBilling, Asset, BillingRow, Meter, WaitingUsage
from metering.services.ingest import events_ingest
from metering.services.usage_rating import (
    billing_generate,
    billing_row_events,
    invoiced_days_mark,
    usage_rate,
)
from tests.base import BillingTestCase
from tests.factories import (
    AccountFactory,
    MeterFactory,
    MeterPriceFactory,
    PricePlanFactory,
    SubscriptionFactory,
)

D = Decimal
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


class UsageCase(BillingTestCase):
    """`tenant` (below `account`) has a EUR plan on `account`; cpu (sum) costs 0.10 per unit."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.plan = PricePlanFactory(name="Hosting EUR", currency="EUR")
        AccountBilling.objects.create(account=cls.account, price_plan=cls.plan)
        cls.cpu = MeterFactory(code="cpu", aggregation="sum")
        MeterPriceFactory(plan=cls.plan, meter=cls.cpu, unit_price=D("0.10"))

    def setUp(self) -> None:
        self.clock = time_machine.travel(NOW, tick=False)
        self.clock.start()
        self.addCleanup(self.clock.stop)
        self.sequence = 0

    def send(self, **fields: Any) -> dict[str, Any]:
        """One usage event from `tenant` (it has nothing below it, so its assets bill it)."""
        self.sequence += 1
        event = {
            "event_id": f"e{self.sequence}",
            "type": "usage",
            "meter": "cpu",
            "quantity": "1",
            "timestamp": "2026-05-10T12:00:00Z",
            "asset": "vm-1",
            "account": str(self.tenant.uuid),
            **fields,
        }
        result = events_ingest(actor=SYSTEM, events=[event])
        self.assertEqual(result.rejected, [])
        return event

    def rows(self, **filters: Any) -> list[tuple]:
        return list(
            BillingRow.objects.filter(**filters)
            .order_by("day", "meter__code", "region", "adjustment_for")
            .values_list("day", "meter__code", "quantity", "unit_price", "cost", "adjustment_for")
        )

    def snapshot(self) -> list[tuple]:
        return list(
            BillingRow.objects.order_by("id").values_list(
                "id", "uuid", "day", "quantity", "cost", "adjustment_for", "updated_at"
            )
        )


class AggregationTests(UsageCase):
    def test_each_aggregation_over_a_days_readings(self) -> None:
        for code, aggregation in [
            ("gb_max", "max"),
            ("gb_avg", "average"),
            ("gb_latest", "latest"),
            ("assets", "unique_count"),
        ]:
            meter = MeterFactory(code=code, aggregation=aggregation)
            MeterPriceFactory(plan=self.plan, meter=meter, unit_price=D("1"))
        readings = [("08:00", "4"), ("09:00", "10"), ("10:00", "1")]
        for meter in ("cpu", "gb_max", "gb_avg", "gb_latest", "assets"):
            for at, quantity in readings:
                self.send(meter=meter, quantity=quantity, timestamp=f"2026-05-10T{at}:00Z")
        usage_rate()
        day = date(2026, 5, 10)
        self.assertEqual(
            self.rows(),
            [
                (day, "assets", D("1"), D("1"), D("1.00"), None),
                (day, "cpu", D("15"), D("0.10"), D("1.50"), None),
                (day, "gb_avg", D("5"), D("1"), D("5.00"), None),
                (day, "gb_latest", D("1"), D("1"), D("1.00"), None),
                (day, "gb_max", D("10"), D("1"), D("10.00"), None),
            ],
        )

    def test_latest_breaks_a_tie_in_time_by_event_id(self) -> None:
        MeterPriceFactory(
            plan=self.plan, meter=MeterFactory(code="level", aggregation="latest"), unit_price=1
        )
        self.send(meter="level", quantity="7", event_id="b")
        self.send(meter="level", quantity="3", event_id="a")
        usage_rate()
        self.assertEqual(self.rows()[0][2], D("7"))

    def test_cost_is_rounded_half_up_per_row(self) -> None:
        MeterPriceFactory(plan=self.plan, meter=MeterFactory(code="tiny"), unit_price=D("0.000125"))
        self.send(meter="tiny", quantity="100")  # 0.0125 -> 0.01
        self.send(meter="tiny", quantity="20", timestamp="2026-05-11T00:00:00Z")  # 0.0025 -> 0.00
        self.send(meter="tiny", quantity="140", timestamp="2026-05-12T00:00:00Z")  # 0.0175 -> 0.02
        usage_rate()
        self.assertEqual([r[4] for r in self.rows()], [D("0.01"), D("0.00"), D("0.02")])


class SelectionModeTests(UsageCase):
    def window(self, start: str, end: str, quantity: str = "3") -> None:
        self.send(start=start, end=end, quantity=quantity, timestamp=None)

    def test_off_a_window_belongs_to_its_start_day(self) -> None:
        self.window("2026-05-31T22:00:00Z", "2026-06-01T01:00:00Z")
        usage_rate()
        self.assertEqual(
            self.rows(), [(date(2026, 5, 31), "cpu", D("3"), D("0.10"), D("0.30"), None)]
        )

    def test_on_a_window_across_midnight_and_a_month_end_is_split_by_time(self) -> None:
        BillingSettings.objects.update_or_create(
            id=1, defaults={"use_overlap_usage_selection": True}
        )
        self.window("2026-05-31T22:00:00Z", "2026-06-01T01:00:00Z")  # 2 h then 1 h
        usage_rate()
        self.assertEqual(
            self.rows(),
            [
                (date(2026, 5, 31), "cpu", D("2"), D("0.10"), D("0.20"), None),
                (date(2026, 6, 1), "cpu", D("1"), D("0.10"), D("0.10"), None),
            ],
        )

    def test_on_parts_round_to_6_decimals_and_the_last_takes_the_remainder(self) -> None:
        BillingSettings.objects.update_or_create(
            id=1, defaults={"use_overlap_usage_selection": True}
        )
        # 72 hours over three whole days plus nothing: thirds of 1 do not divide exactly.
        self.window("2026-05-10T00:00:00Z", "2026-05-13T00:00:00Z", quantity="1")
        usage_rate()
        quantities = [r[2] for r in self.rows()]
        self.assertEqual(quantities, [D("0.333333"), D("0.333333"), D("0.333334")])
        self.assertEqual(sum(quantities), D("1"))

    def test_on_a_gauge_counts_its_full_reading_in_every_day_it_overlaps(self) -> None:
        BillingSettings.objects.update_or_create(
            id=1, defaults={"use_overlap_usage_selection": True}
        )
        MeterPriceFactory(
            plan=self.plan, meter=MeterFactory(code="disk", aggregation="average"), unit_price=1
        )
        self.send(
            meter="disk",
            quantity="100",
            start="2026-05-10T23:00:00Z",
            end="2026-05-11T01:00:00Z",
            timestamp=None,
        )
        usage_rate()
        self.assertEqual([r[2] for r in self.rows()], [D("100"), D("100")])

    def test_points_belong_to_their_day_in_both_modes(self) -> None:
        self.send(timestamp="2026-05-31T23:59:59Z")
        usage_rate()
        first = self.rows()
        BillingSettings.objects.update_or_create(
            id=1, defaults={"use_overlap_usage_selection": True}
        )
        billing_generate(start=date(2026, 5, 1), end=date(2026, 6, 30))
        self.assertEqual(self.rows(), first)
        self.assertEqual(first[0][0], date(2026, 5, 31))


class PriceTests(UsageCase):
    def test_a_region_price_wins_over_the_default(self) -> None:
        MeterPriceFactory(plan=self.plan, meter=self.cpu, region="north", unit_price=D("0.25"))
        self.send(region="north", quantity="4")
        self.send(region="south", quantity="4")
        usage_rate()
        self.assertEqual(
            [(r[3], r[4]) for r in self.rows()], [(D("0.25"), D("1.00")), (D("0.10"), D("0.40"))]
        )

    def test_a_mid_month_price_change_prices_each_day_at_its_start(self) -> None:
        MeterPriceFactory(
            plan=self.plan,
            meter=self.cpu,
            unit_price=D("0.20"),
            effective_from=datetime(2026, 5, 15, tzinfo=UTC),
        )
        self.send(timestamp="2026-05-14T23:00:00Z", quantity="10")
        self.send(timestamp="2026-05-15T00:00:00Z", quantity="10")
        usage_rate()
        self.assertEqual([r[4] for r in self.rows()], [D("1.00"), D("2.00")])
        row = BillingRow.objects.get(day=date(2026, 5, 15))
        self.assertEqual(row.price.effective_from, datetime(2026, 5, 15, tzinfo=UTC))

    def test_the_nearest_ancestors_plan_applies(self) -> None:
        self.send()
        usage_rate()
        self.assertEqual(BillingRow.objects.get().plan, self.plan)
        self.assertEqual(BillingRow.objects.get().currency, "EUR")

    def test_an_imported_cost_is_billed_with_the_plans_markup_and_no_unit_price(self) -> None:
        self.plan.markup_percent = D("12.5")
        self.plan.save()
        self.send(cost="10.00", quantity="3")
        usage_rate()
        self.assertEqual(self.rows(), [(date(2026, 5, 10), "cpu", D("3"), None, D("11.25"), None)])


class WaitingUsageTests(UsageCase):
    def test_usage_of_an_unknown_meter_waits_and_is_rated_once_the_meter_exists(self) -> None:
        self.send(meter="gpu", quantity="2")
        usage_rate()
        self.assertEqual(self.rows(), [])
        self.assertEqual(WaitingUsage.objects.get().reason, "Unknown meter 'gpu'")
        gpu = MeterFactory(code="gpu")
        usage_rate()
        self.assertIn("No price for meter 'gpu'", WaitingUsage.objects.get().reason)
        MeterPriceFactory(plan=self.plan, meter=gpu, unit_price=D("1.5"))
        usage_rate()
        self.assertEqual(
            self.rows(), [(date(2026, 5, 10), "gpu", D("2"), D("1.5"), D("3.00"), None)]
        )
        self.assertFalse(WaitingUsage.objects.exists())

    def test_usage_of_an_unknown_subscription_waits_until_it_exists(self) -> None:
        self.send(subscription="sub-9")
        usage_rate()
        self.assertEqual(WaitingUsage.objects.get().reason, "Unknown subscription 'sub-9'")
        subscription = SubscriptionFactory(external_id="sub-9", account=self.tenant)
        usage_rate()
        self.assertEqual(BillingRow.objects.get().subscription, subscription)

    def test_a_subscription_of_another_tenant_is_never_billed_to_it(self) -> None:
        SubscriptionFactory(external_id="theirs", account=self.outsider_account)
        self.send(subscription="theirs")
        usage_rate()
        self.assertEqual(self.rows(), [])
        self.assertEqual(WaitingUsage.objects.get().reason, "Unknown subscription 'theirs'")

    def test_an_unassigned_asset_waits_until_it_has_a_client(self) -> None:
        # `account` has a tenant below it, so its own assets are not assigned by default.
        self.send(account=str(self.account.uuid), asset="shared-1")
        usage_rate()
        asset = Asset.objects.get(asset_id="shared-1")
        self.assertIsNone(asset.client)
        self.assertEqual(
            WaitingUsage.objects.get().reason, "Asset 'shared-1' is not assigned to a client"
        )
        asset.client = self.tenant
        asset.save()
        usage_rate()
        self.assertEqual(BillingRow.objects.get().account, self.tenant)

    def test_the_client_named_in_an_assets_first_event_is_billed(self) -> None:
        self.send(account=str(self.account.uuid), asset="vm-x", client=str(self.tenant.uuid))
        self.send(account=str(self.account.uuid), asset="vm-x", client=str(self.account.uuid))
        usage_rate()
        self.assertEqual(Asset.objects.get(asset_id="vm-x").client, self.tenant)
        self.assertEqual(BillingRow.objects.get().account, self.tenant)


class IdempotencyTests(UsageCase):
    def test_running_the_poll_or_generation_twice_changes_nothing(self) -> None:
        self.send(quantity="2")
        self.send(quantity="5", timestamp="2026-05-11T00:00:00Z")
        usage_rate()
        before = self.snapshot()
        usage_rate()
        billing_generate(start=date(2026, 5, 1), end=date(2026, 5, 31))
        billing_generate(start=date(2026, 5, 1), end=date(2026, 5, 31))
        self.assertEqual(self.snapshot(), before)

    def test_generation_equals_the_polls_rows_in_both_modes(self) -> None:
        other = AccountFactory(parent=self.account)
        for mode in (False, True):
            with self.subTest(overlap=mode):
                BillingSettings.objects.update_or_create(
                    id=1, defaults={"use_overlap_usage_selection": mode}
                )
                BillingRow.objects.all().delete()
                self.send(
                    start="2026-05-09T20:00:00Z",
                    end="2026-05-10T04:00:00Z",
                    timestamp=None,
                    quantity="8",
                )
                self.send(account=str(other.uuid), asset="vm-o", quantity="1.5")
                usage_rate()
                polled = self.rows()
                BillingRow.objects.all().delete()
                billing_generate(start=date(2026, 5, 1), end=date(2026, 5, 31))
                self.assertEqual(self.rows(), polled)

    def test_generation_covers_a_sender_with_several_assets_once(self) -> None:
        self.send(quantity="1")
        self.send(quantity="2", asset="vm-2")
        usage_rate()
        polled = self.rows()
        BillingRow.objects.all().delete()
        result = billing_generate(start=date(2026, 5, 1), end=date(2026, 5, 31))
        self.assertEqual(self.rows(), polled)
        self.assertEqual((result.rows, result.rating.days), (2, 31))

    def test_invoiced_days_keep_their_rows_and_late_usage_becomes_an_adjustment(self) -> None:
        self.send(quantity="10")
        usage_rate()
        invoiced = self.snapshot()
        invoiced_days_mark(
            account_ids=[self.tenant.id], start=date(2026, 5, 1), end=date(2026, 5, 31)
        )
        self.send(quantity="2.5", timestamp="2026-05-10T18:00:00Z")
        usage_rate()
        billing_generate(start=date(2026, 5, 1), end=date(2026, 5, 31))
        self.assertEqual(self.snapshot()[0], invoiced[0])
        self.assertEqual(
            self.rows(adjustment_for__isnull=False),
            [(NOW.date(), "cpu", D("2.5"), D("0.10"), D("0.25"), date(2026, 5, 10))],
        )
        # More late usage updates the same open adjustment row.
        self.send(quantity="1", timestamp="2026-05-10T19:00:00Z")
        usage_rate()
        self.assertEqual(
            self.rows(adjustment_for__isnull=False),
            [(NOW.date(), "cpu", D("3.5"), D("0.10"), D("0.35"), date(2026, 5, 10))],
        )
        with self.assertRaisesMessage(Exception, "invoiced day"), transaction.atomic():
            BillingRow.objects.filter(day=date(2026, 5, 10)).update(cost=0)

    def test_a_rows_events_are_the_usage_it_aggregates(self) -> None:
        first = self.send(quantity="1")
        second = self.send(quantity="2", timestamp="2026-05-10T23:00:00Z")
        self.send(quantity="4", timestamp="2026-05-11T00:00:00Z")
        usage_rate()
        row = BillingRow.objects.get(day=date(2026, 5, 10))
        self.assertEqual(
            [e.event_id for e in billing_row_events(row)], [first["event_id"], second["event_id"]]
        )


class MeterDeletionGuardTests(UsageCase):
    def test_meter_prices_are_add_only(self) -> None:
        price = self.cpu.prices.get()
        with self.assertRaisesMessage(Exception, "add-only"), transaction.atomic():
            type(price).objects.filter(id=price.id).update(unit_price=1)
        self.assertTrue(Meter.objects.filter(code="cpu").exists())
