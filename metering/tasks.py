"""Celery tasks for device usage and platform imports: thin wrappers around run_job."""

from celery import shared_task

from accounts.jobs import run_job

from .imports.collect import usage_collect
from .services.rollups import usage_rollup

ROLLUP_JOB = "rollup_device_usage"
COLLECT_JOB = "collect_usage"


@shared_task
def rollup_device_usage() -> None:
    """Every two minutes: fold new device, firmware and API-call events into the live rollups."""
    run_job(ROLLUP_JOB, lambda run: usage_rollup())


@shared_task
def collect_usage(region_ids: list[int] | None = None) -> None:
    """Hourly: import new platform usage files (all enabled regions, or the ones named)."""
    run_job(COLLECT_JOB, lambda run: usage_collect(region_ids=region_ids))
