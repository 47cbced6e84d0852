"""The quota ledger's writes and the package locks that every stage of the quota takes."""

from datetime import datetime

from accounts.audit import record_change, snapshot
from accounts.models import Account
from accounts.scoping import Actor

from ..models import (
    CampaignStatus,
    LedgerEventType,
    PackageStatus,
    QuotaLedgerEntry,
    ServicePackage,
    UpdateCampaign,
)

# Locks are always taken in the same order, package first, then its campaigns by id, so two
# services never wait on each other in a cycle. Ingest locks only campaigns.


def ledger_append(
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


def package_lock(package_id: int) -> ServicePackage:
    return ServicePackage.objects.select_for_update().select_related("account").get(pk=package_id)


def active_package_lock(holder: Account) -> ServicePackage | None:
    """The holder's active package, locked. If it was renewed while we waited for the lock,
    the renewal is the active one now: lock that instead."""
    for _attempt in range(3):
        current = ServicePackage.objects.filter(account=holder, status=PackageStatus.ACTIVE).first()
        if current is None:
            return None
        package = package_lock(current.pk)
        if package.status == PackageStatus.ACTIVE:
            return package
    return None


def campaign_end(
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
    ledger_append(
        package=package,
        event_type=event_type,
        tokens=campaign.returned,
        occurred_at=at,
        campaign=campaign,
        note=f"{used} of {campaign.devices} tokens spent{note_suffix}",
    )
