"""Service packages, update campaigns and the quota ledger.

A service package gives an account (an aggregator or a stand-alone account) a quota of firmware
update tokens for 12 months; tenants use their aggregator's package. Every change to the quota
is a row in the append-only ledger, and the remaining quota is always the ledger's sum.
"""

import uuid
from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account

PACKAGE_MONTHS = 12
NAME_MAX = 200


class PackageStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RENEWED = "renewed", "Renewed"
    EXPIRED = "expired", "Expired"


class ServicePackage(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="service_packages")
    tokens = models.PositiveIntegerField(help_text="Firmware update tokens this package adds.")
    carried_over = models.PositiveIntegerField(
        default=0, help_text="Tokens left on the renewed package that carried over to this one."
    )
    starts_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=PackageStatus.choices, default=PackageStatus.ACTIVE
    )
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was renewed or expired."
    )
    renewed_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewal"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status="active"),
                name="one_active_package_per_account",
            ),
            models.CheckConstraint(condition=Q(tokens__gt=0), name="package_has_tokens"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("starts_at")),
                name="package_expires_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} package from {self.starts_at:%Y-%m-%d}"

    @property
    def ends_at(self) -> datetime:
        """When the package stopped (or will stop) being the account's package."""
        return self.ended_at or self.expires_at

    def is_valid_at(self, moment: datetime) -> bool:
        return self.status == PackageStatus.ACTIVE and self.starts_at <= moment < self.expires_at


class CampaignStatus(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    TERMINATED = "terminated", "Terminated (package expired)"


class UpdateCampaign(models.Model):
    """A firmware update campaign: it reserves one token per device when it starts; each firmware
    update spends one; when it finishes the unused tokens return to the quota."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="update_campaigns")
    package = models.ForeignKey(ServicePackage, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(max_length=NAME_MAX)
    devices = models.PositiveIntegerField(help_text="Devices to update: the tokens reserved.")
    status = models.CharField(
        max_length=12, choices=CampaignStatus.choices, default=CampaignStatus.RUNNING
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    updates = models.PositiveIntegerField(
        null=True, blank=True, help_text="Tokens spent, counted when the campaign ended."
    )
    returned = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Unused tokens: released to the quota, or lost with an expired package.",
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(devices__gt=0), name="campaign_has_devices"),
        ]

    def __str__(self) -> str:
        return self.name


class LedgerEventType(models.TextChoices):
    PACKAGE_CREATION = "package_creation", "Package creation"
    PACKAGE_RENEWAL = "package_renewal", "Package renewal"
    RESERVATION = "reservation", "Reservation"
    RESERVATION_RELEASE = "reservation_release", "Reservation release"
    RESERVATION_TERMINATION = "reservation_termination", "Reservation termination"
    PACKAGE_TERMINATION = "package_termination", "Package termination"


ADDING_EVENTS = (
    LedgerEventType.PACKAGE_CREATION,
    LedgerEventType.PACKAGE_RENEWAL,
    LedgerEventType.RESERVATION_RELEASE,
    LedgerEventType.RESERVATION_TERMINATION,
)
CAMPAIGN_EVENTS = (
    LedgerEventType.RESERVATION,
    LedgerEventType.RESERVATION_RELEASE,
    LedgerEventType.RESERVATION_TERMINATION,
)


class LedgerQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The quota ledger is append-only.")

    def delete(self):
        raise TypeError("The quota ledger is append-only.")


class QuotaLedgerEntry(models.Model):
    """One change to an account's quota. `tokens` is the signed effect on the remaining quota:

    - package creation: +the package's tokens; package renewal: +the new tokens (what was left
      stays, so it carries over);
    - reservation: -one token per device of the campaign;
    - reservation release: +the campaign's unused tokens when it finishes;
    - reservation termination: +the unused tokens of a campaign cut short by the package's expiry,
      back into the expired package, where
    - package termination: -everything left is lost.

    Append-only: a database trigger refuses updates and deletes."""

    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="quota_ledger",
        help_text="Whose quota: the package's account.",
    )
    package = models.ForeignKey(ServicePackage, on_delete=models.PROTECT, related_name="ledger")
    campaign = models.ForeignKey(
        UpdateCampaign,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger",
    )
    event_type = models.CharField(max_length=30, choices=LedgerEventType.choices)
    tokens = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=200, blank=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["account", "occurred_at"], name="ledger_account_time")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(event_type__in=ADDING_EVENTS) & Q(tokens__gte=0))
                | (~Q(event_type__in=ADDING_EVENTS) & Q(tokens__lte=0)),
                name="ledger_sign_matches_event",
            ),
            models.CheckConstraint(
                condition=(Q(event_type__in=CAMPAIGN_EVENTS) & Q(campaign__isnull=False))
                | (~Q(event_type__in=CAMPAIGN_EVENTS) & Q(campaign__isnull=True)),
                name="ledger_campaign_events_name_campaign",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} {self.tokens:+d}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The quota ledger is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The quota ledger is append-only.")
