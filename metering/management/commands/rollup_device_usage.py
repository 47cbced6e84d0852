"""Fold new device, firmware and API-call events into the live rollups (the job, by hand)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.jobs import run_job
from accounts.models import JobStatus
from metering.services.rollups import usage_rollup
from metering.tasks import ROLLUP_JOB


class Command(BaseCommand):
    help = "Roll new usage events up into the live device and daily usage figures."

    def handle(self, *args: Any, **options: Any) -> None:
        run = run_job(ROLLUP_JOB, lambda run: usage_rollup())
        if run.status == JobStatus.SKIPPED:
            raise CommandError("The rollup is already running; try again later.")
        self.stdout.write(
            f"Rolled up {run.counts['events']} events into {run.counts['device_rows']} device "
            f"rows and {run.counts['daily_rows']} daily rows."
        )
