"""Update campaigns: start (reserve tokens), finish (return the unspent), ingest's allowances."""

from datetime import datetime
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import record_change
from accounts.models import Account
from accounts.scoping import Actor
from metering.selectors import firmware_updates_by_campaign
from metering.services.ingest import CampaignAllowance

from ..models import NAME_MAX, CampaignStatus, LedgerEventType, UpdateCampaign
from ..selectors.packages import package_holder, remaining_tokens
from .ledger import active_package_lock, campaign_end, ledger_append, package_lock
from .packages import package_expire_if_due

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

    @classmethod
    def terminated(cls, campaign: UpdateCampaign) -> "CampaignRefused":
        """Finishing came too late: the package expired first and terminated the campaign."""
        return cls(
            REFUSED_TERMINATED.format(ended=campaign.ended_at, returned=campaign.returned),
            "terminated",
        )


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
    package = active_package_lock(holder)
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
    ledger_append(
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
    package = package_lock(campaign.package_id)
    campaign = UpdateCampaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CampaignStatus.RUNNING:
        return campaign
    if package_expire_if_due(actor=actor, package=package, now=now):
        return UpdateCampaign.objects.get(pk=campaign.pk)
    campaign_end(
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
