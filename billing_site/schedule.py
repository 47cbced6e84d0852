"""The beat schedule (UTC). Each entry names a thin task that runs one job through accounts.jobs."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    "prune-job-runs": {
        "task": "accounts.tasks.prune_job_runs",
        "schedule": crontab(minute=17, hour=3),
    },
}
