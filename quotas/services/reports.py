"""The monthly usage report job: which months are due, generated with the quota's data."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from metering.months import Month, last_reportable_month
from metering.selectors import generated_months
from metering.services.reports import first_usage_month, usage_reports_generate

from ..models import ServicePackage
from ..selectors.campaigns import campaign_names
from ..selectors.packages import accounts_with_package_in


@dataclass(frozen=True)
class ReportRun:
    generated: list[Month]
    already: list[Month]


def months_due(today: date) -> list[Month]:
    """Months whose reports are due by `today` and not generated yet: from the first month
    with reports (or, before any, with usage or a package) through the last month whose third
    business day has come. Gaps are filled too, so missed days are caught up."""
    last = last_reportable_month(today)
    done = generated_months()
    if done:
        first = min(done)
    else:
        starts = [
            Month.of(moment)
            for moment in ServicePackage.objects.order_by("starts_at").values_list(
                "starts_at", flat=True
            )[:1]
        ]
        usage = first_usage_month()
        candidates = [m for m in [*starts, usage] if m is not None]
        if not candidates:
            return []
        first = min(candidates)
    return [m for m in first.until(last) if m not in done]


def usage_report_generate(*, month: Month, now: datetime | None = None) -> bool:
    """Generate one month's reports (the command's --period); False if they already exist."""
    _, created = usage_reports_generate(
        month=month,
        campaign_names=campaign_names(),
        packaged_account_ids=accounts_with_package_in(month),
        now=now,
    )
    return created


def usage_reports_run(*, today: date | None = None, now: datetime | None = None) -> ReportRun:
    """The daily job: generate every due month, oldest first. Running it again changes
    nothing."""
    now = now or timezone.now()
    today = today or now.date()
    generated, already = [], []
    for month in months_due(today):
        (generated if usage_report_generate(month=month, now=now) else already).append(month)
    return ReportRun(generated=generated, already=already)


def months_text(months: Sequence[Month]) -> str:
    return ", ".join(str(m) for m in months) or "none"
