"""The rating rules of issue 3, by example, on both the SQL and the Python implementation."""

from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.test import TestCase

from licenses.models import LicenseType, MachineType, Pool, Region
from licenses.services import license_rate_add, machine_rate_add, machine_type_create
from metering.models import Charge, ChargeRollup, UnratedEvent
from metering.rating import (
    REASON_NO_MACHINE_RATE,
    REASON_UNKNOWN_LICENSE_TYPE,
    REASON_UNKNOWN_MACHINE_TYPE,
)
from statements.services import statements_poll
from tests.factories import AccountFactory, LicenseFactory
from tests.statements.factories import at, catalog, ingest, ingest_and_poll, session

NOW = at("2026-05-20 12:00")


def lines() -> list[tuple]:
    return list(
        Charge.objects.order_by("start", "usage_event_id").values_list(
            "usage_event__event_id",
            "period",
            "billed_period",
            "start",
            "duration",
            "machine_rate",
            "license_rate",
            "cost",
            "license_cost",
        )
    )


class RatingRulesMixin:
    """Each rule once; subclasses pick the engine."""

    engine = ""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.account = AccountFactory()
        cls.license = LicenseFactory(account=cls.account)

    def rate(self, *events: dict) -> None:
        ingest_and_poll(list(events), NOW, engine=self.engine)

    def test_a_session_crossing_a_month_boundary_is_split_there(self) -> None:
        catalog({"c5.xlarge": "1.000000"}, {"standard": "0.500000"})
        self.rate(session(self.license, "s1", "2026-03-31 23:30", 2 * 3600))
        self.assertEqual(
            lines(),
            [
                (
                    "s1",
                    at("2026-03-01").date(),
                    at("2026-03-01").date(),
                    at("2026-03-31 23:30"),
                    timedelta(minutes=30),
                    Decimal("1.000000"),
                    Decimal("0.500000"),
                    Decimal("0.5000"),
                    Decimal("0.2500"),
                ),
                (
                    "s1",
                    at("2026-04-01").date(),
                    at("2026-04-01").date(),
                    at("2026-04-01 00:00"),
                    timedelta(minutes=90),
                    Decimal("1.000000"),
                    Decimal("0.500000"),
                    Decimal("1.5000"),
                    Decimal("0.7500"),
                ),
            ],
        )

    def test_each_line_is_rounded_half_up_to_cents(self) -> None:
        catalog({"c5.xlarge": "0.010000"}, {"standard": "0.010000"})
        self.rate(
            # 1800 s x 0.01/h = 0.005 exactly: rounds up to 0.01.
            session(self.license, "half", "2026-04-02 00:00", 1800),
            # 1799 s x 0.01/h = 0.0049972...: rounds down to 0.00.
            session(self.license, "below", "2026-04-03 00:00", 1799),
        )
        amounts = {c.usage_event.event_id: (c.cost, c.license_cost) for c in Charge.objects.all()}
        self.assertEqual(
            amounts,
            {"half": (Decimal("0.01"), Decimal("0.01")), "below": (Decimal("0"), Decimal("0"))},
        )
        # Totals are sums of rounded lines: 0.01 + 0.00, not round(0.0099972).
        rollup = ChargeRollup.objects.get()
        self.assertEqual((rollup.cost, rollup.lines), (Decimal("0.01"), 2))

    def test_a_currency_without_cents_rounds_to_whole_units(self) -> None:
        yen = AccountFactory(currency="JPY")
        license = LicenseFactory(account=yen)
        catalog({"c5.xlarge": "1.000000"}, {"standard": "3.000000"})
        self.rate(session(license, "y", "2026-04-02 00:00", 1800))
        charge = Charge.objects.get()
        self.assertEqual((charge.cost, charge.license_cost), (Decimal("1"), Decimal("2")))

    def test_a_rate_change_applies_from_its_start_on(self) -> None:
        catalog({"c5.xlarge": "1.000000"}, {"standard": "0.100000"})
        machine_rate_add(
            actor=None,
            machine_type=MachineType.objects.get(),
            hourly_rate="2.000000",
            effective_from=at("2026-03-15 00:00"),
        )
        self.rate(
            session(self.license, "before", "2026-03-14 23:00", 2 * 3600),
            session(self.license, "after", "2026-03-15 00:00", 3600),
        )
        amounts = {c.usage_event.event_id: (c.machine_rate, c.cost) for c in Charge.objects.all()}
        # The rate in force at the start prices the whole part, even past the change.
        self.assertEqual(
            amounts,
            {
                "before": (Decimal("1.000000"), Decimal("2.00")),
                "after": (Decimal("2.000000"), Decimal("2.00")),
            },
        )

    def test_a_region_rate_beats_the_default_once_it_is_in_force(self) -> None:
        catalog({"c5.xlarge": "1.000000"}, {"standard": "0.100000"})
        machine_rate_add(
            actor=None,
            machine_type=MachineType.objects.get(),
            hourly_rate="1.500000",
            effective_from=at("2026-04-10 00:00"),
            region="eu-west",
        )
        self.rate(
            session(self.license, "eu-early", "2026-04-05 00:00", 3600, region="eu-west"),
            session(self.license, "eu-late", "2026-04-12 00:00", 3600, region="eu-west"),
            session(self.license, "us-late", "2026-04-12 00:00", 3600, region="us-east"),
        )
        rates = {c.usage_event.event_id: c.machine_rate for c in Charge.objects.all()}
        self.assertEqual(
            rates,
            {
                "eu-early": Decimal("1.000000"),
                "eu-late": Decimal("1.500000"),
                "us-late": Decimal("1.000000"),
            },
        )

    def test_an_empty_session_is_one_line_of_nothing(self) -> None:
        catalog()
        self.rate(session(self.license, "zero", "2026-04-30 23:59:59", 0))
        charge = Charge.objects.get()
        self.assertEqual(
            (charge.period, charge.duration, charge.cost),
            (at("2026-04-01").date(), timedelta(0), 0),
        )

    def test_fractional_seconds_split_exactly(self) -> None:
        catalog({"c5.xlarge": "3.600000"}, {"standard": "0.000000"})
        self.rate(session(self.license, "f", at("2026-03-31 23:59:59.500000"), 2))
        self.assertEqual(
            [(c.duration, c.cost) for c in Charge.objects.order_by("start")],
            [
                (timedelta(microseconds=500_000), Decimal("0.00")),
                (timedelta(seconds=1, microseconds=500_000), Decimal("0.00")),
            ],
        )

    def test_unknown_types_wait_unrated_with_the_reason_then_are_priced(self) -> None:
        catalog({"c5.xlarge": "1.000000"}, {"standard": "0.100000"})
        self.rate(
            session(self.license, "new-type", "2026-04-02 10:00", 3600, machine_type="x9.huge"),
            session(self.license, "new-lic", "2026-04-02 10:00", 3600, license_type="gold"),
        )
        self.assertEqual(Charge.objects.count(), 0)
        reasons = dict(UnratedEvent.objects.values_list("usage_event__event_id", "reason"))
        self.assertEqual(
            reasons,
            {
                "new-type": REASON_UNKNOWN_MACHINE_TYPE.format(name="x9.huge"),
                "new-lic": REASON_UNKNOWN_LICENSE_TYPE.format(name="gold"),
            },
        )
        # A price that starts after the usage does not price it: the reason says why.
        machine_type_create(
            actor=None, name="x9.huge", hourly_rate="4.000000", effective_from=at("2026-05-01")
        )
        self.rate()
        self.assertEqual(
            UnratedEvent.objects.get(usage_event__event_id="new-type").reason,
            REASON_NO_MACHINE_RATE.format(name="x9.huge", at="2026-04-02 10:00:00Z"),
        )
        machine_rate_add(
            actor=None,
            machine_type=MachineType.objects.get(name="x9.huge"),
            hourly_rate="3.000000",
            effective_from=at("2026-04-01"),
        )
        self.rate()
        self.assertEqual(
            list(Charge.objects.values_list("usage_event__event_id", "cost")),
            [("new-type", Decimal("3.00"))],
        )
        self.assertEqual(
            list(UnratedEvent.objects.values_list("usage_event__event_id", flat=True)), ["new-lic"]
        )

    def test_polling_again_prices_nothing_twice(self) -> None:
        catalog()
        self.rate(session(self.license, "a", "2026-04-02 10:00", 3600))
        self.rate()
        ingest([session(self.license, "a", "2026-04-02 10:00", 3600)], now=NOW)
        self.rate()
        self.assertEqual(Charge.objects.count(), 1)
        self.assertEqual(ChargeRollup.objects.get().lines, 1)

    def test_regions_and_pools_are_created_on_first_sight(self) -> None:
        catalog()
        self.rate(session(self.license, "a", "2026-04-02 10:00", 60, region="ap-south", pool="sim"))
        self.assertEqual(list(Region.objects.values_list("name", flat=True)), ["ap-south"])
        self.assertEqual(list(Pool.objects.values_list("name", flat=True)), ["sim"])


