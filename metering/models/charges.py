"""Machine-usage charges: priced lines, their rollups, sessions waiting for a price and the
rating cursor."""

from django.db import models
from django.utils import timezone

from accounts.models import Account
from licenses.models import License

from .events import NAME_MAX, UsageEvent

# Money on charge lines: rounded to the currency's minor unit (at most 4 places, e.g. CLF).
MONEY_DIGITS = 20
MONEY_PLACES = 4


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Charge lines are append-only.")

    def delete(self):
        raise TypeError("Charge lines are append-only.")


class Charge(models.Model):
    """One machine-usage line: the part of a machine session that falls in one calendar month,
    priced with the rates in force at the part's start, each amount rounded half up to the
    currency's minor unit. Append-only (a database trigger refuses updates and deletes).

    `period` is the month the usage belongs to; `billed_period` the month of the statement that
    bills it: the same, unless that month was closed when the usage was priced, in which case the
    line is an adjustment on the then current month.

    The primary key is the statement's order of lines (license, billed month, start) plus the
    session, so one B-tree both keeps each session part priced once and pages a statement in
    time order: index maintenance is what bounds pricing a million sessions.
    """

    pk = models.CompositePrimaryKey("license", "billed_period", "start", "usage_event")

    usage_event = models.ForeignKey(
        UsageEvent,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    license = models.ForeignKey(
        License, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    billed_period = models.DateField()
    period = models.DateField()
    start = models.DateTimeField()
    duration = models.DurationField()
    machine_id = models.CharField(max_length=NAME_MAX)
    machine_type = models.CharField(max_length=NAME_MAX)
    region = models.CharField(max_length=NAME_MAX)
    pool = models.CharField(max_length=NAME_MAX)
    license_type = models.CharField(max_length=NAME_MAX)
    machine_rate = models.DecimalField(max_digits=18, decimal_places=6)
    license_rate = models.DecimalField(max_digits=18, decimal_places=6)
    cost = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    license_cost = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)

    objects = AppendOnlyQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.machine_id} {self.start:%Y-%m-%d %H:%M} {self.cost}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("Charge lines are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Charge lines are append-only.")

    @property
    def is_adjustment(self) -> bool:
        return self.period != self.billed_period


class ChargeRollup(models.Model):
    """Charges summed per license, billed month, usage month, pool, machine type, region and
    license type. Each poll adds its new lines here in the same transaction, so a statement's
    summary, sections and pie charts read a few rows whatever the number of lines."""

    license = models.ForeignKey(
        License, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    billed_period = models.DateField()
    period = models.DateField()
    pool = models.CharField(max_length=NAME_MAX)
    machine_type = models.CharField(max_length=NAME_MAX)
    region = models.CharField(max_length=NAME_MAX)
    license_type = models.CharField(max_length=NAME_MAX)
    duration = models.DurationField()
    cost = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    license_cost = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    lines = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "license",
                    "billed_period",
                    "period",
                    "pool",
                    "machine_type",
                    "region",
                    "license_type",
                ],
                name="one_rollup_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.license_id} {self.billed_period:%Y-%m} {self.pool}/{self.machine_type}"


class UnratedEvent(models.Model):
    """A machine session that could not be priced yet (unknown machine or license type, or no
    rate in force at its start), or that the rating set aside as implausible (no duration, one
    over MAX_SESSION_SECONDS, a start before 2000, an end after the poll). It stays here,
    visible to staff with its reason, and every poll tries it again until one prices it."""

    usage_event = models.OneToOneField(
        UsageEvent,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    account = models.ForeignKey(
        Account, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    license = models.ForeignKey(
        License,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    reason = models.TextField()
    first_seen_at = models.DateTimeField()
    last_tried_at = models.DateTimeField()

    class Meta:
        ordering = ["usage_event"]

    def __str__(self) -> str:
        return f"{self.usage_event_id}: {self.reason}"


class RatingCursor(models.Model):
    """How far rating has got: every machine session with a row id up to `last_event_id` has
    been priced or queued as unrated. A poll locks this row for its whole transaction, so polls
    never interleave and a failed poll leaves the cursor where it was."""

    name = models.CharField(max_length=50, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_event_id}"
