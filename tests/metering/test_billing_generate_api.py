"""Seed 003's generation routes: who may run them, what they answer, what they refuse."""

from datetime import UTC, datetime
from decimal import Decimal

import time_machine

from accounts.scoping import SYSTEM
from metering.models import AccountBilling, BillingRow
from metering.services.ingest import events_ingest
from tests.base import BillingTestCase
from tests.factories import MeterFactory, MeterPriceFactory, PricePlanFactory

MONTH_URL = "/api/v1/billing/generate/{}"
RANGE_URL = "/api/v1/billing/generate/range"


@time_machine.travel(datetime(2026, 6, 10, tzinfo=UTC), tick=False)
class GenerateRoutesTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        plan = PricePlanFactory(currency="EUR")
        AccountBilling.objects.create(account=cls.account, price_plan=plan)
        MeterPriceFactory(plan=plan, meter=MeterFactory(code="cpu"), unit_price=Decimal("2"))

    def setUp(self) -> None:
        events_ingest(
            actor=SYSTEM,
            events=[
                {
                    "event_id": f"e{day}",
                    "type": "usage",
                    "meter": "cpu",
                    "quantity": "1",
                    "timestamp": f"2026-05-{day:02d}T10:00:00Z",
                    "asset": "vm-1",
                    "account": str(self.tenant.uuid),
                }
                for day in (1, 15, 31)
            ],
        )

    def test_platform_admin_and_service_keys_generate_a_month(self) -> None:
        for role in ("admin", "service"):
            with self.subTest(role=role):
                _, key = self.make_key(role)
                response = self.api("get", MONTH_URL.format("2026-05"), key)
                self.assertEqual(response.status_code, 200, response.content)
                self.assertEqual(
                    response.json(),
                    {"start": "2026-05-01", "end": "2026-05-31", "rows": 3, "accounts": 1},
                )
        self.assertEqual(BillingRow.objects.count(), 3)

    def test_a_range_is_generated_inclusive_of_both_days(self) -> None:
        _, key = self.make_key("service")
        response = self.api("post", f"{RANGE_URL}?start=2026-05-15&end=2026-05-31", key)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["rows"], 2)

    def test_staff_may_generate_and_tenants_may_not(self) -> None:
        self.login(self.owner)
        self.assertEqual(self.client.get(MONTH_URL.format("2026-05")).status_code, 403)
        self.client.logout()
        for role in ("finance", "read", "ingest"):
            with self.subTest(role=role):
                _, key = self.make_key(role, self.account)
                self.assertEqual(self.api("get", MONTH_URL.format("2026-05"), key).status_code, 403)
                response = self.api("post", f"{RANGE_URL}?start=2026-05-01&end=2026-05-02", key)
                self.assertEqual(response.status_code, 403)
        self.assertEqual(self.client.get(MONTH_URL.format("2026-05")).status_code, 401)
        self.assertFalse(BillingRow.objects.exists())
        self.login(self.staff)
        self.assertEqual(self.client.get(MONTH_URL.format("2026-05")).status_code, 200)

    def test_bad_input_is_a_400_with_a_field_message(self) -> None:
        _, key = self.make_key("admin")
        for month in ("2026-13", "2026-1", "may", "9999-12"):
            with self.subTest(month=month):
                response = self.api("get", MONTH_URL.format(month), key)
                self.assertEqual(response.status_code, 400)
                self.assertIn("month", response.json())
        cases = [
            ("start=2026-05-01", "end"),
            ("start=2026-02-30&end=2026-03-01", "start"),
            ("start=20260501&end=2026-05-02", "start"),
            ("start=2026-05-02&end=2026-05-01", "end"),
            ("start=2025-01-01&end=2026-05-01", "end"),
        ]
        for query, field in cases:
            with self.subTest(query=query):
                response = self.api("post", f"{RANGE_URL}?{query}", key)
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.json())
        self.assertFalse(BillingRow.objects.exists())
