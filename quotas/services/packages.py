"""Service packages: creation, renewal before expiry, and the expiry that terminates them."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import record_change, snapshot
from accounts.models import Account
from accounts.scoping import Actor
from metering.months import add_months
from metering.selectors import firmware_updates_by_campaign

from ..models import (
    PACKAGE_MONTHS,
    CampaignStatus,
    LedgerEventType,
    PackageStatus,
    ServicePackage,
    UpdateCampaign,
)
from ..selectors.packages import package_holder, remaining_tokens
from .ledger import campaign_end, ledger_append, package_lock

ERR_TENANT_PACKAGE = "{account} uses the service package of {holder}; create it for {holder}."
ERR_PACKAGE_EXISTS = (
    "{account} already has an active service package (expires {expires:%Y-%m-%d}); renew it."
)
ERR_TOKENS = "Must be a whole number of tokens, 1 or more."
ERR_NOT_ACTIVE = "This package was {status} on {ended:%Y-%m-%d}; only the active package renews."
ERR_RENEW_EXPIRED = (
    "This package expired on {expires:%Y-%m-%d}; create a new service package instead."
)


def _check_tokens(tokens: object) -> int:
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
        raise ValidationError({"tokens": [ERR_TOKENS]})
    return tokens


def _package_terminate(*, actor: Actor | None, package: ServicePackage) -> int:
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
        campaign_end(
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
    ledger_append(
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


def package_expire_if_due(*, actor: Actor | None, package: ServicePackage, now: datetime) -> bool:
    """Terminate the package (its row is locked) if its 12 months are over; True if it was."""
    if package.status == PackageStatus.ACTIVE and package.expires_at <= now:
        _package_terminate(actor=actor, package=package)
        return True
    return False


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
        package_expire_if_due(actor=actor, package=package_lock(current.pk), now=now)
    package = ServicePackage(
        account=account,
        tokens=tokens,
        starts_at=starts_at,
        expires_at=add_months(starts_at, PACKAGE_MONTHS),
    )
    package.full_clean()
    package.save()
    record_change(actor=actor, instance=package, old=None)
    ledger_append(
        package=package,
        event_type=LedgerEventType.PACKAGE_CREATION,
        tokens=tokens,
        occurred_at=starts_at,
        note=f"{tokens} tokens until {package.expires_at:%Y-%m-%d}",
    )
    # A package created already expired (started over 12 months ago) ends at once.
    package_expire_if_due(actor=actor, package=package, now=now)
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
    package = package_lock(package.pk)
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
    ledger_append(
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
            package = package_lock(package_id)
            if package.status == PackageStatus.ACTIVE and package.expires_at <= now:
                counts["campaigns"] += _package_terminate(actor=actor, package=package)
                counts["packages"] += 1
    return counts
