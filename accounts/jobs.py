"""The one mechanism every scheduled job uses: a lock so a job never runs twice at once, and a
JobRun row per run with its status, counts and error.

Celery tasks are thin wrappers: `run_job("poll_events", poll_events_service)`. Tasks are enqueued
with `task.delay_on_commit(...)` so a worker never sees rows that are not committed yet.
"""

import hashlib
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from .models import JobRun, JobStatus

JobWork = Callable[[JobRun], dict[str, int] | None]

ERR_ABANDONED = (
    "Abandoned: still marked running when a later run of this job found its lock free, so the "
    "process running it had died (killed or crashed). It ended at an unknown time; its finish "
    "time is when it was found."
)


def _advisory_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"job:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def job_lock(name: str) -> Iterator[bool]:
    """Yield True when this process holds the job's lock, False when another run holds it.

    A session-level advisory lock: it outlives the transactions the job commits along the way,
    and PostgreSQL releases it by itself if the process dies, so a crash never leaves it held."""
    key = _advisory_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def run_job(name: str, work: JobWork) -> JobRun:
    """Run `work` once under the job's lock and record the run. A failure is recorded, then
    re-raised so Celery and management commands report it too."""
    with job_lock(name) as acquired:
        if not acquired:
            now = timezone.now()
            return JobRun.objects.create(
                name=name, status=JobStatus.SKIPPED, started_at=now, finished_at=now
            )
        _abandon_dead_runs(name)
        run = JobRun.objects.create(name=name)
        try:
            counts = work(run) or {}
        except Exception:
            run.status = JobStatus.FAILED
            run.error = traceback.format_exc()[-10_000:]
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "error", "finished_at", "counts"])
            raise
        run.status = JobStatus.OK
        run.counts = {**run.counts, **counts}
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "counts", "finished_at"])
        return run


def _abandon_dead_runs(name: str) -> int:
    """Only the lock holder records a run as running and PostgreSQL frees the lock when its
    connection ends, so while we hold the lock any run of the job still marked running belongs
    to a process that died before it could record its end."""
    return JobRun.objects.filter(name=name, status=JobStatus.RUNNING).update(
        status=JobStatus.ABANDONED, finished_at=timezone.now(), error=ERR_ABANDONED
    )


def job_runs_prune(*, older_than_days: int = 90) -> int:
    """Delete job runs older than the given age; returns how many went."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = JobRun.objects.filter(started_at__lt=cutoff).delete()
    return deleted
