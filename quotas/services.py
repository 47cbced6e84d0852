"""State changes for service packages, update campaigns and the quota ledger, and the monthly
usage report job. Each is one transaction and leaves audit rows.

Locks are always taken in the same order, package first, then its campaigns by id, so two
services never wait on each other in a cycle. Ingest locks only campaigns.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import record_change, snapshot
from accounts.models import Account
from accounts.scoping import Actor
from metering.months import Month, add_months, last_reportable_month
from metering.selectors import firmware_updates_by_campaign, generated_months
from metering.services import (
    CampaignAllowance,
    first_usage_month,
    usage_reports_generate,
)

from .models import (
    NAME_MAX,
    PACKAGE_MONTHS,
    CampaignStatus,
    LedgerEventType,
    PackageStatus,
    QuotaLedgerEntry,
    ServicePackage,
    UpdateCampaign,
)
from .selectors import (
    accounts_with_package_in,
    campaign_names,
    package_holder,
    remaining_tokens,
)

ERR_TENANT_PACKAGE = "{account} uses the service package of {holder}; create it for {holder}."
ERR_PACKAGE_EXISTS = (
    "{account} already has an active service package (expires {expires:%Y-%m-%d}); renew it."
)
ERR_TOKENS = "Must be a whole number of tokens, 1 or more."
ERR_NOT_ACTIVE = "This package was {status} on {ended:%Y-%m-%d}; only the active package renews."
ERR_RENEW_EXPIRED = (
    "This package expired on {expires:%Y-%m-%d}; create a new service package instead."
)
ERR_DEVICES = "Must be a whole number of devices, 1 or more."
ERR_NAME = f"Must be a non-empty name of at most {NAME_MAX} characters."

# Why a campaign cannot start (409). Tests assert these.
REFUSED_NO_PACKAGE = "No valid service package: {holder} has no service package."
REFUSED_NOT_STARTED = (
    "No valid service package: the service package of {holder} starts on {starts:%Y-%m-%d}."
)
REFUSED_EXPIRED = (
    "The service package of {holder} expired on {expires:%Y-%m-%d}; it must be renewed before "
    "campaigns can start."
)
REFUSED_QUOTA = (
    "Not enough quota: the campaign needs {devices} tokens (one per device) but only "
    "{remaining} remain."
)
REFUSED_TERMINATED = (
    "The campaign was terminated on {ended:%Y-%m-%d} because its service package expired; "
    "its {returned} unused tokens are lost."
)

# Why ingest refuses a firmware update (in the event's rejection).
UPDATE_USED_UP = "The campaign's reservation of {devices} tokens is used up."
UPDATE_FINISHED = "The campaign finished on {ended:%Y-%m-%d}; it records no more updates."
UPDATE_TERMINATED = (
    "The campaign was terminated on {ended:%Y-%m-%d} because its service package expired."
)


class CampaignRefused(Exception):
    """A campaign that cannot start (or finish): the message says why."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _ledger(
    *,
    package: ServicePackage,
    event_type: LedgerEventType,
    tokens: int,
    occurred_at: datetime,
    campaign: UpdateCampaign | None = None,
    note: str = "",
) -> QuotaLedgerEntry:
    return QuotaLedgerEntry.objects.create(
        account_id=package.account_id,
        package=package,
        campaign=campaign,
        event_type=event_type,
        tokens=tokens,
        occurred_at=occurred_at,
        note=note,
    )


def _check_tokens(tokens: object) -> int:
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
        raise ValidationError({"tokens": [ERR_TOKENS]})
    return tokens


def _lock_package(package_id: int) -> ServicePackage:
    return ServicePackage.objects.select_for_update().select_related("account").get(pk=package_id)


def _lock_active_package(holder: Account) -> ServicePackage | None:
    """The holder's active package, locked. If it was renewed while we waited for the lock,
    the renewal is the active one now: lock that instead."""
    for _attempt in range(3):
        current = ServicePackage.objects.filter(account=holder, status=PackageStatus.ACTIVE).first()
        if current is None:
            return None
        package = _lock_package(current.pk)
        if package.status == PackageStatus.ACTIVE:
            return package
    return None


