"""Health page for staff: database and broker reachability, the last run of each scheduled job."""

from datetime import timedelta

import time_machine
from celery.schedules import crontab
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from accounts.jobs import ERR_ABANDONED
from accounts.models import JobRun, JobStatus
from accounts.selectors import describe_schedule, job_health
from billing_site.celery import app
from billing_site.schedule import BEAT_SCHEDULE
from tests.base import html_tables
from tests.factories import UserFactory

HEALTH = reverse("accounts:health")


def job_row(rows: list[list[str]], name: str) -> list[str]:
    [row] = [row for row in rows if row[0] == name]
    return row


class HealthPageTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.staff = UserFactory(username="ops", is_staff=True)

    def setUp(self) -> None:
        self.client.force_login(self.staff)

    def test_database_and_broker_are_reported_reachable(self) -> None:
        response = self.client.get(HEALTH)
        self.assertEqual(response.status_code, 200)
        body = response.content.decode()
        self.assertEqual(body.count(">reachable</span>"), 2)
        self.assertNotIn("unreachable", body)
        self.assertIn("PostgreSQL reachable", body)
        transport = "redis" if app.conf.broker_url.startswith("redis") else "memory"
        self.assertIn(f"{transport} reachable", body)

    def test_an_unreachable_broker_is_shown_with_the_reason(self) -> None:
        # A real connection attempt to a port nothing listens on.
        with self.settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
            response = self.client.get(HEALTH)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, ">unreachable</span>", count=1)
        self.assertContains(response, "Connection refused")

    def test_every_scheduled_job_is_listed_and_one_that_never_ran_says_so(self) -> None:
        [jobs] = html_tables(self.client.get(HEALTH))
        names = sorted(entry["task"].rsplit(".", 1)[-1] for entry in BEAT_SCHEDULE.values())
        self.assertEqual([row[0] for row in jobs], names)
        self.assertEqual(
            job_row(jobs, "prune_job_runs"), ["prune_job_runs", "at 03:17", "Has not run yet."]
        )

    # prune_job_runs is due daily at 03:17: from 03:27 to 05:17 a run two hours old has missed
    # today's and is overdue. At noon it is the latest.
    @time_machine.travel("2026-11-30T12:00:00Z", tick=False)
    def test_a_recent_run_shows_status_age_and_counts(self) -> None:
        JobRun.objects.create(
            name="prune_job_runs",
            status=JobStatus.OK,
            started_at=timezone.now() - timedelta(hours=2),
            finished_at=timezone.now(),
            counts={"deleted": 5, "kept_runs": 3},
        )
        [jobs] = html_tables(self.client.get(HEALTH))
        name, _, _, status, age, counts, error = job_row(jobs, "prune_job_runs")
        self.assertEqual(
            (name, status, age, counts, error),
            ("prune_job_runs", "OK", "2 hours ago", "deleted 5 · kept runs 3", ""),
        )

    def test_a_failed_run_missed_since_shows_its_error_and_is_overdue(self) -> None:
        JobRun.objects.create(
            name="prune_job_runs",
            status=JobStatus.FAILED,
            started_at=timezone.now() - timedelta(days=3),
            error="Traceback...\nRuntimeError: disk full",
        )
        JobRun.objects.create(
            name="prune_job_runs",
            status=JobStatus.OK,
            started_at=timezone.now() - timedelta(days=9),
        )
        response = self.client.get(HEALTH)
        _, _, _, status, age, _, error = job_row(html_tables(response)[0], "prune_job_runs")
        self.assertEqual((status, age), ("Failed overdue", "3 days ago"))
        self.assertEqual(error, "Traceback... RuntimeError: disk full")

    def test_a_recently_abandoned_run_is_named_beside_the_last_run(self) -> None:
        now = timezone.now().replace(microsecond=0)
        for started, found in [
            (timedelta(days=9), timedelta(days=8)),
            (timedelta(days=2), timedelta(minutes=1)),
        ]:
            JobRun.objects.create(
                name="prune_job_runs",
                status=JobStatus.ABANDONED,
                started_at=now - started,
                finished_at=now - found,
                error=ERR_ABANDONED,
            )
        JobRun.objects.create(
            name="prune_job_runs", status=JobStatus.OK, started_at=now, finished_at=now
        )
        [jobs] = html_tables(self.client.get(HEALTH))
        _, _, _, status, _, _, error = job_row(jobs, "prune_job_runs")
        started = (now - timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
        found = (now - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
        self.assertEqual(
            status, f"OK Last abandoned run: started {started} UTC, found at {found} UTC"
        )
        self.assertEqual(error, "")

    def test_an_old_abandoned_run_is_no_longer_named(self) -> None:
        now = timezone.now()
        JobRun.objects.create(
            name="prune_job_runs",
            status=JobStatus.ABANDONED,
            started_at=now - timedelta(days=9),
            finished_at=now - timedelta(days=8),
        )
        JobRun.objects.create(name="prune_job_runs", status=JobStatus.OK, started_at=now)
        [jobs] = html_tables(self.client.get(HEALTH))
        self.assertEqual(job_row(jobs, "prune_job_runs")[3], "OK")


class JobHealthTests(TestCase):
    def test_overdue_is_judged_for_crontab_and_interval_schedules(self) -> None:
        now = timezone.now()
        beat = {
            "daily": {"task": "x.tasks.daily", "schedule": crontab(minute=0, hour=4)},
            "poll": {"task": "x.tasks.poll", "schedule": 120.0},
            "hourly": {"task": "x.tasks.hourly", "schedule": timedelta(hours=1)},
        }
        JobRun.objects.create(name="daily", status="ok", started_at=now - timedelta(days=2))
        JobRun.objects.create(name="poll", status="ok", started_at=now - timedelta(seconds=30))
        JobRun.objects.create(name="hourly", status="ok", started_at=now - timedelta(hours=3))
        health = {job.name: job for job in job_health(beat)}
        self.assertEqual(
            {name: job.overdue for name, job in health.items()},
            {"daily": True, "poll": False, "hourly": True},
        )
        self.assertEqual(
            [(job.name, job.schedule) for job in job_health(beat)],
            [("daily", "at 04:00"), ("hourly", "every 60 minutes"), ("poll", "every 2 minutes")],
        )

    def test_describe_schedule_in_words(self) -> None:
        self.assertEqual(describe_schedule(crontab(minute="*/5")), "every 5 minutes")
        self.assertEqual(describe_schedule(crontab(minute=1)), "at 1 minute past the hour")
        self.assertEqual(
            describe_schedule(crontab(minute=5, hour=0, day_of_month=1)),
            "at 00:05, on day 1 of the month",
        )
        self.assertEqual(describe_schedule(90.0), "every 90 seconds")
        self.assertEqual(describe_schedule(1.0), "every second")
        self.assertEqual(describe_schedule(60.0), "every minute")
