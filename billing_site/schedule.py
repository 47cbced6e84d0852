"""The beat schedule (UTC). Each entry names a thin task that runs one job through accounts.jobs."""

from celery.schedules import crontab
from django.conf import settings

BEAT_SCHEDULE: dict[str, dict] = {
    "rollup-device-usage": {
        "task": "metering.tasks.rollup_device_usage",
        "schedule": crontab(minute="*/2"),
    },
    # Hourly: new platform usage files from USAGE_IMPORT_DIR through the ingest.
    "collect-usage": {
        "task": "metering.tasks.collect_usage",
        "schedule": crontab(minute=7),
    },
    "expire-service-packages": {
        "task": "quotas.tasks.expire_service_packages",
        "schedule": crontab(minute=1),
    },
    # Daily, shortly after midnight UTC: acts on and after the third business day, done well
    # before 02:00 UTC (one scan of last month's events).
    "generate-usage-reports": {
        "task": "quotas.tasks.generate_usage_reports",
        "schedule": crontab(minute=10, hour=0),
    },
    "poll-events": {
        "task": "statements.tasks.poll_events",
        "schedule": 120.0,
    },
    # Shortly after midnight UTC on the 1st: a final poll, then last month's statements close.
    "close-statements": {
        "task": "statements.tasks.close_statements",
        "schedule": crontab(minute=5, hour=0, day_of_month=1),
    },
    "prune-job-runs": {
        "task": "accounts.tasks.prune_job_runs",
        "schedule": crontab(minute=17, hour=3),
    },
}

if settings.DEMO_FEED:
    # The local demo (bin/run) adds a few machine sessions a minute so the poll visibly moves.
    BEAT_SCHEDULE["demo-feed"] = {"task": "statements.tasks.demo_feed", "schedule": 60.0}