def _end_campaign(
    *,
    actor: Actor | None,
    package: ServicePackage,
    campaign: UpdateCampaign,
    updates: int,
    status: CampaignStatus,
    event_type: LedgerEventType,
    at: datetime,
    note_suffix: str = "",
) -> None:
    """End a running campaign (its row and its package's are locked): the tokens it reserved
    and did not spend on updates (at most one per device) go back in one ledger entry."""
    old = snapshot(campaign)
    used = min(updates, campaign.devices)
    campaign.status = status
    campaign.ended_at = at
    campaign.updates = used
    campaign.returned = campaign.devices - used
    campaign.save()
    record_change(actor=actor, instance=campaign, old=old)
    _ledger(
        package=package,
        event_type=event_type,
        tokens=campaign.returned,
        occurred_at=at,
        campaign=campaign,
        note=f"{used} of {campaign.devices} tokens spent{note_suffix}",
    )


def _terminate(*, actor: Actor | None, package: ServicePackage) -> int:
    """The package expired (its row is locked): running campaigns are terminated, their unused
    tokens go back into the expired package, and everything left in it is lost. All entries
    are dated at the expiry. Returns the campaigns terminated."""
    expired_at = package.expires_at
    campaigns = list(
        UpdateCampaign.objects.select_for_update()
        .filter(package=package, status=CampaignStatus.RUNNING)
        .order_by("pk")
    )
    spent = firmware_updates_by_campaign(c.uuid for c in campaigns)
    for campaign in campaigns:
        _end_campaign(
            actor=actor,
            package=package,
            campaign=campaign,
            updates=spent[campaign.uuid],
            status=CampaignStatus.TERMINATED,
            event_type=LedgerEventType.RESERVATION_TERMINATION,
            at=expired_at,
            note_suffix="; the rest stay in the expired package",
        )
    left = remaining_tokens(package.account)
    _ledger(
        package=package,
        event_type=LedgerEventType.PACKAGE_TERMINATION,
        tokens=-left,
        occurred_at=expired_at,
        note=f"{left} unused tokens lost",
    )
    old = snapshot(package)
    package.status = PackageStatus.EXPIRED
    package.ended_at = expired_at
    package.save()
    record_change(actor=actor, instance=package, old=old)
    return len(campaigns)


def _expire_if_due(*, actor: Actor | None, package: ServicePackage, now: datetime) -> bool:
    if package.status == PackageStatus.ACTIVE and package.expires_at <= now:
        _terminate(actor=actor, package=package)
        return True
    return False


# -- Packages -----------------------------------------------------------------------------------


def validate_new_package(*, account: Account, tokens: object, now: datetime) -> None:
    """Why a package cannot be created for the account now, as a ValidationError: tenants use
    their aggregator's package, and a still valid package is renewed, not replaced."""
    _check_tokens(tokens)
    holder = package_holder(account)
    if holder.pk != account.pk:
        raise ValidationError(
            {"account": [ERR_TENANT_PACKAGE.format(account=account.name, holder=holder.name)]}
        )
    current = ServicePackage.objects.filter(account=account, status=PackageStatus.ACTIVE).first()
    if current is not None and current.expires_at > now:
        raise ValidationError(
            {
                "account": [
                    ERR_PACKAGE_EXISTS.format(account=account.name, expires=current.expires_at)
                ]
            }
        )


