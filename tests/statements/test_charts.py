"""Hourly metrics split each line across the hours it ran, in proportion to its seconds; the
chart cache is built after a poll by a worker, and the page only reads it."""

from datetime import date, timedelta
from decimal import Decimal
from unittest import mock
from urllib.parse import urlencode

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from kombu.exceptions import OperationalError

from statements import tasks
from statements.charts import cost_pie, hourly_figure, statement_figures
from statements.models import Statement, StatementChart
from statements.selectors import HourlySeries, hourly_series, statement_sections
from statements.services.chart_cache import statement_chart_refresh, statement_charts_refresh
from statements.services.poll import statements_poll
from tests.factories import AccountFactory, LicenseFactory
from tests.statements.factories import at, catalog, ingest, ingest_and_poll, session
from tests.statements.world import IN_MAY, StatementWorld

MAY = date(2026, 5, 1)
FIGURES = [
    "hourly-cost",
    "hourly-machine_type",
    "hourly-machines",
    "hourly-pool",
    "hourly-region",
    "pie-machine_type",
    "pie-pool",
    "pie-region",
]


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
        self.assertEqual(sorted(figures), FIGURES)
        self.assertNotIn("<", "".join(figures.values()))
        self.assertEqual(self.statement.total_charges, Decimal("4.38"))
        self.assertEqual(self.statement.usage, timedelta(seconds=6300 + 600 + 3600))


class CurrentMonthTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        catalog({"c5.xlarge": "1.000000"}, {"standard": "0.500000"})
        cls.license = LicenseFactory(account=AccountFactory(), created_at=at("2026-05-01"))
        ingest_and_poll([session(cls.license, "a", "2026-05-02 10:30", 3600)], at("2026-05-03"))
        cls.statement = Statement.objects.get(period=MAY)

    def test_the_current_month_spans_up_to_now(self) -> None:
        series = hourly_series(self.statement, now=at("2026-05-03 05:20"))
        self.assertEqual(
            (series.hours[0], series.hours[-1], len(series.cost)),
            (at("2026-05-01"), at("2026-05-03 05:00"), 54),
        )

    def test_usage_after_now_stays_on_the_chart(self) -> None:
        series = hourly_series(self.statement, now=at("2026-05-01 03:00"))
        self.assertEqual((series.hours[-1], series.machines[-1]), (at("2026-05-02 11:00"), 1))

    def test_a_past_month_spans_the_whole_month(self) -> None:
        self.assertEqual(len(hourly_series(self.statement, now=at("2026-06-01")).hours), 744)


class EmptyChartTests(TestCase):
    def test_an_empty_chart_draws_no_trace_and_centres_its_message(self) -> None:
        series = HourlySeries(hours=[at("2026-05-01")], cost=[0.0], machines=[0], by={})
        for figure in (hourly_figure("cost", series, "USD"), cost_pie([], "USD")):
            with self.subTest(figure=figure.layout.annotations[0].text):
                self.assertEqual(figure.data, ())
                note = figure.layout.annotations[0]
                self.assertEqual(
                    (note.xref, note.yref, note.x, note.y), ("paper", "paper", 0.5, 0.5)
                )


class ChartCacheTests(StatementWorld):
    def may(self) -> Statement:
        return Statement.objects.get(license=self.license, period=MAY)

    def view(self) -> object:
        params = urlencode({"license": self.license.uuid, "month": "2026-05"})
        return self.login(self.owner).get(f"{reverse('statements:panel')}?{params}")

    def test_the_poll_queues_the_chart_cache_of_each_statement_it_refreshed(self) -> None:
        ingest(
            [
                session(self.license, "d", "2026-05-05 08:00", 600),
                session(self.tenant_license, "u", "2026-05-05 08:00", 600),
            ],
            now=IN_MAY,
        )
        with (
            mock.patch.object(tasks.refresh_statement_charts, "delay") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            statements_poll(now=IN_MAY)
        refreshed = Statement.objects.filter(
            period=MAY, license__in=[self.license, self.tenant_license]
        )
        delay.assert_called_once_with(sorted(refreshed.values_list("id", flat=True)))

    def test_a_broker_that_refuses_the_refresh_leaves_the_poll_done(self) -> None:
        ingest([session(self.license, "d", "2026-05-05 08:00", 600)], now=IN_MAY)
        with (
            mock.patch.object(
                tasks.refresh_statement_charts, "delay", side_effect=OperationalError("down")
            ),
            self.assertLogs(level="ERROR"),
            self.captureOnCommitCallbacks(execute=True),
        ):
            result = statements_poll(now=IN_MAY)
        self.assertEqual(result.rating.lines, 1)
        self.assertEqual(self.may().line_count, 4)

    def test_the_worker_builds_the_cache_and_the_page_only_reads_it(self) -> None:
        may = self.may()
        tasks.refresh_statement_charts([may.id])
        chart = StatementChart.objects.get(statement=may)
        self.assertEqual((chart.revision, sorted(chart.figures)), (may.revision, FIGURES))
        with CaptureQueriesContext(connection) as captured:
            response = self.view()
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["figures"], chart.figures)
        # One read of the cache, no write.
        cache_queries = [q["sql"] for q in captured if "statements_statementchart" in q["sql"]]
        self.assertEqual([sql.split()[0] for sql in cache_queries], ["SELECT"])
        self.assertEqual(StatementChart.objects.get(statement=may).computed_at, chart.computed_at)

    def test_the_first_view_builds_no_chart_it_queues_the_refresh_for_a_worker(self) -> None:
        may = self.may()
        tasks.refresh_statement_charts([may.id])
        # A poll adds a line; the refresh it queued has not run yet.
        ingest([session(self.license, "d", "2026-05-05 08:00", 600)], now=IN_MAY)
        statements_poll(now=IN_MAY)
        may.refresh_from_db()
        with (
            mock.patch.object(tasks.refresh_statement_charts, "delay") as delay,
            self.captureOnCommitCallbacks(execute=True),
            CaptureQueriesContext(connection) as captured,
        ):
            response = self.view()
        self.assertIsNone(response.context["figures"])
        self.assertContains(response, "The charts of this statement are being prepared.")
        delay.assert_called_once_with([may.id])
        cache_queries = [q["sql"] for q in captured if "statements_statementchart" in q["sql"]]
        self.assertEqual([sql.split()[0] for sql in cache_queries], ["SELECT"])
        self.assertEqual(StatementChart.objects.get(statement=may).revision, may.revision - 1)

    def test_a_statement_without_lines_shows_no_usage_and_queues_nothing(self) -> None:
        june = Statement.objects.create(
            account=self.account, license=self.license, period=date(2026, 6, 1), currency="USD"
        )
        params = urlencode({"license": self.license.uuid, "month": "2026-06"})
        with (
            mock.patch.object(tasks.refresh_statement_charts, "delay") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.login(self.owner).get(f"{reverse('statements:panel')}?{params}")
        self.assertEqual(response.context["statement"], june)
        self.assertContains(response, "No usage this month", count=2)
        delay.assert_not_called()

    def test_a_refresh_builds_only_stale_caches_and_never_goes_back_a_revision(self) -> None:
        may = self.may()
        self.assertEqual(statement_charts_refresh(statement_ids=[may.id]), 1)
        self.assertEqual(statement_charts_refresh(statement_ids=[may.id]), 0)
        older = Statement.objects.get(pk=may.pk)
        older.revision -= 1  # a refresh that read the statement before the last poll
        statement_chart_refresh(statement=older)
        self.assertEqual(StatementChart.objects.get(statement=may).revision, may.revision)
