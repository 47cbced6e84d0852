"""The beat schedule (UTC). Each entry names a thin task that runs one job through accounts.jobs."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    "poll-events": {
        "task": "statements.tasks.poll_events",
        "schedule": 120.0,
    },
    # Shortly after midnight UTC on the 1st: a final poll, then last month's statements close.
    "close-statements": {
        "task": "statements.tasks.close_statements",
        "schedule": crontab(minute=5, hour=0, day_of_month=1),
    },
    "demo-feed": {
        "task": "statements.tasks.demo_feed",
        "schedule": 60.0,
    },
    "prune-job-runs": {
        "task": "accounts.tasks.prune_job_runs",
        "schedule": crontab(minute=17, hour=3),
    },
}
