"""Usage events as they arrived: one append-only table for every event type, stored exactly once
per (account, event_id).

Ingest speed is bounded by index maintenance (each B-tree costs about as much as a bare COPY), so
this table carries only its primary key and the idempotency key. Its foreign keys are validated
by the ingest service and not by the database for the same reason; rows are never deleted.
"""

from django.db import models
from django.utils import timezone

from accounts.models import Account
from licenses.models import License

from .months import Month

EVENT_ID_MAX = 100
NAME_MAX = 100
DEVICE_MAX = 200
# An API call's count is a PostgreSQL integer.
COUNT_MAX = 2**31 - 1


class EventType(models.TextChoices):
    MACHINE_SESSION = "machine_session", "Machine session"
    DEVICE_CONNECTION = "device_connection", "Device connection"
    FIRMWARE_UPDATE = "firmware_update", "Firmware update"
    API_CALL = "api_call", "API call"


class ApiCallCategory(models.TextChoices):
    DEVICE_TO_SERVICE = "device_to_service", "Device to service"
    SERVICE_TO_DEVICE = "service_to_device", "Service to device"
    INTEGRATION = "integration", "Integration"


class UsageEvent(models.Model):
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+"
    )
    event_id = models.CharField(max_length=EVENT_ID_MAX)
    type = models.CharField(max_length=20, choices=EventType.choices)
    # The session start for machine sessions, the event's timestamp otherwise (UTC).
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    # MD5 of the normalised content: the same event_id with another fingerprint is a conflict.
    fingerprint = models.CharField(max_length=32)

    # machine_session
    license = models.ForeignKey(
        License,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    duration_seconds = models.BigIntegerField(null=True, blank=True)
    machine_id = models.CharField(max_length=NAME_MAX, blank=True)
    machine_type = models.CharField(max_length=NAME_MAX, blank=True)
    region = models.CharField(max_length=NAME_MAX, blank=True)
    pool = models.CharField(max_length=NAME_MAX, blank=True)
    license_type = models.CharField(max_length=NAME_MAX, blank=True)

    # device_connection and firmware_update
    device_id = models.CharField(max_length=DEVICE_MAX, blank=True)
    endpoint_name = models.CharField(max_length=DEVICE_MAX, blank=True)
    campaign = models.UUIDField(null=True, blank=True)

    # api_call
    category = models.CharField(max_length=20, choices=ApiCallCategory.choices, blank=True)
    event_name = models.CharField(max_length=DEVICE_MAX, blank=True)
    count = models.IntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "event_id"], name="one_event_per_account_id")
        ]
        indexes = [
            # Firmware updates are a small share of the events, so this partial index costs
            # connection and API-call ingest nothing; it counts each campaign's updates exactly
            # when tokens are checked, released or terminated.
            models.Index(
                fields=["campaign"],
                condition=models.Q(type="firmware_update"),
                name="usageevent_campaign_updates",
            ),
            # Likewise for the month's firmware updates and API calls in report generation,
            # which then scans the month only for the connections.
            models.Index(
                fields=["occurred_at"],
                condition=models.Q(type__in=["firmware_update", "api_call"]),
                name="usageevent_updates_calls_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


# -- Live rollups: the current picture, kept up to date from new events every few minutes --------


class DeviceMonth(models.Model):
    """One device's connections in one UTC month. A device is active in a month when it has a
    row here; pages count and list these instead of scanning the events."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="First day of the UTC month.")
    device_id = models.CharField(max_length=DEVICE_MAX)
    endpoint_name = models.CharField(max_length=DEVICE_MAX, help_text="At the first connection.")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    connections = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "month", "device_id"], name="one_row_per_device_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.device_id} in {Month.from_first_day(self.month)}"


class DailyUsage(models.Model):
    """Firmware updates and API calls of one account on one UTC day, per call category and
    detailed event (both empty for firmware updates)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    type = models.CharField(max_length=20, choices=EventType.choices)
    category = models.CharField(max_length=20, choices=ApiCallCategory.choices, blank=True)
    event_name = models.CharField(max_length=DEVICE_MAX, blank=True)
    quantity = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "day", "type", "category", "event_name"],
                name="one_row_per_daily_usage",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_name} on {self.day}: {self.quantity}"


class RollupCursor(models.Model):
    """How far a rollup has read the events: every event id at or below `last_event_id` is in."""

    name = models.CharField(max_length=50, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} at event {self.last_event_id}"


# -- Monthly usage reports: snapshots generated once, on the third business day -------------------


class UsageReportMonth(models.Model):
    """One generated month. Its reports were written with it in one transaction, so a month is
    either fully reported or not at all; neither it nor its reports ever change."""

    month = models.DateField(unique=True, help_text="First day of the UTC month.")
    generated_at = models.DateTimeField()
    accounts = models.IntegerField()
    active_devices = models.BigIntegerField()
    firmware_updates = models.BigIntegerField()
    api_calls = models.BigIntegerField()
    # The month's two gzipped CSV files in default_storage: a header, then every account's rows
    # in tree order, each account's rows one gzip member. See metering.exports.
    active_devices_file = models.CharField(max_length=300)
    firmware_updates_file = models.CharField(max_length=300)

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"Usage reports for {self.period}"

    @property
    def period(self) -> Month:
        return Month.from_first_day(self.month)


class UsageReport(models.Model):
    """One account's own usage in one month, with the account as it was when generated. Totals
    for an account and its tenants add up the reports below it in `tree_path`."""

    report_month = models.ForeignKey(
        UsageReportMonth, on_delete=models.PROTECT, related_name="reports"
    )
    month = models.DateField()
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    # The account tree at generation: "/<root id>/.../<own id>/".
    tree_path = models.CharField(max_length=400)
    account_name = models.CharField(max_length=200)
    organization = models.CharField(max_length=200, blank=True)
    business_model = models.CharField(max_length=20)
    had_package = models.BooleanField(
        help_text="The account or its aggregator had a service package during the month."
    )
    active_devices = models.IntegerField()
    firmware_updates = models.IntegerField()
    api_calls_total = models.BigIntegerField()
    # {"device_to_service": {"total": n, "events": {"notification": n, ...}}, ...}
    api_calls = models.JSONField()
    # Where this account's rows and those of every account below it lie in the month's files:
    # in tree order they are one run of gzip members, so one byte range each.
    active_devices_start = models.BigIntegerField()
    active_devices_length = models.BigIntegerField()
    firmware_updates_start = models.BigIntegerField()
    firmware_updates_length = models.BigIntegerField()

    class Meta:
        ordering = ["month", "tree_path"]
        constraints = [
            models.UniqueConstraint(fields=["month", "account"], name="one_report_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.account_name} {Month.from_first_day(self.month)}"

    @property
    def period(self) -> Month:
        return Month.from_first_day(self.month)


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
