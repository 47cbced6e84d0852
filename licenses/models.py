"""The price catalog and licenses. Rates are effective-dated: usage is priced with the rate in
force at its start, so a new rate never changes usage that came before it. A rate is an amount
per hour in the currency of the account that owns the license."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account

RATE_DIGITS = 18
RATE_PLACES = 6  # design.md: rates may carry up to 6 decimals


class Region(models.Model):
    """A region named by usage; created on first sight."""

    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Pool(models.Model):
    """A pool of machines named by usage; created on first sight."""

    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MachineType(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MachineRate(models.Model):
    """Hourly machine rate from `effective_from` on; a region-specific rate beats the default
    (region empty) for usage in that region."""

    machine_type = models.ForeignKey(MachineType, on_delete=models.PROTECT, related_name="rates")
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="machine_rates"
    )
    hourly_rate = models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    effective_from = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["machine_type", "region", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["machine_type", "effective_from"],
                condition=Q(region__isnull=True),
                name="one_default_machine_rate_per_start",
            ),
            models.UniqueConstraint(
                fields=["machine_type", "region", "effective_from"],
                condition=Q(region__isnull=False),
                name="one_region_machine_rate_per_start",
            ),
            models.CheckConstraint(
                condition=Q(hourly_rate__gte=0), name="machine_rate_not_negative"
            ),
        ]

    def __str__(self) -> str:
        where = self.region.name if self.region_id else "default"
        return (
            f"{self.machine_type} {where} {self.hourly_rate}/h from {self.effective_from:%Y-%m-%d}"
        )


class LicenseType(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LicenseRate(models.Model):
    license_type = models.ForeignKey(LicenseType, on_delete=models.PROTECT, related_name="rates")
    hourly_rate = models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    effective_from = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["license_type", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["license_type", "effective_from"], name="one_license_rate_per_start"
            ),
            models.CheckConstraint(
                condition=Q(hourly_rate__gte=0), name="license_rate_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.license_type} {self.hourly_rate}/h from {self.effective_from:%Y-%m-%d}"


class LicenseStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CLOSED = "closed", "Closed"


class License(models.Model):
    """A prepaid license of an account; usage is billed on its monthly statements."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="licenses")
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=LicenseStatus.choices, default=LicenseStatus.ACTIVE
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["account__name", "name"]

    def __str__(self) -> str:
        return self.name
