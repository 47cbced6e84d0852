"""Generate monthly usage reports by hand: every due month (as the daily job does), or one."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.jobs import run_job
from accounts.models import JobStatus
from metering.months import Month
from quotas.services.reports import months_text, usage_report_generate, usage_reports_run
from quotas.tasks import REPORT_JOB


class Command(BaseCommand):
    help = (
        "Generate the monthly usage reports and their gzipped CSV files. Without --period: "
        "every month due by today's third business day and not generated yet (the daily job). "
        "A generated month never changes, so running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", help="one month, YYYY-MM, that is over")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["period"]:
            self._one(options["period"])
            return
        outcome: dict[str, str] = {}

        def work(run: object) -> dict[str, int]:
            result = usage_reports_run()
            outcome["generated"] = months_text(result.generated)
            return {"months": len(result.generated)}

        run = run_job(REPORT_JOB, work)
        if run.status == JobStatus.SKIPPED:
            raise CommandError("The usage report job is already running; try again later.")
        self.stdout.write(f"Generated usage reports for: {outcome['generated']}.")

    def _one(self, text: str) -> None:
        try:
            month = Month.parse(text)
            if month.end > timezone.now():
                raise CommandError(
                    f"{month} is not over yet; its reports can be generated from {month.next()}."
                )
            created = usage_report_generate(month=month)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if created:
            self.stdout.write(f"Generated the usage reports for {month}.")
        else:
            self.stdout.write(f"The usage reports for {month} already exist; nothing changed.")
