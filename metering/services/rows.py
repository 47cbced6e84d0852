"""How ingest writes usage events: each event's content as text, its fingerprint and COPY line,
the COPY itself, and the fingerprints of events already stored."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

from django.db import connection

from ..models import EventType, UsageEvent
from ..validation import FIELD_SEPARATOR, Fields, fingerprint

# The columns only `usage` events fill. They come last, and the other types' fingerprints leave
# them out, so events stored before metered usage existed still fingerprint as they did.
USAGE_CONTENT: tuple[str, ...] = (
    "ends_at",
    "meter",
    "quantity",
    "asset",
    "subscription",
    "client",
    "service",
    "source",
    "description",
    "cost",
)
_USAGE_TAIL = len(USAGE_CONTENT)

# What tells a duplicate from a conflict: the event's columns in this order, as text (an absent
# value as ""), joined by validation.FIELD_SEPARATOR and hashed by validation.fingerprint.
CONTENT: tuple[str, ...] = (
    "account_id",
    "event_id",
    "type",
    "license_id",
    "duration_seconds",
    "machine_id",
    "machine_type",
    "region",
    "pool",
    "license_type",
    "device_id",
    "endpoint_name",
    "campaign",
    "category",
    "event_name",
    "count",
    "occurred_at",
    *USAGE_CONTENT,
)
# The columns written by ingest, in COPY order: the content, so its text is the COPY line.
COLUMNS: tuple[str, ...] = (*CONTENT, "received_at", "fingerprint")
# Every content column an event type does not use; a validated event's fields are laid over it.
_BLANK: dict[str, Any] = dict.fromkeys(CONTENT, "")
_content_of = itemgetter(*CONTENT)
_TAB = "\t"
# The content columns whose validated values are not text yet, by event type: only these go
# through str(), the rest are joined as they are.
_NOT_TEXT: dict[str, tuple[str, ...]] = {
    EventType.MACHINE_SESSION: ("duration_seconds", "occurred_at"),
    EventType.DEVICE_CONNECTION: ("occurred_at",),
    EventType.FIRMWARE_UPDATE: ("campaign", "occurred_at"),
    EventType.API_CALL: ("count", "occurred_at"),
    EventType.USAGE: ("occurred_at", "quantity"),
}
# The optional usage columns that are not text: "" when absent.
_USAGE_OPTIONAL = ("ends_at", "client", "cost")
_USAGE = EventType.USAGE.value
# COPY in CSV format with tab as the delimiter and a control character as the quote: validated
# text holds no control characters, so no value needs quoting or escaping, and each row is its
# content text with tabs. An empty value is NULL, except in the columns that are never NULL.
_NULLABLE = (
    "license_id",
    "duration_seconds",
    "campaign",
    "count",
    "ends_at",
    "quantity",
    "client",
    "cost",
)
_COPY_SQL = (
    f"COPY {UsageEvent._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv, "
    f"DELIMITER E'\\t', QUOTE E'\\x01', "
    f"FORCE_NOT_NULL ({', '.join(c for c in COLUMNS if c not in _NULLABLE)}))"
)


class EventRow(NamedTuple):
    """A validated event whose references resolved: ready to store."""

    index: int  # its position in the batch
    key: tuple[int, str]  # (account id, event id)
    fingerprint: str
    line: str  # the row as COPY reads it
    fields: Fields


def event_row(
    index: int, fields: Fields, account_id: int, license_id: int | None, received_at: str
) -> EventRow:
    """The row of a validated event whose account (and license) resolved, received at
    `received_at` (as text)."""
    content = {**_BLANK, **fields, "account_id": str(account_id)}
    if license_id is not None:
        content["license_id"] = str(license_id)
    for name in _NOT_TEXT[fields["type"]]:
        content[name] = str(content[name])
    if fields["type"] == _USAGE:
        for name in _USAGE_OPTIONAL:
            value = content[name]
            content[name] = "" if value is None else str(value)
        text = FIELD_SEPARATOR.join(_content_of(content))
        print_ = fingerprint(text)
    else:
        text = FIELD_SEPARATOR.join(_content_of(content))
        print_ = fingerprint(text[:-_USAGE_TAIL])
    line = f"{text.replace(FIELD_SEPARATOR, _TAB)}\t{received_at}\t{print_}\n"
    return EventRow(index, (account_id, fields["event_id"]), print_, line, fields)


def rows_copy(rows: Sequence[EventRow]) -> None:
    """Insert the rows with one COPY (a unique violation fails them all)."""
    # The raw psycopg cursor does the COPY; Django still translates its errors.
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(_COPY_SQL) as copy,
    ):
        copy.write("".join([row.line for row in rows]))


_STORED_SQL = (
    "SELECT event_id, fingerprint FROM metering_usageevent WHERE account_id = %s "
    "AND event_id = ANY(%s)"
)


def stored_fingerprints(keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """The fingerprint of each (account id, event id) already stored: one query per account."""
    by_account: dict[int, list[str]] = defaultdict(list)
    for account_id, event_id in keys:
        by_account[account_id].append(event_id)
    stored = {}
    with connection.cursor() as cursor:
        for account_id, event_ids in by_account.items():
            cursor.execute(_STORED_SQL, [account_id, event_ids])
            for event_id, print_ in cursor.fetchall():
                stored[(account_id, event_id)] = print_
    return stored
