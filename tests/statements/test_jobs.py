"""The poll and close jobs through a real in-process Celery worker: each run is a JobRun, and a
run that finds the job's lock taken is recorded as skipped instead of overlapping."""

import threading
import time

from celery.contrib.testing.worker import start_worker
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import TransactionTestCase

from accounts.jobs import job_lock
from accounts.models import JobRun, JobStatus
from billing_site.celery import app
from billing_site.schedule import BEAT_SCHEDULE
from metering.models import Charge
from statements import tasks
from tests.factories import AccountFactory, LicenseFactory
from tests.statements.factories import at, catalog, ingest, session


class JobTests(TransactionTestCase):
    def setUp(self) -> None:
        catalog()
        self.license = LicenseFactory(account=AccountFactory(), created_at=at("2026-04-01"))
        ingest([session(self.license, f"s{n}", "2026-05-02 08:00", 600) for n in range(5)])

    def run_task(self, task: object, name: str) -> None:
        """Send the task to an in-process worker and wait until its job run has finished. The
        wait reads the database, not a result backend: Celery keeps the backend it made for the
        first message sent in a thread, and earlier tests' polls send chart refreshes."""
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            task.delay()
            deadline = time.monotonic() + 30
            while not JobRun.objects.filter(name=name, finished_at__isnull=False).exists():
                self.assertLess(time.monotonic(), deadline, f"{name} did not finish in 30 s")
                time.sleep(0.05)

    def test_the_poll_task_prices_new_usage_and_records_its_run(self) -> None:
        self.run_task(tasks.poll_events, "poll_events")
        run = JobRun.objects.get(name="poll_events")
        self.assertEqual(run.status, JobStatus.OK)
        self.assertEqual((run.counts["rated_events"], run.counts["lines"]), (5, 5))
        self.assertEqual(Charge.objects.count(), 5)

    def test_a_poll_never_overlaps_another(self) -> None:
        held, done = threading.Event(), threading.Event()

        def other_run() -> None:  # another process's poll, holding the lock meanwhile
            try:
                with job_lock("poll_events") as acquired:
                    self.assertTrue(acquired)
                    held.set()
                    done.wait(30)
            finally:
                connections.close_all()

        holder = threading.Thread(target=other_run)
        holder.start()
        self.assertTrue(held.wait(30))
        try:
            with self.assertRaisesMessage(CommandError, "Another poll is running"):
                call_command("poll_events")
        finally:
            done.set()
            holder.join()
        self.assertEqual(list(JobRun.objects.values_list("status", flat=True)), [JobStatus.SKIPPED])
        self.assertEqual(Charge.objects.count(), 0)
        call_command("poll_events")
        self.assertEqual(Charge.objects.count(), 5)

    def test_the_beat_schedule_runs_the_poll_every_two_minutes_and_the_close_on_the_first(
        self,
    ) -> None:
        self.assertEqual(BEAT_SCHEDULE["poll-events"]["schedule"], 120.0)
        close = BEAT_SCHEDULE["close-statements"]["schedule"]
        self.assertEqual((close.minute, close.hour, close.day_of_month), ({5}, {0}, {1}))
