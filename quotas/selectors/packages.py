"""Reads about service packages: whose package an account uses, its quota, and the ledger."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import IntegerField, OuterRef, Q, QuerySet, Subquery, Sum

from accounts.models import Account, AccountKind, ApiKey
from accounts.scoping import Actor, scope, subtree_ids
from metering.months import Month, add_months

from ..models import CampaignStatus, PackageStatus, QuotaLedgerEntry, ServicePackage, UpdateCampaign
from .campaigns import campaign_updates

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


def packages_for(actor: Actor, *, account: Account | None = None) -> QuerySet[ServicePackage]:
    """The packages an actor reads, newest first: the one `account` uses (its aggregator's, for
    a tenant) when it names an account it may see, else every package in the actor's scope."""
    if account is not None:
        packages = ServicePackage.objects.filter(account=package_holder(account))
    else:
        packages = scope(ServicePackage.objects.all(), actor)
        if isinstance(actor, ApiKey) and actor.account is not None:
            # A tenant key also sees its aggregator's package, which it uses.
            holder = package_holder(actor.account)
            packages = ServicePackage.objects.filter(Q(pk__in=packages) | Q(account=holder))
    return packages.select_related("account", "renewed_from").order_by("-starts_at", "-id")


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
