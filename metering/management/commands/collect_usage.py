"""Import the waiting platform usage files of every enabled region (the hourly job, by hand)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.jobs import run_job
from accounts.models import JobStatus
from metering.imports.collect import usage_collect
from metering.imports.runner import ImportFailed
from metering.tasks import COLLECT_JOB


class Command(BaseCommand):
    help = "Import new usage files from USAGE_IMPORT_DIR/<platform>/<region>/ (then done/)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = run_job(COLLECT_JOB, lambda run: usage_collect())
        except ImportFailed as exc:
            raise CommandError(str(exc)) from exc
        if run.status == JobStatus.SKIPPED:
            raise CommandError("A collection is already running; try again later.")
        counts = run.counts
        self.stdout.write(
            f"{counts['files']} files in {counts['regions']} regions: {counts['imported']} "
            f"imported, {counts['failed']} failed, {counts['errors']} left for the next run; "
            f"{counts['events']} new events."
        )
