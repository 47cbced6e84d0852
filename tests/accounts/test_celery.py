"""Celery: the housekeeping task runs through a real in-process worker on the configured broker
(memory:// by default, Redis when CELERY_BROKER_URL is set) and shows up on the Health page."""

import time
from datetime import timedelta

from celery.contrib.testing.worker import start_worker
from django.test import TransactionTestCase
from django.urls import reverse
from django.utils import timezone

from accounts.models import JobRun, JobStatus
from accounts.tasks import prune_job_runs
from billing_site.celery import app
from tests.base import html_tables
from tests.factories import UserFactory


def wait_for(condition: object, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


class PruneJobRunsTaskTests(TransactionTestCase):
    def test_worker_prunes_old_runs_records_its_run_and_health_shows_it(self) -> None:
        old = timezone.now() - timedelta(days=120)
        for status in (JobStatus.OK, JobStatus.FAILED):
            JobRun.objects.create(name="poll_events", status=status, started_at=old)
        recent = JobRun.objects.create(name="poll_events", status=JobStatus.OK)

        with start_worker(app, perform_ping_check=False, shutdown_timeout=20):
            prune_job_runs.delay()
            finished = wait_for(
                lambda: (
                    JobRun.objects.filter(name="prune_job_runs")
                    .exclude(status=JobStatus.RUNNING)
                    .exists()
                )
            )
        self.assertTrue(finished, "the worker never recorded a prune_job_runs run")

        run = JobRun.objects.get(name="prune_job_runs")
        self.assertEqual((run.status, run.counts, run.error), (JobStatus.OK, {"deleted": 2}, ""))
        self.assertEqual(
            sorted(JobRun.objects.values_list("pk", flat=True)), sorted([recent.pk, run.pk])
        )

        self.client.force_login(UserFactory(username="ops", is_staff=True))
        response = self.client.get(reverse("accounts:health"))
        [jobs] = html_tables(response)
        [row] = [row for row in jobs if row[0] == "prune_job_runs"]
        name, schedule, started, status, age, counts, error = row
        self.assertEqual((name, schedule, status), ("prune_job_runs", "at 03:17", "OK"))
        self.assertEqual(started, f"{run.started_at:%Y-%m-%d %H:%M:%S}")
        self.assertRegex(age, r"^(now|a second ago|\d{1,2} seconds ago)$")
        self.assertEqual((counts, error), ("deleted 2", ""))
