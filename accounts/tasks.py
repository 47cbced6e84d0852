"""Celery tasks for platform housekeeping."""

from celery import shared_task

from .jobs import job_runs_prune, run_job


@shared_task
def prune_job_runs() -> None:
    run_job("prune_job_runs", lambda run: {"deleted": job_runs_prune()})
