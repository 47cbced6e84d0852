"""The metered-usage catalog API: meters and price plans are written by the platform (admin
keys and staff) and read by any reader; services read but never write; bad input is a 400
with field messages that writes nothing."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import time_machine
from django.urls import reverse

from accounts.models import ApiKeyRole, AuditEvent
from metering.catalog_serializers import ERR_AGGREGATION, ERR_CURRENCY, ERR_METER
from metering.models import Meter, MeterPrice, PricePlan
from metering.services.catalog import ERR_METER_TAKEN, ERR_PLAN_TAKEN
from tests.base import BillingTestCase
from tests.factories import MeterFactory, MeterPriceFactory, PricePlanFactory

METERS = reverse("api-meters")
PLANS = reverse("api-price-plans")
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def prices_url(plan: PricePlan) -> str:
    return reverse("api-price-plan-prices", args=[plan.uuid])


class CatalogCase(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        _, cls.admin = cls.make_key(ApiKeyRole.ADMIN)
        _, cls.service = cls.make_key(ApiKeyRole.SERVICE)
        _, cls.finance = cls.make_key(ApiKeyRole.FINANCE, cls.account)
        _, cls.read = cls.make_key(ApiKeyRole.READ, cls.account)
        _, cls.ingest = cls.make_key(ApiKeyRole.INGEST, cls.account)
        cls.cpu = MeterFactory(code="cpu_hours", name="CPU", unit="vCPU-hour")

    def assertRefused(self, response: object, status: int) -> None:
        self.assertEqual(response.status_code, status)
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertIn("detail", response.json())


class MeterTests(CatalogCase):
    def meter(self, **overrides: object) -> dict:
        return {
            "code": "memory_gb_hours",
            "name": "Memory",
            "unit": "GB-hour",
            "aggregation": "sum",
            **overrides,
        }

    def test_admin_key_creates_a_meter_and_the_change_is_audited(self) -> None:
        response = self.api("post", METERS, self.admin, self.meter(aggregation="average"))
        self.assertEqual(response.status_code, 201)
        body = response.json()
        self.assertEqual(
            {k: v for k, v in body.items() if k != "created_at"},
            {
                "code": "memory_gb_hours",
                "name": "Memory",
                "unit": "GB-hour",
                "aggregation": "average",
            },
        )
        meter = Meter.objects.get(code="memory_gb_hours")
        event = AuditEvent.objects.get(object_type="metering.meter")
        self.assertEqual((event.action, event.object_id), ("create", str(meter.pk)))
        self.assertEqual(event.actor_type, "api_key")

    def test_staff_session_creates_a_meter(self) -> None:
        self.login(self.staff)
        self.assertEqual(self.api("post", METERS, data=self.meter()).status_code, 201)

    def test_every_reader_lists_meters(self) -> None:
        for key in (self.admin, self.service, self.finance, self.read):
            with self.subTest(key=key[:11]):
                response = self.api("get", METERS, key)
                self.assertEqual(response.status_code, 200)
                self.assertEqual([m["code"] for m in response.json()["results"]], ["cpu_hours"])
        self.login(self.teammate)
        self.assertEqual(self.api("get", METERS).status_code, 200)

    def test_only_the_platform_creates_meters(self) -> None:
        for key in (self.service, self.finance, self.read, self.ingest):
            with self.subTest(key=key[:11]):
                self.assertRefused(self.api("post", METERS, key, self.meter()), 403)
        self.login(self.owner)
        self.assertRefused(self.api("post", METERS, data=self.meter()), 403)
        self.assertFalse(Meter.objects.filter(code="memory_gb_hours").exists())

    def test_ingest_key_may_not_read_and_anonymous_is_401(self) -> None:
        self.assertRefused(self.api("get", METERS, self.ingest), 403)
        self.assertRefused(self.api("get", METERS), 401)
        self.assertRefused(self.api("post", METERS, data=self.meter()), 401)

    def test_bad_input_is_400_with_field_messages(self) -> None:
        slug = 'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'
        cases = [
            ({"code": "cpu hours!"}, {"code": [slug]}),
            ({"aggregation": "median"}, {"aggregation": [ERR_AGGREGATION]}),
            ({"code": "cpu_hours"}, {"code": [ERR_METER_TAKEN.format(code="cpu_hours")]}),
            ({"name": ""}, {"name": ["This field may not be blank."]}),
            ({"unit": "x" * 51}, {"unit": ["Ensure this field has no more than 50 characters."]}),
        ]
        before = (Meter.objects.count(), AuditEvent.objects.count())
        for overrides, errors in cases:
            with self.subTest(overrides=overrides):
                response = self.api("post", METERS, self.admin, self.meter(**overrides))
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json(), errors)
        self.assertEqual((Meter.objects.count(), AuditEvent.objects.count()), before)


@time_machine.travel(NOW, tick=False)
class PricePlanTests(CatalogCase):
    def plan(self, **overrides: object) -> dict:
        return {
            "name": "Hosting EUR",
            "currency": "eur",
            "prices": [
                {"meter": "cpu_hours", "unit_price": "0.012345"},
                {"meter": "cpu_hours", "unit_price": 0.02, "region": "west"},
            ],
            **overrides,
        }

    def test_admin_key_creates_a_plan_whose_prices_start_now(self) -> None:
        response = self.api("post", PLANS, self.admin, self.plan(markup_percent="12.5"))
        self.assertEqual(response.status_code, 201)
        plan = PricePlan.objects.get()
        body = response.json()
        default, west = MeterPrice.objects.order_by("region")
        self.assertEqual(
            body,
            {
                "id": str(plan.uuid),
                "name": "Hosting EUR",
                "currency": "EUR",
                "markup_percent": "12.5000",
                "prices": [
                    {
                        "id": str(default.uuid),
                        "meter": "cpu_hours",
                        "region": None,
                        "unit_price": "0.012345",
                        "effective_from": "2026-06-15T12:00:00Z",
                    },
                    {
                        "id": str(west.uuid),
                        "meter": "cpu_hours",
                        "region": "west",
                        "unit_price": "0.020000",
                        "effective_from": "2026-06-15T12:00:00Z",
                    },
                ],
                "created_at": "2026-06-15T12:00:00Z",
            },
        )
        self.assertEqual(
            sorted(
                AuditEvent.objects.filter(object_type__startswith="metering.").values_list(
                    "object_type", flat=True
                )
            ),
            ["metering.meterprice", "metering.meterprice", "metering.priceplan"],
        )

    def test_a_price_may_name_its_start(self) -> None:
        prices = [{"meter": "cpu_hours", "unit_price": "1", "effective_from": "2026-01-01T00:00Z"}]
        response = self.api("post", PLANS, self.admin, self.plan(prices=prices))
        self.assertEqual(response.json()["prices"][0]["effective_from"], "2026-01-01T00:00:00Z")

    def test_readers_list_plans_and_only_the_platform_creates_them(self) -> None:
        MeterPriceFactory(plan=PricePlanFactory(name="Basic"), meter=self.cpu)
        for key in (self.admin, self.service, self.finance, self.read):
            with self.subTest(key=key[:11]):
                listed = self.api("get", PLANS, key).json()["results"]
                self.assertEqual([(p["name"], len(p["prices"])) for p in listed], [("Basic", 1)])
        for key in (self.service, self.finance, self.read, self.ingest):
            with self.subTest(key=key[:11]):
                self.assertRefused(self.api("post", PLANS, key, self.plan()), 403)
        self.assertRefused(self.api("get", PLANS), 401)
        self.assertEqual(PricePlan.objects.count(), 1)

    def test_bad_input_is_400_and_writes_nothing(self) -> None:
        PricePlanFactory(name="Taken")
        decimals = "Ensure that there are no more than 6 decimal places."
        negative = "Ensure this value is greater than or equal to 0."
        cases = [
            ({"currency": "ZZZ"}, {"currency": [ERR_CURRENCY]}),
            (
                {"currency": "EURO"},
                {"currency": ["Ensure this field has no more than 3 characters."]},
            ),
            ({"name": "Taken"}, {"name": [ERR_PLAN_TAKEN.format(name="Taken")]}),
            ({"markup_percent": "-1"}, {"markup_percent": [negative]}),
            (
                {"prices": [{"meter": "cpu_hours", "unit_price": "0.0000001"}]},
                {"prices": {"0": {"unit_price": [decimals]}}},
            ),
            (
                {"prices": [{"meter": "cpu_hours", "unit_price": "-0.01"}]},
                {"prices": {"0": {"unit_price": [negative]}}},
            ),
            (
                {"prices": [{"meter": "gpu_hours", "unit_price": "1"}]},
                {"prices": {"0": {"meter": [ERR_METER]}}},
            ),
            (
                {"prices": [{"meter": "cpu_hours", "unit_price": "1"}] * 2},
                {"prices": ["Price 1: the same meter, region and start as price 0."]},
            ),
        ]
        before = (PricePlan.objects.count(), MeterPrice.objects.count(), AuditEvent.objects.count())
        for overrides, errors in cases:
            with self.subTest(overrides=overrides):
                response = self.api("post", PLANS, self.admin, self.plan(**overrides))
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json(), errors)
        after = (PricePlan.objects.count(), MeterPrice.objects.count(), AuditEvent.objects.count())
        self.assertEqual(after, before)


class PriceAddTests(CatalogCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.plan = PricePlanFactory(name="Hosting")
        MeterPriceFactory(
            plan=cls.plan, meter=cls.cpu, effective_from=datetime(2026, 1, 1, tzinfo=UTC)
        )

    def price(self, **overrides: object) -> dict:
        return {
            "meter": "cpu_hours",
            "unit_price": "0.5",
            "effective_from": "2026-07-01T00:00:00Z",
            **overrides,
        }

    def test_a_price_change_is_a_new_price_and_the_plan_comes_back(self) -> None:
        response = self.api("post", prices_url(self.plan), self.admin, self.price())
        self.assertEqual(response.status_code, 201)
        self.assertEqual(
            [(p["unit_price"], p["effective_from"]) for p in response.json()["prices"]],
            [("0.010000", "2026-01-01T00:00:00Z"), ("0.500000", "2026-07-01T00:00:00Z")],
        )
        regional = self.api("post", prices_url(self.plan), self.admin, self.price(region="west"))
        self.assertEqual(regional.status_code, 201)
        self.assertEqual(MeterPrice.objects.filter(plan=self.plan, region="west").count(), 1)

    def test_the_same_meter_region_and_start_again_is_a_400(self) -> None:
        again = self.price(effective_from="2026-01-01T01:00:00+01:00", unit_price="9")
        response = self.api("post", prices_url(self.plan), self.admin, again)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            response.json(),
            {
                "effective_from": [
                    "The plan has a price for 'cpu_hours' (every region) starting at "
                    "2026-01-01 00:00:00Z already; prices are add-only: add one with another "
                    "start."
                ]
            },
        )
        self.assertEqual(MeterPrice.objects.count(), 1)

    def test_bad_input_is_400(self) -> None:
        cases = [
            ({"unit_price": "1.1234567"}, "unit_price"),
            ({"unit_price": "-1"}, "unit_price"),
            ({"meter": "nope"}, "meter"),
            ({"effective_from": "yesterday"}, "effective_from"),
            ({"effective_from": None}, "effective_from"),
            ({"region": "x" * 101}, "region"),
        ]
        for overrides, field in cases:
            with self.subTest(overrides=overrides):
                response = self.api(
                    "post", prices_url(self.plan), self.admin, self.price(**overrides)
                )
                self.assertEqual(response.status_code, 400)
                self.assertEqual(list(response.json()), [field])
        self.assertEqual(MeterPrice.objects.count(), 1)

    def test_only_the_platform_adds_prices_and_an_unknown_plan_is_404(self) -> None:
        for key in (self.service, self.finance, self.read):
            with self.subTest(key=key[:11]):
                self.assertRefused(self.api("post", prices_url(self.plan), key, self.price()), 403)
        self.assertRefused(self.api("post", prices_url(self.plan), None, self.price()), 401)
        unknown = reverse("api-price-plan-prices", args=[uuid.uuid4()])
        self.assertRefused(self.api("post", unknown, self.admin, self.price()), 404)
        self.assertEqual(MeterPrice.objects.count(), 1)
        self.assertEqual(MeterPrice.objects.get().unit_price, Decimal("0.01"))
