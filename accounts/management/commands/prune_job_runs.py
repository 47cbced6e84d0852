"""Delete old job-run records by hand (beat does it nightly)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.jobs import job_runs_prune, run_job
from accounts.models import JobStatus


class Command(BaseCommand):
    help = "Delete job-run records older than --days (default 90), as the nightly job does."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=90)

    def handle(self, *args: Any, days: int, **options: Any) -> None:
        if days < 1:
            raise CommandError("--days must be 1 or more.")
        run = run_job(
            "prune_job_runs", lambda run: {"deleted": job_runs_prune(older_than_days=days)}
        )
        if run.status == JobStatus.SKIPPED:
            raise CommandError("Pruning is already running; try again later.")
        self.stdout.write(f"Deleted {run.counts['deleted']} job runs older than {days} days.")
