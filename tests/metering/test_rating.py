"""The rating rules of issue 3: each rule by example, then all of them on varied usage."""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, localcontext

from django.test import TestCase, override_settings

from accounts.money import round_money
from licenses.models import LicenseType, MachineType, Pool, Region
from licenses.services import license_rate_add, machine_rate_add, machine_type_create
from metering.models import Charge, ChargeRollup, UnratedEvent
from metering.rating import (
    REASON_NO_MACHINE_RATE,
    REASON_UNKNOWN_LICENSE_TYPE,
    REASON_UNKNOWN_MACHINE_TYPE,
)
from statements.services.poll import statements_poll
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


class RatingRulesTests(TestCase):
    """Each rule once, by example."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.account = AccountFactory()
        cls.license = LicenseFactory(account=cls.account)

    def rate(self, *events: dict) -> None:
        ingest_and_poll(list(events), NOW)

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


def split_at_months(start: datetime, seconds: int) -> list[tuple[date, datetime, datetime]]:
    """(month, part start, part end) of each calendar month a session touches; a session of zero
    seconds is one empty part in its start month."""
    end = start + timedelta(seconds=seconds)
    parts, part_start = [], start
    while True:
        month = part_start.date().replace(day=1)
        following = datetime.combine(
            (month + timedelta(days=32)).replace(day=1), datetime.min.time(), UTC
        )
        parts.append((month, part_start, min(end, following)))
        if end <= following:
            return parts
        part_start = following


class VariedUsageTests(TestCase):
    """Varied usage (three currencies, region rates, a rate change, sessions over several months,
    unknown machine types) gives exactly the lines, rollups and waiting sessions the rules say."""

    # Sessions of 40 days cross two month boundaries, beyond the default longest session.
    @override_settings(MAX_SESSION_SECONDS=40 * 86400)
    def test_every_rule_holds_on_varied_usage(self) -> None:
        generator = random.Random(7)
        accounts = [AccountFactory(currency=c) for c in ("USD", "JPY", "KWD")]
        licenses = [LicenseFactory(account=a) for a in accounts for _ in range(2)]
        catalog(
            {"c5.xlarge": "0.171234", "g4dn.xlarge": "0.526000", "m5.large": "0.096000"},
            {"standard": "0.050000", "premium": "0.125555"},
            {"g4dn.xlarge": {"eu-west": "0.612345"}},
        )
        premium_change = at("2026-03-10 06:00")
        license_rate_add(
            actor=None,
            license_type=LicenseType.objects.get(name="premium"),
            hourly_rate="0.200001",
            effective_from=premium_change,
        )

        def machine_rate(machine_type: str, region: str) -> Decimal:
            if (machine_type, region) == ("g4dn.xlarge", "eu-west"):
                return Decimal("0.612345")
            return {
                "c5.xlarge": Decimal("0.171234"),
                "g4dn.xlarge": Decimal("0.526000"),
                "m5.large": Decimal("0.096000"),
            }[machine_type]

        def license_rate(license_type: str, moment: datetime) -> Decimal:
            if license_type == "standard":
                return Decimal("0.050000")
            return Decimal("0.125555") if moment < premium_change else Decimal("0.200001")

        def amount(duration: timedelta, rate: Decimal, currency: str) -> Decimal:
            seconds = Decimal(duration.days * 86400 + duration.seconds) + Decimal(
                duration.microseconds
            ).scaleb(-6)
            with localcontext() as context:
                context.prec = 50
                return round_money(seconds * rate / 3600, currency)

        events, expected_lines, expected_unrated = [], [], []
        for n in range(600):
            license = generator.choice(licenses)
            start = at("2026-01-25 00:00") + timedelta(
                seconds=generator.randrange(0, 100 * 86400), microseconds=generator.choice([0, 1])
            )
            seconds = generator.choice([0, 1, 59, 3599, 3600, 7201, 40 * 86400])
            machine_type = generator.choice(["c5.xlarge", "g4dn.xlarge", "m5.large", "z"])
            region = generator.choice(["us-east", "eu-west"])
            license_type = generator.choice(["standard", "premium", "standard"])
            events.append(
                session(
                    license,
                    f"e{n}",
                    start,
                    seconds,
                    machine_type=machine_type,
                    region=region,
                    pool=generator.choice(["render", "sim"]),
                    license_type=license_type,
                )
            )
            if machine_type == "z":
                expected_unrated.append((f"e{n}", REASON_UNKNOWN_MACHINE_TYPE.format(name="z")))
                continue
            currency = license.account.currency
            for month, part_start, part_end in split_at_months(start, seconds):
                # The rates in force at the part's start price the whole part.
                machine = machine_rate(machine_type, region)
                license_ = license_rate(license_type, part_start)
                duration = part_end - part_start
                expected_lines.append(
                    (
                        f"e{n}",
                        license.id,
                        month,
                        month,  # no statement is closed, so every part is billed in its month
                        part_start,
                        duration,
                        machine,
                        license_,
                        amount(duration, machine, currency),
                        amount(duration, license_, currency),
                    )
                )
        # Sent and priced once every session has ended (the last ones end in June).
        ingest(events, now=at("2026-07-01"))
        statements_poll(now=at("2026-07-01"))

        stored_lines = sorted(
            Charge.objects.values_list(
                "usage_event__event_id",
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
        )
        self.assertEqual(stored_lines, sorted(expected_lines))
        # Each rollup row is the sum of its lines, rounded lines added as they are.
        totals: dict[tuple, list] = defaultdict(lambda: [timedelta(0), Decimal(0), Decimal(0), 0])
        for line in Charge.objects.all():
            key = (
                line.license_id,
                line.billed_period,
                line.period,
                line.pool,
                line.machine_type,
                line.region,
                line.license_type,
            )
            total = totals[key]
            total[0] += line.duration
            total[1] += line.cost
            total[2] += line.license_cost
            total[3] += 1
        self.assertEqual(
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
            sorted((*key, *total) for key, total in totals.items()),
        )
        unrated = sorted(UnratedEvent.objects.values_list("usage_event__event_id", "reason"))
        self.assertEqual(unrated, sorted(expected_unrated))
        self.assertGreater(len(stored_lines), 400)
        self.assertGreater(len(unrated), 50)
