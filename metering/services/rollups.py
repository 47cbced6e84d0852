"""Live device rollups: fold new events into devices per month and daily usage per account."""

from django.db import connection, transaction
from django.utils import timezone

from ..models import EventType, RollupCursor, UsageEvent
from ..selectors import ROLLUP_CURSOR
from .ingest import committed_watermark

# Events are rolled up this many at a time, one transaction each, so a large backlog (a bulk
# load, a worker that was down) commits steadily instead of in one huge transaction.
ROLLUP_CHUNK = 250_000

# The first connection of each device in each month of the id range, with the range's
# connection count and last connection, merged into the device's month row.
_ROLLUP_DEVICES = """
INSERT INTO metering_devicemonth
    (account_id, month, device_id, endpoint_name, first_seen_at, last_seen_at, connections)
SELECT account_id, month, device_id, endpoint_name, occurred_at, last_seen_at, connections
FROM (
    SELECT account_id, date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month,
           device_id, endpoint_name, occurred_at,
           MAX(occurred_at) OVER per_device AS last_seen_at,
           COUNT(*) OVER per_device AS connections,
           ROW_NUMBER() OVER (per_device ORDER BY occurred_at, id) AS position
    FROM metering_usageevent
    WHERE id > %s AND id <= %s AND type = %s
    WINDOW per_device AS (
        PARTITION BY account_id, date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date,
                     device_id
    )
) AS ranked
WHERE position = 1
ON CONFLICT (account_id, month, device_id) DO UPDATE SET
    endpoint_name = CASE WHEN excluded.first_seen_at < metering_devicemonth.first_seen_at
        THEN excluded.endpoint_name ELSE metering_devicemonth.endpoint_name END,
    first_seen_at = CASE WHEN excluded.first_seen_at < metering_devicemonth.first_seen_at
        THEN excluded.first_seen_at ELSE metering_devicemonth.first_seen_at END,
    last_seen_at = CASE WHEN excluded.last_seen_at > metering_devicemonth.last_seen_at
        THEN excluded.last_seen_at ELSE metering_devicemonth.last_seen_at END,
    connections = metering_devicemonth.connections + excluded.connections
"""

_ROLLUP_DAILY = """
INSERT INTO metering_dailyusage (account_id, day, type, category, event_name, quantity)
SELECT account_id, (occurred_at AT TIME ZONE 'UTC')::date, type, category, event_name,
       SUM(CASE WHEN type = %s THEN count ELSE 1 END)
FROM metering_usageevent
WHERE id > %s AND id <= %s AND type IN (%s, %s)
GROUP BY account_id, (occurred_at AT TIME ZONE 'UTC')::date, type, category, event_name
ON CONFLICT (account_id, day, type, category, event_name) DO UPDATE SET
    quantity = metering_dailyusage.quantity + excluded.quantity
"""


def usage_rollup(*, chunk: int = ROLLUP_CHUNK) -> dict[str, int]:
    """Fold every committed event not yet rolled up into the live rollups (devices per month,
    firmware updates and API calls per day). Idempotent: the cursor moves in the transaction
    that adds the events, so each event is counted exactly once."""
    high = committed_watermark()
    counts = {"events": 0, "device_rows": 0, "daily_rows": 0}
    while True:
        with transaction.atomic():
            cursor_row, _ = RollupCursor.objects.select_for_update().get_or_create(
                name=ROLLUP_CURSOR
            )
            low = cursor_row.last_event_id
            if low >= high:
                return counts
            # The id of the chunk-th event after the cursor (ids have gaps: failed batches burn
            # sequence values), or the watermark.
            upper = min(
                high,
                UsageEvent.objects.filter(id__gt=low)
                .order_by("id")
                .values_list("id", flat=True)[chunk - 1 : chunk]
                .first()
                or high,
            )
            with connection.cursor() as cursor:
                cursor.execute(_ROLLUP_DEVICES, [low, upper, EventType.DEVICE_CONNECTION])
                counts["device_rows"] += max(cursor.rowcount, 0)
                cursor.execute(
                    _ROLLUP_DAILY,
                    [
                        EventType.API_CALL,
                        low,
                        upper,
                        EventType.API_CALL,
                        EventType.FIRMWARE_UPDATE,
                    ],
                )
                counts["daily_rows"] += max(cursor.rowcount, 0)
            cursor_row.last_event_id = upper
            cursor_row.updated_at = timezone.now()
            cursor_row.save(update_fields=["last_event_id", "updated_at"])
            counts["events"] += UsageEvent.objects.filter(id__gt=low, id__lte=upper).count()
