"""Celery tasks for device usage: thin wrappers around run_job."""

from celery import shared_task

from accounts.jobs import run_job

from .services.rollups import usage_rollup

ROLLUP_JOB = "rollup_device_usage"


@shared_task
def rollup_device_usage() -> None:
    """Every two minutes: fold new device, firmware and API-call events into the live rollups."""
    run_job(ROLLUP_JOB, lambda run: usage_rollup())
