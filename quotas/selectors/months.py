"""The one rule for the months an account's billing is about: what the account's usage report
of a month is (live, generated, pending, late, absent, future) and why there is none, which
months the pages' picker offers, and what a page says about a month it cannot show. The pages
and the billing-report API both read it."""

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.db.models import Min

from accounts.models import Account
from metering.models import UsageReport
from metering.months import REPORTS_READY_BY, Month, report_available_on
from metering.selectors import report_month, report_of

from ..models import ServicePackage
from .packages import package_holder

# Why an account has no report for a month (the API's 404, the pages' messages). Tests assert these.
ERR_REPORT_NOT_OVER = (
    "{month} is not over yet: its usage report will be available on {day:%Y-%m-%d} "
    f"by {REPORTS_READY_BY}."
)
ERR_REPORT_FUTURE = (
    "{month} has not started yet: its usage report will be available on {day:%Y-%m-%d} "
    f"by {REPORTS_READY_BY}."
)
ERR_REPORT_NOT_READY = (
    "The usage report for {month} is not ready yet: it will be available on {day:%Y-%m-%d} "
    f"by {REPORTS_READY_BY}."
)
ERR_REPORT_LATE = (
    "The usage report for {month} was due on {day:%Y-%m-%d} and is being generated; "
    "try again shortly."
)
ERR_REPORT_ABSENT = (
    "{account} has no usage report for {month}: the month's reports were generated on "
    "{generated:%Y-%m-%d}, before the account existed."
)
ERR_REPORT_BEFORE = (
    "{account} has no usage report for {month}: the account was created on {created:%Y-%m-%d}."
)
# A page asked for a month it cannot show shows another month and says so.
ERR_MONTH_MALFORMED = "Month: {problem}"
ERR_MONTH_NOT_SHOWN = "{reason} Showing {shown} instead."


class ReportState(StrEnum):
    LIVE = "live"  # the current month: live figures; its report comes once it is over
    FUTURE = "future"  # has not started
    GENERATED = "generated"  # the report exists and never changes
    PENDING = "pending"  # over, but its report day has not come: figures are provisional
    LATE = "late"  # its report day has come and the job has not generated it yet
    ABSENT = "absent"  # the account did not exist in the month: it has no report, ever


@dataclass(frozen=True)
class PeriodState:
    """What an account's usage report of a month is, and why there is none."""

    account: Account
    month: Month
    state: ReportState
    available_on: date
    report: UsageReport | None = None
    generated_at: datetime | None = None  # when the month's reports were generated, if they were

    @property
    def is_live(self) -> bool:
        return self.state == ReportState.LIVE

    @property
    def is_generated(self) -> bool:
        return self.state == ReportState.GENERATED

    @property
    def is_pending(self) -> bool:
        """Over and not generated yet: the figures shown are provisional."""
        return self.state in (ReportState.PENDING, ReportState.LATE)

    @property
    def is_late(self) -> bool:
        return self.state == ReportState.LATE

    @property
    def is_absent(self) -> bool:
        return self.state == ReportState.ABSENT

    @property
    def reason(self) -> str:
        """Why there is no report (empty when there is one): the API's 404 says this."""
        month, day = str(self.month), self.available_on
        match self.state:
            case ReportState.GENERATED:
                return ""
            case ReportState.LIVE:
                return ERR_REPORT_NOT_OVER.format(month=month, day=day)
            case ReportState.FUTURE:
                return ERR_REPORT_FUTURE.format(month=month, day=day)
            case ReportState.PENDING:
                return ERR_REPORT_NOT_READY.format(month=month, day=day)
            case ReportState.LATE:
                return ERR_REPORT_LATE.format(month=month, day=day)
        name = self.account.name
        if self.generated_at is not None:
            return ERR_REPORT_ABSENT.format(account=name, month=month, generated=self.generated_at)
        return ERR_REPORT_BEFORE.format(account=name, month=month, created=self.account.created_at)


def report_period(account: Account, month: Month, *, now: datetime) -> PeriodState:
    """The account's report of the month, or which of the reasons it has none. A month's
    reports include every account created before the month ended (metering's generation
    rule), so a month before the account's creation month never has one for it."""
    available_on = report_available_on(month)
    current = Month.of(now)
    if month == current:
        return PeriodState(account, month, ReportState.LIVE, available_on)
    if month > current:
        return PeriodState(account, month, ReportState.FUTURE, available_on)
    report = report_of(account.pk, month)
    if report is not None:
        return PeriodState(
            account,
            month,
            ReportState.GENERATED,
            available_on,
            report=report,
            generated_at=report.report_month.generated_at,
        )
    header = report_month(month)
    if header is not None or month < Month.of(account.created_at):
        generated_at = header.generated_at if header is not None else None
        return PeriodState(
            account, month, ReportState.ABSENT, available_on, generated_at=generated_at
        )
    state = ReportState.PENDING if available_on > now.date() else ReportState.LATE
    return PeriodState(account, month, state, available_on)


def first_billing_month(account: Account) -> Month:
    """The first month that can have a report or quota history for the account: its creation
    month, the month its package holder's first service package started (the package history
    has entries from then), or its first generated report (usage dated before the account was
    created puts it in that month's report), whichever is earliest."""
    holder = package_holder(account)
    started = ServicePackage.objects.filter(account=holder).aggregate(first=Min("starts_at"))
    reported = UsageReport.objects.filter(account=account).aggregate(first=Min("month"))
    months = [Month.of(account.created_at)]
    if started["first"] is not None:
        months.append(Month.of(started["first"]))
    if reported["first"] is not None:
        months.append(Month.from_first_day(reported["first"]))
    return min(months)


def billing_months(account: Account, today: date) -> list[Month]:
    """The months the picker offers, newest first: the current month (LIVE) back to the
    account's first billing month."""
    current = Month.of(today)
    return list(reversed(min(first_billing_month(account), current).until(current)))


@dataclass(frozen=True)
class MonthChoice:
    """The month a billing page shows, the months its picker offers (newest first) and, when
    the month asked for is not the one shown, why."""

    month: Month
    months: list[Month]
    error: str = ""

    @property
    def current(self) -> Month:
        return self.months[0]


def month_choice(account: Account, raw: str | None, now: datetime) -> MonthChoice:
    """The month asked for when the picker offers it; otherwise the previous month (the
    default; the first offered month for an account that is newer) with a message saying why
    when a month was asked for."""
    months = billing_months(account, now.date())
    default = max(months[0].previous(), months[-1])
    if not raw:
        return MonthChoice(default, months)
    try:
        asked = Month.parse(raw)
    except ValidationError as exc:
        reason = ERR_MONTH_MALFORMED.format(problem=exc.messages[0])
    else:
        if asked in months:
            return MonthChoice(asked, months)
        reason = report_period(account, asked, now=now).reason
    return MonthChoice(
        default, months, ERR_MONTH_NOT_SHOWN.format(reason=reason, shown=default.label)
    )
