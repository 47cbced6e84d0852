"""Hourly metrics split each line across the hours it ran, in proportion to its seconds."""

from datetime import date, timedelta
from decimal import Decimal

from django.test import TestCase

from statements.charts import statement_figures
from statements.models import Statement
from statements.selectors import hourly_series, statement_sections
from tests.factories import AccountFactory, LicenseFactory
from tests.statements.factories import at, catalog, ingest_and_poll, session

MAY = date(2026, 5, 1)


class HourlySeriesTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        catalog({"c5.xlarge": "1.000000"}, {"standard": "0.500000"})
        license = LicenseFactory(account=AccountFactory(), created_at=at("2026-05-01"))
        ingest_and_poll(
            [
                # 10:30-12:15: cost 1.75 + license 0.875 -> 0.88, so 2.63 over 6,300 s.
                session(license, "long", "2026-05-02 10:30", 6300),
                session(license, "short", "2026-05-02 11:00", 600, pool="sim", region="eu-west"),
                session(license, "empty", "2026-05-02 13:00", 0),
                # April's tail of a session is April's; only its May part is in May's hours.
                session(license, "across", "2026-04-30 23:00", 7200),
            ],
            at("2026-05-20"),
        )
        cls.statement = Statement.objects.get(period=MAY)

    def test_cost_and_machines_per_hour(self) -> None:
        series = hourly_series(self.statement)
        self.assertEqual(len(series.hours), 31 * 24)
        hour = {h: n for n, h in enumerate(series.hours)}
        at_10 = hour[at("2026-05-02 10:00")]
        rate = 2.63 / 6300
        short = 0.17 + 0.08  # 600 s: cost 0.1666.. -> 0.17, license 0.0833.. -> 0.08
        expected = {
            at_10: rate * 1800,
            at_10 + 1: rate * 3600 + short,
            at_10 + 2: rate * 900,
            at_10 + 3: 0.0,
            hour[at("2026-05-01 00:00")]: 1.5,
        }
        for index, value in expected.items():
            self.assertAlmostEqual(series.cost[index], value, places=9)
        self.assertAlmostEqual(sum(series.cost), float(self.statement.total_charges), places=9)
        self.assertEqual(series.machines[at_10 : at_10 + 4], [1, 2, 1, 1])
        self.assertEqual(series.machines[hour[at("2026-05-01 00:00")]], 1)
        self.assertEqual(sum(series.machines), 6)
        self.assertEqual(sorted(series.by["pool"]), ["render", "sim"])
        self.assertAlmostEqual(series.by["pool"]["sim"][at_10 + 1], short, places=9)
        self.assertAlmostEqual(series.by["region"]["eu-west"][at_10 + 1], short, places=9)

    def test_every_figure_is_built(self) -> None:
        figures = statement_figures(
            self.statement, statement_sections(self.statement), hourly_series(self.statement)
        )
        self.assertEqual(
            sorted(figures),
            [
                "hourly-cost",
                "hourly-machine_type",
                "hourly-machines",
                "hourly-pool",
                "hourly-region",
                "pie-machine_type",
                "pie-pool",
                "pie-region",
            ],
        )
        self.assertNotIn("<", "".join(figures.values()))
        self.assertEqual(self.statement.total_charges, Decimal("4.38"))
        self.assertEqual(self.statement.usage, timedelta(seconds=6300 + 600 + 3600))
