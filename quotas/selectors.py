"""Reads for billing pages, the API and the report job: whose package an account uses, the quota
at any moment, the ledger with its running balance, and each month's usage by account."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from accounts.models import Account, AccountKind, BusinessModel
from accounts.scoping import subtree_ids
from metering.models import DailyUsage, DeviceMonth, EventType, UsageReport
from metering.months import Month, add_months, report_available_on
from metering.selectors import (
    Usage,
    firmware_updates_by_campaign,
    live_usage,
    report_month,
    report_of,
    reports_in_tree,
    rollup_position,
    total_usage,
    transactions_in_window,
    transactions_window,
)

from .models import (
    CampaignStatus,
    PackageStatus,
    QuotaLedgerEntry,
    ServicePackage,
    UpdateCampaign,
)

# The expiry warning shows from this many months before a package expires.
EXPIRY_WARNING_MONTHS = 3


def package_holder(account: Account) -> Account:
    """Whose service package the account uses: a tenant (a customer below a customer) uses its
    aggregator's; every other account its own."""
    holder = account
    while (
        holder.kind == AccountKind.CUSTOMER
        and holder.parent is not None
        and holder.parent.kind == AccountKind.CUSTOMER
    ):
        holder = holder.parent
    return holder


def active_package(holder: Account) -> ServicePackage | None:
    return ServicePackage.objects.filter(account=holder, status=PackageStatus.ACTIVE).first()


def latest_package_by(holder: Account, moment: datetime) -> ServicePackage | None:
    """The newest package that had started by `moment` (it may have expired since)."""
    return (
        ServicePackage.objects.filter(account=holder, starts_at__lte=moment)
        .order_by("-starts_at", "-id")
        .first()
    )


def remaining_tokens(holder: Account, *, before: datetime | None = None) -> int:
    """The remaining quota: the sum of the holder's ledger (up to `before`, exclusive)."""
    entries = QuotaLedgerEntry.objects.filter(account=holder)
    if before is not None:
        entries = entries.filter(occurred_at__lt=before)
    return entries.aggregate(total=Sum("tokens"))["total"] or 0


def campaign_updates(campaigns: Iterable[UpdateCampaign]) -> dict[int, int]:
    """Tokens each campaign has spent: its firmware updates so far (or when it ended)."""
    campaigns = list(campaigns)
    counts = firmware_updates_by_campaign(c.uuid for c in campaigns if c.updates is None)
    return {c.id: c.updates if c.updates is not None else counts[c.uuid] for c in campaigns}


def reserved_tokens(holder: Account) -> int:
    """Tokens held by the holder's running campaigns and not spent yet."""
    running = list(
        UpdateCampaign.objects.filter(package__account=holder, status=CampaignStatus.RUNNING)
    )
    spent = campaign_updates(running)
    return sum(max(c.devices - spent[c.id], 0) for c in running)


@dataclass(frozen=True)
class QuotaSummary:
    """The service package an account uses, as of a moment."""

    holder: Account
    package: ServicePackage | None
    remaining: int
    reserved: int
    as_of: datetime
    warning: bool  # within three months of expiry (and not expired)

    @property
    def expires_at(self) -> datetime | None:
        return self.package.expires_at if self.package else None

    @property
    def state(self) -> str:
        """none, not_started, active, renewed or expired, as of `as_of`."""
        package = self.package
        if package is None:
            return "none"
        if package.starts_at > self.as_of:
            return "not_started"
        if package.expires_at <= self.as_of:
            return "expired"
        if package.ended_at is not None and package.ended_at <= self.as_of:
            return "renewed"
        return "active"


def quota_summary(
    account: Account, *, now: datetime, as_of: datetime | None = None
) -> QuotaSummary:
    """The package the account uses and its quota now, or at the end of a past period."""
    holder = package_holder(account)
    moment = as_of if as_of is not None and as_of < now else now
    package = latest_package_by(holder, moment) or (
        active_package(holder) if moment == now else None
    )
    live = moment == now
    warning = (
        live
        and package is not None
        and package.status == PackageStatus.ACTIVE
        and add_months(package.expires_at, -EXPIRY_WARNING_MONTHS) <= now < package.expires_at
    )
    return QuotaSummary(
        holder=holder,
        package=package,
        remaining=remaining_tokens(holder, before=None if live else moment),
        reserved=reserved_tokens(holder) if live else 0,
        as_of=moment,
        warning=warning,
    )


def holders_with_package_in(month: Month) -> set[int]:
    """Accounts that had a service package at some time during the month."""
    return set(
        ServicePackage.objects.filter(starts_at__lt=month.end)
        .filter(Q(ended_at__isnull=True, expires_at__gt=month.start) | Q(ended_at__gt=month.start))
        .values_list("account_id", flat=True)
    )


def accounts_with_package_in(month: Month) -> set[int]:
    """Accounts whose package holder had a service package during the month: the holders and
    the tenants below them."""
    holders = holders_with_package_in(month)
    if not holders:
        return set()
    rows = list(Account.objects.values_list("id", "parent_id", "kind"))
    parents = {account_id: parent_id for account_id, parent_id, _ in rows}
    customers = {account_id for account_id, _, kind in rows if kind == AccountKind.CUSTOMER}

    def holder_of(account_id: int) -> int:
        while account_id in customers and parents[account_id] in customers:
            account_id = parents[account_id]
        return account_id

    return {account_id for account_id in parents if holder_of(account_id) in holders}


def campaign_names() -> dict[UUID, str]:
    return dict(UpdateCampaign.objects.values_list("uuid", "name"))


# -- The ledger ---------------------------------------------------------------------------------


def ledger_for(account: Account) -> QuerySet[QuotaLedgerEntry]:
    """The ledger an account may read, each entry with `remaining_after` (the quota after it).
    An aggregator or stand-alone account reads its whole ledger; a tenant reads the package
    events and its own campaigns' entries, never a sibling's."""
    holder = package_holder(account)
    # The quota after each entry, over the whole ledger whatever the page filters.
    up_to_here = (
        QuotaLedgerEntry.objects.filter(account_id=OuterRef("account_id"))
        .filter(
            Q(occurred_at__lt=OuterRef("occurred_at"))
            | Q(occurred_at=OuterRef("occurred_at"), id__lte=OuterRef("id"))
        )
        .order_by()
        .values("account_id")
        .annotate(total=Sum("tokens"))
        .values("total")
    )
    entries = (
        QuotaLedgerEntry.objects.filter(account=holder)
        .select_related("campaign", "campaign__account", "package")
        .annotate(remaining_after=Subquery(up_to_here, output_field=IntegerField()))
    )
    if holder.pk != account.pk:
        own = subtree_ids([account.pk])
        entries = entries.filter(Q(campaign__isnull=True) | Q(campaign__account_id__in=own))
    return entries


def ledger_in(account: Account, month: Month) -> QuerySet[QuotaLedgerEntry]:
    return ledger_for(account).filter(occurred_at__gte=month.start, occurred_at__lt=month.end)


# -- Usage by month -----------------------------------------------------------------------------


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
    """An account's usage in a month: its own, and with every account below it (its tenants)."""

    account: Account
    period: PeriodState
    report: UsageReport | None  # the generated snapshot, when there is one
    own: Usage
    total: Usage
    business_model: str
    tenants: int


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
            tenants=len(tree) - 1,
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
        tenants=len(tree_ids) - 1,
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
