"""Accounts and the platform plumbing every other app relies on: tenancy tree, memberships,
API keys, the hash-chained audit log and scheduled job runs."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .money import is_currency


def validate_currency(value: str) -> None:
    if not is_currency(value):
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code.")


class AccountKind(models.TextChoices):
    PLATFORM = "platform", "Platform"
    DISTRIBUTOR = "distributor", "Distributor"
    PARTNER = "partner", "Partner"
    CUSTOMER = "customer", "Customer"


# A child sits strictly lower in this order, except that a customer may hold customers:
# that is an aggregator and its tenants.
KIND_RANK = {
    AccountKind.PLATFORM: 0,
    AccountKind.DISTRIBUTOR: 1,
    AccountKind.PARTNER: 2,
    AccountKind.CUSTOMER: 3,
}


class BusinessModel(models.TextChoices):
    ACTIVE_DEVICES = "active_devices", "Active devices"
    API_CALLS = "api_calls", "API calls"


class Account(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    currency = models.CharField(max_length=3, default="USD", validators=[validate_currency])
    organization = models.CharField("organization / team name", max_length=200, blank=True)
    business_model = models.CharField(
        max_length=20, choices=BusinessModel.choices, default=BusinessModel.ACTIVE_DEVICES
    )
    attributes = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="account_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    FINANCE = "finance", "Finance"
    MEMBER = "member", "Member (read-only)"


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["account__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="one_membership_per_account")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.account} as {self.role}"


class ApiKeyRole(models.TextChoices):
    ADMIN = "admin", "Admin (platform-wide)"
    FINANCE = "finance", "Finance"
    INGEST = "ingest", "Ingest (usage only)"
    READ = "read", "Read"
    # Platform services: generate billing rows and invoices, import usage, read everything;
    # never manage accounts, members or keys.
    SERVICE = "service", "Service (platform)"


PLATFORM_KEY_ROLES = (ApiKeyRole.ADMIN, ApiKeyRole.SERVICE)
ERR_KEY_ACCOUNT = (
    "Only admin and service keys are platform-wide; every other key belongs to an account."
)


class ApiKey(models.Model):
    """A machine credential. Only a SHA-256 of the secret is stored; the key is shown once."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=10, choices=ApiKeyRole.choices)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, editable=False
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(role__in=PLATFORM_KEY_ROLES) & Q(account__isnull=True))
                | (~Q(role__in=PLATFORM_KEY_ROLES) & Q(account__isnull=False)),
                name="api_key_admin_iff_platform_wide",
                violation_error_message=ERR_KEY_ACCOUNT,
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    # An API key stands in for a user in request.user; these make it quack like one.
    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class AuditAction(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The audit log is append-only.")

    def delete(self):
        raise TypeError("The audit log is append-only.")


class AuditEvent(models.Model):
    """One change to a record. Append-only: a database trigger refuses updates and deletes, and
    each row's hash covers its content and the previous row's hash."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_type = models.CharField(max_length=10)  # user, api_key or system
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    # No database constraint: an audit row must never be touched by a cascade.
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    action = models.CharField(max_length=10, choices=AuditAction.choices)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    old_values = models.JSONField(null=True, blank=True)
    new_values = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["account", "-id"], name="audit_account_recent")]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit log is append-only.")


class JobStatus(models.TextChoices):
    RUNNING = "running", "Running"
    OK = "ok", "OK"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (already running)"
    # The process died without recording an end; finished_at is when the next run found it.
    ABANDONED = "abandoned", "Abandoned"


class JobRun(models.Model):
    name = models.CharField(max_length=100)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.RUNNING)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["name", "-started_at"], name="jobrun_name_recent")]

    def __str__(self) -> str:
        return f"{self.name} {self.status} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self) -> timedelta | None:
        return (self.finished_at - self.started_at) if self.finished_at else None


class BillingSettings(models.Model):
    """Site-wide billing settings (seed 003's Billing category): one row, id 1."""

    use_overlap_usage_selection = models.BooleanField(
        default=False,
        help_text=(
            "UseOverlapUsageSelection. Off: a usage window belongs wholly to the day its start "
            "falls in. On: a window crossing midnight is split over the days it overlaps, in "
            "proportion to its time in each. Invoiced days never change either way."
        ),
    )
    default_billing_aggregation_monthly = models.BooleanField(
        default=False,
        help_text="DefaultBillingAggregationMonthly: the Billing grid opens in monthly mode.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "billing settings"
        verbose_name_plural = "billing settings"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="billing_settings_singleton")]

    def __str__(self) -> str:
        return "Billing settings"

    @classmethod
    def load(cls) -> "BillingSettings":
        return cls.objects.get_or_create(id=1)[0]
