"""Close the statements of past months by hand (the job does it on the 1st of each month)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.jobs import run_job
from accounts.models import JobStatus
from metering.months import Month
from statements.services.close import close_period_check, statements_close


class Command(BaseCommand):
    help = (
        "A final poll, then close every open statement up to --period YYYY-MM (default: last "
        "month), oldest first. The current or a future month is refused. Running it twice "
        "changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", help="the last month to close, YYYY-MM")

    def handle(self, *args: Any, period: str | None, **options: Any) -> None:
        through = None
        if period is not None:
            try:
                through = Month.parse(period).first_day
            except ValidationError as exc:
                raise CommandError(f"--period: {' '.join(exc.messages)}") from exc
            try:
                close_period_check(through, timezone.now())
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
        run = run_job("close_statements", lambda run: statements_close(through=through).counts())
        if run.status == JobStatus.SKIPPED:
            raise CommandError("Another close is running; nothing done.")
        counts = run.counts
        self.stdout.write(
            f"Closed {counts['statements_closed']} statement(s) in {counts['periods_closed']} "
            f"month(s); created {counts['statements_created']}."
        )
