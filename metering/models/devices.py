"""Device usage: live rollups kept up to date by the two-minute job, and the monthly usage
reports generated once on the third business day."""

from django.db import models
from django.utils import timezone

from accounts.models import Account

from ..months import Month
from .events import DEVICE_MAX, ApiCallCategory, EventType

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
