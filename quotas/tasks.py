"""Celery tasks for service packages and monthly usage reports: thin wrappers around run_job."""

from celery import shared_task

from accounts.jobs import run_job
from accounts.models import JobRun

from .services.packages import packages_expire
from .services.reports import usage_reports_run

REPORT_JOB = "generate_usage_reports"
EXPIRY_JOB = "expire_service_packages"


def expire_packages_work(run: JobRun) -> dict[str, int]:
    return packages_expire()


def generate_reports_work(run: JobRun) -> dict[str, int]:
    result = usage_reports_run()
    return {"months": len(result.generated)}


@shared_task
def generate_usage_reports() -> None:
    """Daily shortly after midnight UTC: on and after the third business day, last month's
    reports (and any month missed)."""
    run_job(REPORT_JOB, generate_reports_work)


@shared_task
def expire_service_packages() -> None:
    run_job(EXPIRY_JOB, expire_packages_work)
