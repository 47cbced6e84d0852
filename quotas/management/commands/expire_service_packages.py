"""Terminate every service package whose 12 months are over (the hourly job, by hand)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.jobs import run_job
from accounts.models import JobStatus
from quotas.tasks import EXPIRY_JOB, expire_packages_work


class Command(BaseCommand):
    help = "Write the terminations of expired service packages; running it again changes nothing."

    def handle(self, *args: Any, **options: Any) -> None:
        run = run_job(EXPIRY_JOB, expire_packages_work)
        if run.status == JobStatus.SKIPPED:
            raise CommandError("Package expiry is already running; try again later.")
        self.stdout.write(
            f"Expired {run.counts['packages']} packages and terminated "
            f"{run.counts['campaigns']} campaigns."
        )
