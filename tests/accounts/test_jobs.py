"""Jobs: each run is recorded, failures too, and a job never runs twice at once."""

import threading
from datetime import timedelta

from django.db import connection
from django.test import TestCase, TransactionTestCase
from django.utils import timezone

from accounts.jobs import ERR_ABANDONED, job_lock, job_runs_prune, run_job
from accounts.models import JobRun, JobStatus


class RunJobTests(TestCase):
    def test_a_successful_run_is_recorded_with_its_counts(self) -> None:
        seen = []

        def work(run: JobRun) -> dict[str, int]:
            seen.append((run.pk, run.status))
            return {"rated": 3, "skipped": 0}

        run = run_job("poll_events", work)
        self.assertEqual(seen, [(run.pk, JobStatus.RUNNING)])
        stored = JobRun.objects.get()
        self.assertEqual(
            (stored.name, stored.status, stored.counts, stored.error),
            ("poll_events", JobStatus.OK, {"rated": 3, "skipped": 0}, ""),
        )
        self.assertIsNotNone(stored.finished_at)
        self.assertGreaterEqual(stored.finished_at, stored.started_at)

    def test_counts_set_during_the_run_are_kept(self) -> None:
        def work(run: JobRun) -> None:
            run.counts["seen"] = 7

        self.assertEqual(run_job("poll_events", work).counts, {"seen": 7})
        self.assertEqual(JobRun.objects.get().counts, {"seen": 7})

    def test_a_failed_run_is_recorded_with_its_error_and_re_raised(self) -> None:
        def work(run: JobRun) -> dict[str, int]:
            raise RuntimeError("price list missing")

        with self.assertRaisesMessage(RuntimeError, "price list missing"):
            run_job("poll_events", work)
        stored = JobRun.objects.get()
        self.assertEqual(stored.status, JobStatus.FAILED)
        self.assertIn("RuntimeError: price list missing", stored.error)
        self.assertIsNotNone(stored.finished_at)

    def test_the_lock_is_released_after_a_failure(self) -> None:
        with self.assertRaises(RuntimeError):
            run_job("poll_events", lambda run: (_ for _ in ()).throw(RuntimeError("boom")))
        self.assertEqual(run_job("poll_events", lambda run: {"n": 1}).status, JobStatus.OK)

    def test_different_jobs_do_not_block_each_other(self) -> None:
        with job_lock("poll_events") as first, job_lock("close_statements") as second:
            self.assertEqual((first, second), (True, True))

    def test_prune_deletes_only_old_runs(self) -> None:
        now = timezone.now()
        JobRun.objects.create(name="a", status="ok", started_at=now - timedelta(days=91))
        JobRun.objects.create(name="b", status="ok", started_at=now - timedelta(days=89))
        self.assertEqual(job_runs_prune(older_than_days=90), 1)
        self.assertEqual(list(JobRun.objects.values_list("name", flat=True)), ["b"])


class ConcurrentRunTests(TransactionTestCase):
    """Two real threads with their own database connections race for one job."""

    def test_a_second_run_while_the_first_is_busy_is_skipped(self) -> None:
        started, release = threading.Event(), threading.Event()
        calls: list[str] = []
        results: dict[str, JobRun | BaseException] = {}

        def slow_work(run: JobRun) -> dict[str, int]:
            calls.append("first")
            started.set()
            if not release.wait(timeout=20):
                raise TimeoutError("the test never released the first run")
            return {"done": 1}

        def fast_work(run: JobRun) -> dict[str, int]:
            calls.append("second")
            return {"done": 1}

        def in_thread(label: str, work: object) -> None:
            try:
                results[label] = run_job("poll_events", work)
            except BaseException as exc:  # reported by the assertions below
                results[label] = exc
            finally:
                connection.close()

        first = threading.Thread(target=in_thread, args=("first", slow_work))
        second = threading.Thread(target=in_thread, args=("second", fast_work))
        first.start()
        try:
            self.assertTrue(started.wait(timeout=20), "the first run never started")
            second.start()
            second.join(timeout=20)
        finally:
            release.set()
            first.join(timeout=20)

        self.assertEqual(calls, ["first"])
        self.assertEqual(results["second"].status, JobStatus.SKIPPED)
        self.assertEqual(results["first"].status, JobStatus.OK)
        runs = sorted(JobRun.objects.values_list("name", "status", "counts"))
        self.assertEqual(runs, [("poll_events", "ok", {"done": 1}), ("poll_events", "skipped", {})])

        # Once the first run is over the job runs again.
        self.assertEqual(run_job("poll_events", fast_work).status, JobStatus.OK)
        self.assertEqual(calls, ["first", "second"])


class AbandonedRunTests(TestCase):
    """A run whose process died (kill -9) never records its end; the next run finds it."""

    def test_a_run_left_running_is_abandoned_by_the_next_run_that_gets_the_lock(self) -> None:
        started = timezone.now() - timedelta(hours=3)
        crashed = JobRun.objects.create(name="poll_events", started_at=started)
        other_job = JobRun.objects.create(name="close_statements", started_at=started)
        before = timezone.now()

        run = run_job("poll_events", lambda run: {"rated": 1})

        crashed.refresh_from_db()
        self.assertEqual((crashed.status, crashed.error), (JobStatus.ABANDONED, ERR_ABANDONED))
        self.assertTrue(before <= crashed.finished_at <= run.started_at)
        self.assertEqual((run.status, run.counts), (JobStatus.OK, {"rated": 1}))
        other_job.refresh_from_db()
        self.assertEqual((other_job.status, other_job.finished_at), (JobStatus.RUNNING, None))

    def test_a_running_run_is_left_alone_while_another_connection_holds_the_lock(self) -> None:
        held, release = threading.Event(), threading.Event()

        def hold_lock() -> None:
            try:
                with job_lock("poll_events") as acquired:
                    if acquired:
                        held.set()
                        release.wait(timeout=20)
            finally:
                connection.close()

        holder = threading.Thread(target=hold_lock)
        holder.start()
        try:
            self.assertTrue(held.wait(timeout=20), "the other connection never took the lock")
            busy = JobRun.objects.create(name="poll_events")
            skipped = run_job("poll_events", lambda run: {"rated": 1})
        finally:
            release.set()
            holder.join(timeout=20)

        busy.refresh_from_db()
        self.assertEqual((busy.status, busy.finished_at, busy.error), (JobStatus.RUNNING, None, ""))
        self.assertEqual(skipped.status, JobStatus.SKIPPED)
