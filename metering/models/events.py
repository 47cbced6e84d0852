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

EVENT_ID_MAX = 100
NAME_MAX = 100
DEVICE_MAX = 200
DESCRIPTION_MAX = 500
# Quantities and imported costs: up to 6 decimals, 18 digits before the point.
QUANTITY_DIGITS = 24
QUANTITY_PLACES = 6
# An API call's count is a PostgreSQL integer.
COUNT_MAX = 2**31 - 1


class EventType(models.TextChoices):
    MACHINE_SESSION = "machine_session", "Machine session"
    DEVICE_CONNECTION = "device_connection", "Device connection"
    FIRMWARE_UPDATE = "firmware_update", "Firmware update"
    API_CALL = "api_call", "API call"
    USAGE = "usage", "Metered usage"


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

    # usage (text columns default to "" in the database too, so raw loads of the other types
    # need not name them): `occurred_at` is the window's start or the point's timestamp;
    # `ends_at` the window's end (empty for a point). The meter, subscription and client are
    # kept as sent and resolved by the rating, so usage not attributable yet waits, not refused.
    ends_at = models.DateTimeField(null=True, blank=True)
    meter = models.CharField(max_length=NAME_MAX, blank=True, db_default="")
    quantity = models.DecimalField(
        max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, null=True, blank=True
    )
    asset = models.CharField(max_length=DEVICE_MAX, blank=True, db_default="")
    subscription = models.CharField(max_length=DEVICE_MAX, blank=True, db_default="")
    client = models.UUIDField(null=True, blank=True)
    service = models.CharField(max_length=NAME_MAX, blank=True, db_default="")
    source = models.CharField(max_length=NAME_MAX, blank=True, db_default="")
    description = models.CharField(max_length=DESCRIPTION_MAX, blank=True, db_default="")
    # An imported cost (Public Azure) in the price plan's currency: priced as is, plus markup.
    cost = models.DecimalField(
        max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, null=True, blank=True
    )

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
            # The rating recomputes a day's billing rows from the usage that starts in it.
            models.Index(
                fields=["occurred_at"],
                condition=models.Q(type="usage"),
                name="usageevent_usage_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
