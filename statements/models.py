"""Monthly license statements, the credits (transactions) they count, and their chart cache.

A statement is open while its month can still change and closed for good afterwards: database
triggers (migration 0002) refuse any change to a closed statement, its credits and its lines;
the model and queryset guards below give the same refusal a clear Python error first.
"""

import uuid
from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from licenses.models import License
from metering.models import MONEY_DIGITS, MONEY_PLACES
from metering.months import Month


class StatementClosed(Exception):
    """Raised when code tries to change a closed statement or what it counts."""


def _money(**kwargs: object) -> models.DecimalField:
    return models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=0, **kwargs
    )


class StatementStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class StatementQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if self.filter(status=StatementStatus.CLOSED).exists():
            raise StatementClosed("A closed statement never changes.")
        return super().update(**kwargs)

    def delete(self):
        if self.filter(status=StatementStatus.CLOSED).exists():
            raise StatementClosed("A closed statement is never deleted.")
        return super().delete()


class Statement(models.Model):
    """One license's statement for one month. Amounts are sums of rounded lines and credits:
    ending = starting + credits - license charges - machine charges; the starting balance is the
    previous month's ending balance (0 for the first)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No single-column indexes: (account, period) and (license, period) below lead with them.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="statements", db_index=False
    )
    license = models.ForeignKey(
        License, on_delete=models.PROTECT, related_name="statements", db_index=False
    )
    period = models.DateField(help_text="First day of the month.")
    status = models.CharField(
        max_length=10, choices=StatementStatus.choices, default=StatementStatus.OPEN
    )
    currency = models.CharField(max_length=3)
    starting_balance = _money()
    total_credits = _money()
    license_charges = _money()
    machine_charges = _money()
    ending_balance = _money()
    line_count = models.BigIntegerField(default=0)
    usage = models.DurationField(default=timedelta)
    # Bumped whenever lines are added, so derived caches (the hourly chart) know to recompute.
    revision = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = StatementQuerySet.as_manager()

    class Meta:
        ordering = ["license_id", "-period"]
        constraints = [
            models.UniqueConstraint(fields=["license", "period"], name="one_statement_per_month"),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | Q(status="closed", closed_at__isnull=False),
                name="statement_closed_at_iff_closed",
            ),
        ]
        indexes = [models.Index(fields=["account", "period"], name="statement_account_period")]

    def __str__(self) -> str:
        return f"{self.license} {Month.of(self.period)!s}"

    def save(self, *args, **kwargs):
        if getattr(self, "_stored_status", None) == StatementStatus.CLOSED:
            raise StatementClosed("A closed statement never changes.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.status == StatementStatus.CLOSED:
            raise StatementClosed("A closed statement is never deleted.")
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_status = getattr(instance, "status", None)
        return instance

    @property
    def is_closed(self) -> bool:
        return self.status == StatementStatus.CLOSED

    @property
    def total_charges(self):
        return self.license_charges + self.machine_charges

    @property
    def period_label(self) -> str:
        return str(Month.of(self.period))


class Credit(models.Model):
    """Money credited to a prepaid license (a transaction), counted on the statement of the
    month it is credited in."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="credits", db_index=False
    )
    license = models.ForeignKey(
        License, on_delete=models.PROTECT, related_name="credits", db_index=False
    )
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="credits")
    amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    credited_at = models.DateTimeField()
    invoice_number = models.CharField(max_length=50)
    invoice_date = models.DateField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-credited_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_amount_positive"),
            models.UniqueConstraint(
                fields=["license", "invoice_number"], name="one_credit_per_license_invoice"
            ),
        ]
        indexes = [models.Index(fields=["account", "credited_at"], name="credit_account_time")]

    def __str__(self) -> str:
        return f"{self.invoice_number} {self.amount}"


class StatementChart(models.Model):
    """The chart figures of a statement (plotly JSON) at a revision of its lines, built from its
    rollups and lines by statements.services.chart_cache: in a worker after a poll refreshed the
    statement, or on a view that finds it missing or older than the lines. A cache: not part of
    the statement, so it may be rebuilt at any time."""

    statement = models.OneToOneField(
        Statement, primary_key=True, on_delete=models.CASCADE, related_name="chart"
    )
    revision = models.BigIntegerField()
    figures = models.JSONField()
    computed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"chart of {self.statement_id} at revision {self.revision}"


class PdfStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Being built"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class StatementPdf(models.Model):
    """The PDF of a large statement, built by a worker (statements.services.pdf) and kept in
    default storage for the version of the statement it was built from: a statement that
    changes gets a new one. A cache with its status: not part of the statement."""

    statement = models.OneToOneField(
        Statement, primary_key=True, on_delete=models.CASCADE, related_name="pdf"
    )
    # The statement's revision and last update, as services.pdf.statement_version writes them.
    version = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=PdfStatus.choices, default=PdfStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    file = models.CharField(max_length=300, blank=True, help_text="Name in default storage.")
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"PDF of {self.statement_id} at {self.version}: {self.status}"