class PythonRatingTests(RatingRulesMixin, TestCase):
    engine = "python"


class SqlRatingTests(RatingRulesMixin, TestCase):
    engine = "sql"

    def setUp(self) -> None:
        if connection.vendor != "postgresql":
            self.skipTest("set-based rating runs on PostgreSQL")


class EnginesAgreeTests(TestCase):
    """The same varied usage priced by each engine gives identical lines, rollups and queue."""

    def setUp(self) -> None:
        if connection.vendor != "postgresql":
            self.skipTest("compares with the PostgreSQL engine")

    def test_sql_and_python_give_identical_results(self) -> None:
        import random

        generator = random.Random(7)
        accounts = [AccountFactory(currency=c) for c in ("USD", "JPY", "KWD")]
        licenses = [LicenseFactory(account=a) for a in accounts for _ in range(2)]
        catalog(
            {"c5.xlarge": "0.171234", "g4dn.xlarge": "0.526000", "m5.large": "0.096000"},
            {"standard": "0.050000", "premium": "0.125555"},
            {"g4dn.xlarge": {"eu-west": "0.612345"}},
        )
        license_rate_add(
            actor=None,
            license_type=LicenseType.objects.get(name="premium"),
            hourly_rate="0.200001",
            effective_from=at("2026-03-10 06:00"),
        )
        events = []
        for n in range(600):
            start = at("2026-01-25 00:00") + timedelta(
                seconds=generator.randrange(0, 100 * 86400), microseconds=generator.choice([0, 1])
            )
            events.append(
                session(
                    generator.choice(licenses),
                    f"e{n}",
                    start,
                    generator.choice([0, 1, 59, 3599, 3600, 7201, 40 * 86400]),
                    machine_type=generator.choice(["c5.xlarge", "g4dn.xlarge", "m5.large", "z"]),
                    region=generator.choice(["us-east", "eu-west"]),
                    pool=generator.choice(["render", "sim"]),
                    license_type=generator.choice(["standard", "premium", "standard"]),
                )
            )
        ingest(events, now=NOW)

        def snapshot() -> tuple:
            statements_poll(now=NOW, engine=engine)
            return (
                sorted(
                    Charge.objects.values_list(
                        "usage_event_id",
                        "license_id",
                        "period",
                        "billed_period",
                        "start",
                        "duration",
                        "machine_rate",
                        "license_rate",
                        "cost",
                        "license_cost",
                    )
                ),
                sorted(
                    ChargeRollup.objects.values_list(
                        "license_id",
                        "billed_period",
                        "period",
                        "pool",
                        "machine_type",
                        "region",
                        "license_type",
                        "duration",
                        "cost",
                        "license_cost",
                        "lines",
                    )
                ),
                sorted(UnratedEvent.objects.values_list("usage_event_id", "reason")),
            )

        results = {}
        for engine in ("python", "sql"):
            with transaction.atomic():
                results[engine] = snapshot()
                transaction.set_rollback(True)
        self.assertEqual(results["python"], results["sql"])
        self.assertGreater(len(results["sql"][0]), 400)
        self.assertGreater(len(results["sql"][2]), 50)
