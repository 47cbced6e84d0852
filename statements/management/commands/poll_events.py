"""Run the two-minute poll once, by hand: price new usage, refresh the statements it touched,
rate metered usage into daily billing rows."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.jobs import run_job
from accounts.models import JobStatus
from statements.services.poll import events_poll


class Command(BaseCommand):
    help = (
        "Price every new machine session and refresh the open statements it touched; rate new "
        "metered usage into daily billing rows."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        run = run_job("poll_events", lambda run: events_poll())
        if run.status == JobStatus.SKIPPED:
            raise CommandError("Another poll is running; nothing done.")
        counts = run.counts
        self.stdout.write(
            f"Priced {counts['rated_events']} sessions into {counts['lines']} lines on "
            f"{counts['statements_touched']} statements; {counts['unrated_events']} sessions "
            "wait for a price."
        )
        self.stdout.write(
            f"Rated {counts['usage_events']} usage events: {counts['billing_rows_written']} "
            f"billing rows written, {counts['billing_rows_deleted']} removed, "
            f"{counts['billing_adjustments']} adjustments; {counts['usage_waiting']} usage "
            "events wait."
        )