@transaction.atomic
def package_create(
    *,
    actor: Actor | None,
    account: Account,
    tokens: int,
    starts_at: datetime,
    now: datetime | None = None,
) -> ServicePackage:
    """A new 12-month package for an aggregator or stand-alone account. An account has one
    active package at a time: a package that has expired is terminated first; one that is
    still valid must be renewed instead."""
    now = now or timezone.now()
    # Serialise package changes of one account on its row.
    Account.objects.select_for_update().filter(pk=account.pk).first()
    validate_new_package(account=account, tokens=tokens, now=now)
    current = ServicePackage.objects.filter(account=account, status=PackageStatus.ACTIVE).first()
    if current is not None:
        _expire_if_due(actor=actor, package=_lock_package(current.pk), now=now)
    package = ServicePackage(
        account=account,
        tokens=tokens,
        starts_at=starts_at,
        expires_at=add_months(starts_at, PACKAGE_MONTHS),
    )
    package.full_clean()
    package.save()
    record_change(actor=actor, instance=package, old=None)
    _ledger(
        package=package,
        event_type=LedgerEventType.PACKAGE_CREATION,
        tokens=tokens,
        occurred_at=starts_at,
        note=f"{tokens} tokens until {package.expires_at:%Y-%m-%d}",
    )
    # A package created already expired (started over 12 months ago) ends at once.
    _expire_if_due(actor=actor, package=package, now=now)
    return package


@transaction.atomic
def package_renew(
    *,
    actor: Actor | None,
    package: ServicePackage,
    tokens: int,
    now: datetime | None = None,
) -> ServicePackage:
    """Renew before expiry: a new package starts now with the new tokens; what was left on the
    old one carries over, and its running campaigns move to the new package."""
    now = now or timezone.now()
    tokens = _check_tokens(tokens)
    package = _lock_package(package.pk)
    if package.status != PackageStatus.ACTIVE:
        raise ValidationError(
            {
                "package": [
                    ERR_NOT_ACTIVE.format(
                        status=package.get_status_display().lower(), ended=package.ends_at
                    )
                ]
            }
        )
    if package.expires_at <= now:
        raise ValidationError({"package": [ERR_RENEW_EXPIRED.format(expires=package.expires_at)]})
    left = remaining_tokens(package.account)
    old = snapshot(package)
    package.status = PackageStatus.RENEWED
    package.ended_at = now
    package.save()
    record_change(actor=actor, instance=package, old=old)

    renewal = ServicePackage(
        account=package.account,
        tokens=tokens,
        carried_over=left,
        starts_at=now,
        expires_at=add_months(now, PACKAGE_MONTHS),
        renewed_from=package,
    )
    renewal.full_clean()
    renewal.save()
    record_change(actor=actor, instance=renewal, old=None)
    _ledger(
        package=renewal,
        event_type=LedgerEventType.PACKAGE_RENEWAL,
        tokens=tokens,
        occurred_at=now,
        note=f"{tokens} new tokens; {left} carried over; until {renewal.expires_at:%Y-%m-%d}",
    )
    for campaign in (
        UpdateCampaign.objects.select_for_update()
        .filter(package=package, status=CampaignStatus.RUNNING)
        .order_by("pk")
    ):
        old = snapshot(campaign)
        campaign.package = renewal
        campaign.save()
        record_change(actor=actor, instance=campaign, old=old)
    return renewal


def packages_expire(*, actor: Actor | None = None, now: datetime | None = None) -> dict[str, int]:
    """The expiry job: terminate every package whose 12 months are over, one transaction each.
    Running it again changes nothing."""
    now = now or timezone.now()
    counts = {"packages": 0, "campaigns": 0}
    due = ServicePackage.objects.filter(status=PackageStatus.ACTIVE, expires_at__lte=now)
    for package_id in due.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            package = _lock_package(package_id)
            if package.status == PackageStatus.ACTIVE and package.expires_at <= now:
                counts["campaigns"] += _terminate(actor=actor, package=package)
                counts["packages"] += 1
    return counts


# -- Campaigns ----------------------------------------------------------------------------------


def _check_campaign_input(name: object, devices: object) -> tuple[str, int]:
    errors = {}
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > NAME_MAX:
        errors["name"] = [ERR_NAME]
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        errors["devices"] = [ERR_DEVICES]
    if errors:
        raise ValidationError(errors)
    return name.strip(), devices


