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

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
