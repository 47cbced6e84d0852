"""Reads about an account's usage in a month, from its report or the live rollups, and the
billing report the API returns. Which month has a report, and why not, is `months.py`."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import Account, AccountKind, BusinessModel
from accounts.scoping import subtree_ids
from accounts.wording import tenant_noun
from metering.models import DailyUsage, DeviceMonth, EventType, UsageReport
from metering.months import Month
from metering.selectors import (
    Usage,
    live_usage,
    reports_in_tree,
    rollup_position,
    total_usage,
    transactions_in_window,
    transactions_window,
)

from .months import PeriodState, report_period
from .packages import QuotaSummary, accounts_with_package_in, quota_summary


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


def month_usage(period: PeriodState) -> MonthUsage:
    """From the generated report when the month has one, else from the live rollups; nothing
    for a month the account did not exist in."""
    account, month, report = period.account, period.month, period.report
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


def usage_rows(period: PeriodState) -> QuerySet:
    """The usage reports page: the account and each account below it in the month, one row
    each with the same columns whether from the generated reports or the live rollups. A tenant
    is listed when it used something, or when its package holder had a package that month."""
    account, month, report = period.account, period.month, period.report
    if period.is_absent:
        return UsageReport.objects.none()
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


def billing_overview(period: PeriodState, *, now: datetime) -> BillingOverview:
    """My billing of the period's account and month (the quota as at the month's end)."""
    today = now.date()
    account, month = period.account, period.month
    usage = month_usage(period)
    since, _ = transactions_window(today)
    rollup = rollup_position()
    current = quota_summary(account, now=now)
    return BillingOverview(
        usage=usage,
        quota=current if period.is_live else quota_summary(account, now=now, as_of=month.end),
        current_quota=current,
        transactions=transactions_in_window([account.pk], today),
        transactions_since=since,
        rolled_up_at=rollup.updated_at if rollup else None,
    )


# -- The billing report ---------------------------------------------------------------------------


class ReportUnavailable(Exception):
    """The account has no generated report for the month: the message says why, and when it
    will be available if it will be."""


def available_report(account: Account, month: Month, *, now: datetime) -> UsageReport:
    """The account's generated report of the month; without one, ReportUnavailable says why
    (the reasons of `report_period`, the rule the pages follow too)."""
    period = report_period(account, month, now=now)
    if period.report is None:
        raise ReportUnavailable(period.reason)
    return period.report


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
    period = report_period(account, month, now=now)
    report = period.report
    if report is None:
        raise ReportUnavailable(period.reason)
    listed = usage_rows(period).order_by("account_name", "id")
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
