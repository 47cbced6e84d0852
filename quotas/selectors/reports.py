"""Reads about each month's usage and its report, and why a month has no report (yet)."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import Account, AccountKind, BusinessModel
from accounts.scoping import subtree_ids
from accounts.wording import tenant_noun
from metering.models import DailyUsage, DeviceMonth, EventType, UsageReport
from metering.months import REPORTS_READY_BY, Month, report_available_on
from metering.selectors import (
    Usage,
    live_usage,
    report_month,
    report_of,
    reports_in_tree,
    rollup_position,
    total_usage,
    transactions_in_window,
    transactions_window,
)

from .packages import QuotaSummary, accounts_with_package_in, quota_summary


@dataclass(frozen=True)
class PeriodState:
    """What a month's figures are: LIVE (the current month), generated (a snapshot report),
    pending (over, but the report is not generated yet: figures are provisional), or absent (the
    month was generated before this account existed: it has no report and no usage)."""

    month: Month
    state: str  # live, generated, pending or absent
    available_on: date
    generated_at: datetime | None = None

    @property
    def is_absent(self) -> bool:
        return self.state == "absent"

    @property
    def is_live(self) -> bool:
        return self.state == "live"

    @property
    def is_pending(self) -> bool:
        return self.state == "pending"


def period_state(month: Month, today: date, *, has_report: bool) -> PeriodState:
    available_on = report_available_on(month)
    if month == Month.of(today):
        return PeriodState(month=month, state="live", available_on=available_on)
    header = report_month(month)
    if header is None:
        return PeriodState(month=month, state="pending", available_on=available_on)
    state = "generated" if has_report else "absent"
    return PeriodState(month, state, available_on, generated_at=header.generated_at)


@dataclass(frozen=True)
class MonthUsage:
    """An account's usage in a month: its own, and with every account below it."""

    account: Account
    period: PeriodState
    report: UsageReport | None  # the generated snapshot, when there is one
    own: Usage
    total: Usage
    business_model: str
    # The customers below the account in the month: an aggregator's tenants, or the customers
    # under the platform, a distributor or a partner (never the distributors and partners).
    tenants: int

    @property
    def tenant_noun(self) -> str:
        return tenant_noun(self.account)


def month_usage(account: Account, month: Month, today: date) -> MonthUsage:
    """From the generated report when the month has one, else from the live rollups."""
    report = None if month == Month.of(today) else report_of(account.pk, month)
    period = period_state(month, today, has_report=report is not None)
    if period.is_absent:
        return MonthUsage(
            account=account,
            period=period,
            report=None,
            own=Usage(),
            total=Usage(),
            business_model=account.business_model,
            tenants=0,
        )
    if report is not None:
        tree = list(reports_in_tree(report))
        return MonthUsage(
            account=account,
            period=period,
            report=report,
            own=Usage.from_report(report),
            total=total_usage(tree),
            business_model=report.business_model,
            tenants=sum(
                1
                for each in tree
                if each.account_id != account.pk and each.account.kind == AccountKind.CUSTOMER
            ),
        )
    tree_ids = subtree_ids([account.pk])
    usage = live_usage(tree_ids, month)
    total = Usage()
    for each in usage.values():
        total.add(each)
    return MonthUsage(
        account=account,
        period=period,
        report=None,
        own=usage[account.pk],
        total=total,
        business_model=account.business_model,
        tenants=Account.objects.filter(id__in=tree_ids, kind=AccountKind.CUSTOMER)
        .exclude(pk=account.pk)
        .count(),
    )


def _live_count(queryset: QuerySet, value: object) -> Coalesce:
    return Coalesce(
        Subquery(queryset.values("account_id").annotate(n=value).values("n")[:1]),
        Value(0),
        output_field=IntegerField(),
    )


def usage_rows(account: Account, month: Month, today: date) -> QuerySet:
    """The usage reports page: the account and each account below it in the month, one row
    each with the same columns whether from the generated reports or the live rollups. A tenant
    is listed when it used something, or when its package holder had a package that month."""
    report = None if month == Month.of(today) else report_of(account.pk, month)
    if report is None and month != Month.of(today) and report_month(month) is not None:
        return UsageReport.objects.none()  # generated before the account existed
    if report is not None:
        return (
            reports_in_tree(report)
            .annotate(uuid=F("account__uuid"))
            .filter(
                Q(account_id=account.pk)
                | Q(had_package=True)
                | Q(active_devices__gt=0)
                | Q(firmware_updates__gt=0)
                | Q(api_calls_total__gt=0)
            )
        )
    packaged = accounts_with_package_in(month)
    devices = DeviceMonth.objects.filter(account_id=OuterRef("pk"), month=month.first_day)
    daily = DailyUsage.objects.filter(
        account_id=OuterRef("pk"), day__gte=month.first_day, day__lte=month.last_day
    )
    return (
        Account.objects.filter(id__in=subtree_ids([account.pk]))
        .annotate(
            account_name=F("name"),
            active_devices=_live_count(devices, Count("id")),
            firmware_updates=_live_count(
                daily.filter(type=EventType.FIRMWARE_UPDATE), Sum("quantity")
            ),
            api_calls_total=_live_count(daily.filter(type=EventType.API_CALL), Sum("quantity")),
        )
        .filter(
            Q(pk=account.pk)
            | Q(pk__in=packaged)
            | Q(active_devices__gt=0)
            | Q(firmware_updates__gt=0)
            | Q(api_calls_total__gt=0)
        )
    )