@transaction.atomic
def campaign_start(
    *,
    actor: Actor | None,
    account: Account,
    name: str,
    devices: int,
    now: datetime | None = None,
) -> UpdateCampaign:
    """Start a campaign for `devices` devices: it reserves as many tokens from the package the
    account uses. Refused (CampaignRefused) without a valid package, after the package expired,
    or for more devices than the remaining quota. The package row is locked while the quota is
    summed, so of two campaigns racing for the last tokens exactly one gets them."""
    now = now or timezone.now()
    name, devices = _check_campaign_input(name, devices)
    holder = package_holder(account)
    package = _lock_active_package(holder)
    if package is None:
        raise CampaignRefused(REFUSED_NO_PACKAGE.format(holder=holder.name), "no_package")
    if package.expires_at <= now:
        raise CampaignRefused(
            REFUSED_EXPIRED.format(holder=holder.name, expires=package.expires_at), "expired"
        )
    if package.starts_at > now:
        raise CampaignRefused(
            REFUSED_NOT_STARTED.format(holder=holder.name, starts=package.starts_at),
            "not_started",
        )
    remaining = remaining_tokens(holder)
    if devices > remaining:
        raise CampaignRefused(
            REFUSED_QUOTA.format(devices=devices, remaining=remaining), "not_enough_quota"
        )
    campaign = UpdateCampaign.objects.create(
        account=account, package=package, name=name, devices=devices, started_at=now
    )
    record_change(actor=actor, instance=campaign, old=None)
    _ledger(
        package=package,
        event_type=LedgerEventType.RESERVATION,
        tokens=-devices,
        occurred_at=now,
        campaign=campaign,
        note=f"{devices} devices",
    )
    return campaign


@transaction.atomic
def campaign_finish(
    *, actor: Actor | None, campaign: UpdateCampaign, now: datetime | None = None
) -> UpdateCampaign:
    """Finish a running campaign: its tokens not spent on updates return to the quota. A
    finished campaign stays as it is (retrying changes nothing). If the package expired
    meanwhile, the expiry is applied instead and the campaign comes back terminated."""
    now = now or timezone.now()
    package = _lock_package(campaign.package_id)
    campaign = UpdateCampaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CampaignStatus.RUNNING:
        return campaign
    if _expire_if_due(actor=actor, package=package, now=now):
        return UpdateCampaign.objects.get(pk=campaign.pk)
    _end_campaign(
        actor=actor,
        package=package,
        campaign=campaign,
        updates=firmware_updates_by_campaign([campaign.uuid])[campaign.uuid],
        status=CampaignStatus.FINISHED,
        event_type=LedgerEventType.RESERVATION_RELEASE,
        at=now,
    )
    return campaign


def campaign_owners(campaigns: set[UUID]) -> dict[UUID, int]:
    """For ingest: the account that runs each known campaign."""
    return dict(UpdateCampaign.objects.filter(uuid__in=campaigns).values_list("uuid", "account_id"))


def campaign_allowances(campaigns: set[UUID]) -> dict[UUID, CampaignAllowance]:
    """For ingest, inside its transaction: lock the campaigns (by id, not their packages) and
    say how many more updates each may record, and when it ran. A running campaign runs until
    its package expires; one that ended takes no more updates, however they are dated."""
    locked = list(
        UpdateCampaign.objects.select_for_update(of=("self",))
        .filter(uuid__in=campaigns)
        .select_related("package")
        .order_by("pk")
    )
    spent = firmware_updates_by_campaign(c.uuid for c in locked)
    allowances = {}
    for c in locked:
        ends_at = c.ended_at or c.package.expires_at
        if c.status == CampaignStatus.FINISHED:
            left, refusal = 0, UPDATE_FINISHED.format(ended=c.ended_at)
        elif c.status == CampaignStatus.TERMINATED:
            left, refusal = 0, UPDATE_TERMINATED.format(ended=c.ended_at)
        else:
            left, refusal = c.devices - spent[c.uuid], UPDATE_USED_UP.format(devices=c.devices)
        allowances[c.uuid] = CampaignAllowance(
            updates_left=max(left, 0), refusal=refusal, starts_at=c.started_at, ends_at=ends_at
        )
    return allowances


# -- The monthly usage report job ---------------------------------------------------------------


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