def tenant_in_view(account: Account, tenant: Account) -> bool:
    """Whether `tenant` is the account itself or below it (the pane never opens on a sibling)."""
    return tenant.pk in subtree_ids([account.pk])


@dataclass(frozen=True)
class BillingOverview:
    """Everything My billing shows for an account and a month (and the tenant pane's Billing
    details tab, for a tenant)."""

    usage: MonthUsage
    quota: QuotaSummary  # as of the end of the month (or now, for the current month)
    current_quota: QuotaSummary  # now, whatever the month: the expiry warning comes from it
    transactions: int  # API calls of the account itself in the past 30 days (LIVE)
    transactions_since: date
    rolled_up_at: datetime | None  # when the live figures were last brought up to date

    @property
    def account(self) -> Account:
        return self.usage.account

    @property
    def period(self) -> PeriodState:
        return self.usage.period

    @property
    def shows_api_calls(self) -> bool:
        return self.usage.business_model == BusinessModel.API_CALLS

    @property
    def api_call_sections(self) -> list[tuple[str, int, list[tuple[str, int]]]]:
        """(label, total, [(event, calls), ...]) per call category, for the page."""
        document = self.usage.total.api_calls_document()
        return [
            (label, document[value]["total"], list(document[value]["events"].items()))
            for value, label in API_CALL_LABELS
        ]


API_CALL_LABELS = (
    ("device_to_service", "Device to service API calls"),
    ("service_to_device", "Service to device API calls"),
    ("integration", "Integration API calls"),
)


def billing_overview(account: Account, month: Month, now: datetime) -> BillingOverview:
    today = now.date()
    usage = month_usage(account, month, today)
    since, _ = transactions_window(today)
    rollup = rollup_position()
    current = quota_summary(account, now=now)
    return BillingOverview(
        usage=usage,
        quota=current if usage.period.is_live else quota_summary(account, now=now, as_of=month.end),
        current_quota=current,
        transactions=transactions_in_window([account.pk], today),
        transactions_since=since,
        rolled_up_at=rollup.updated_at if rollup else None,
    )


# -- The billing report ---------------------------------------------------------------------------

# Why a month has no report for an account (the API's 404). Tests assert these.
ERR_REPORT_NOT_OVER = (
    "{month} is not over yet: its usage report will be available on {day:%Y-%m-%d} "
    f"by {REPORTS_READY_BY}."
)
ERR_REPORT_NOT_READY = (
    "The usage report for {month} is not ready yet: it will be available on {day:%Y-%m-%d} "
    f"by {REPORTS_READY_BY}."
)
ERR_REPORT_ABSENT = (
    "{account} has no usage report for {month}: the month's reports were generated on "
    "{generated:%Y-%m-%d}, before the account existed."
)
ERR_REPORT_LATE = (
    "The usage report for {month} was due on {day:%Y-%m-%d} and is being generated; "
    "try again shortly."
)


class ReportUnavailable(Exception):
    """The account has no generated report for the month: the message says why, and when it
    will be available if it will be."""


def available_report(account: Account, month: Month, *, now: datetime) -> UsageReport:
    """The account's generated report of the month. Without one, ReportUnavailable says why:
    the month was generated before the account existed, the month is not over, its third
    business day has not come, or it has come and the job is still generating it."""
    report = report_of(account.pk, month)
    if report is not None:
        return report
    header = report_month(month)
    if header is not None:
        raise ReportUnavailable(
            ERR_REPORT_ABSENT.format(
                account=account.name, month=month, generated=header.generated_at
            )
        )
    day = report_available_on(month)
    if month.end > now:
        raise ReportUnavailable(ERR_REPORT_NOT_OVER.format(month=month, day=day))
    if day > now.date():
        raise ReportUnavailable(ERR_REPORT_NOT_READY.format(month=month, day=day))
    raise ReportUnavailable(ERR_REPORT_LATE.format(month=month, day=day))


@dataclass(frozen=True)
class ReportedUsage:
    """One account's line of a billing report, as the snapshot recorded it."""

    account: Account
    name: str
    business_model: str
    usage: Usage


@dataclass(frozen=True)
class BillingReport:
    """A generated month for an account: its own usage, each tenant's, and their total."""

    month: Month
    account: ReportedUsage
    tenants: list[ReportedUsage]
    total: ReportedUsage


def billing_report(account: Account, month: Month, *, now: datetime) -> BillingReport:
    """The month's report for the account (ReportUnavailable without one); its tenants are
    those the usage reports page lists, by name."""
    report = available_report(account, month, now=now)
    listed = usage_rows(account, month, now.date()).order_by("account_name", "id")
    return BillingReport(
        month=month,
        account=ReportedUsage(
            account, report.account_name, report.business_model, Usage.from_report(report)
        ),
        tenants=[
            ReportedUsage(row.account, row.account_name, row.business_model, Usage.from_report(row))
            for row in listed
            if row.account_id != account.pk
        ],
        total=ReportedUsage(
            account,
            report.account_name,
            report.business_model,
            total_usage(reports_in_tree(report)),
        ),
    )
