"""Shape checks for incoming usage events, one plain function per event type.

These run once per event on the ingest hot path (tens of thousands per second), so they are
hand-written checks rather than DRF serializers; the messages are constants the tests assert.
"""

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

from .models import DEVICE_MAX, EVENT_ID_MAX, NAME_MAX, ApiCallCategory, EventType

FUTURE_TOLERANCE = timedelta(minutes=5)

ERR_NOT_OBJECT = "Each event must be a JSON object."
ERR_REQUIRED = "This field is required."
ERR_TEXT = "Must be a non-empty string of at most {max} characters."
ERR_CONTROL = "Must not contain control characters (tabs, line breaks and the like)."
ERR_UUID = "Must be a UUID."
ERR_TIME = "Must be an ISO 8601 timestamp with a time zone, e.g. 2026-05-01T12:00:00Z."
ERR_FUTURE = "Must not be more than 5 minutes in the future."
ERR_DURATION = "Must be an integer of 0 or more."
ERR_COUNT = "Must be an integer of 1 or more."
ERR_TYPE = "Must be one of: " + ", ".join(EventType.values) + "."
ERR_CATEGORY = "Must be one of: " + ", ".join(ApiCallCategory.values) + "."

Errors = dict[str, list[str]]

# C0 and C1 control characters: no name needs them, and without them the fingerprint's field
# separator cannot occur inside a field.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Joins an event's values for its fingerprint (a control character, so never inside a value).
FIELD_SEPARATOR = "\x1f"
# The longest text UUID() accepts ("urn:uuid:{...}"); longer input is not parsed or cached.
_UUID_TEXT_MAX = 47


@lru_cache(maxsize=65_536)
def _parse_uuid(text: str) -> UUID | None:
    """Batches name the same few licenses and accounts over and over; parse each once."""
    try:
        return UUID(text)
    except ValueError:
        return None


class Checked:
    """Reads fields of one raw event, collecting an error per bad field."""

    __slots__ = ("errors", "raw")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.errors: Errors = {}

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def text(self, field: str, max_length: int) -> str:
        value = self.raw.get(field)
        # The usual case, answered cheaply: printable text holds no control characters.
        if value.__class__ is str and 0 < len(value) <= max_length and value.isprintable():
            return value
        if value is None or value == "":
            self.fail(field, ERR_REQUIRED)
            return ""
        if not isinstance(value, str) or len(value) > max_length:
            self.fail(field, ERR_TEXT.format(max=max_length))
            return ""
        if _CONTROL.search(value):
            self.fail(field, ERR_CONTROL)
            return ""
        return value

    def uuid(self, field: str, *, required: bool = True) -> UUID | None:
        value = self.raw.get(field)
        if value is None or value == "":
            if required:
                self.fail(field, ERR_REQUIRED)
            return None
        text = value if value.__class__ is str else str(value)
        parsed = _parse_uuid(text) if len(text) <= _UUID_TEXT_MAX else None
        if parsed is None:
            self.fail(field, ERR_UUID)
        return parsed

    def timestamp(self, field: str, now: datetime) -> datetime | None:
        value = self.raw.get(field)
        if value is None or value == "":
            self.fail(field, ERR_REQUIRED)
            return None
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.fail(field, ERR_TIME)
            return None
        if parsed.tzinfo is not UTC:
            parsed = parsed.astimezone(UTC)
        if parsed > now + FUTURE_TOLERANCE:
            self.fail(field, ERR_FUTURE)
            return None
        return parsed

    def integer(self, field: str, minimum: int, message: str) -> int | None:
        value = self.raw.get(field)
        if value is None or value == "":
            self.fail(field, ERR_REQUIRED)
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(field, message)
            return None
        return value


# A validated event: the model's column values, keyed by field name.
Fields = dict[str, Any]


def _machine_session(c: Checked, now: datetime) -> Fields:
    return {
        "license": c.uuid("license"),
        "occurred_at": c.timestamp("start", now),
        "duration_seconds": c.integer("duration_seconds", 0, ERR_DURATION),
        "machine_id": c.text("machine_id", NAME_MAX),
        "machine_type": c.text("machine_type", NAME_MAX),
        "region": c.text("region", NAME_MAX),
        "pool": c.text("pool", NAME_MAX),
        "license_type": c.text("license_type", NAME_MAX),
    }


def _device_connection(c: Checked, now: datetime) -> Fields:
    return {
        "device_id": c.text("device_id", DEVICE_MAX),
        "endpoint_name": c.text("endpoint_name", DEVICE_MAX),
        "occurred_at": c.timestamp("timestamp", now),
    }


def _firmware_update(c: Checked, now: datetime) -> Fields:
    return {
        "device_id": c.text("device_id", DEVICE_MAX),
        "endpoint_name": c.text("endpoint_name", DEVICE_MAX),
        "campaign": c.uuid("campaign"),
        "occurred_at": c.timestamp("timestamp", now),
    }


def _api_call(c: Checked, now: datetime) -> Fields:
    category = c.raw.get("category")
    if category not in ApiCallCategory.values:
        c.fail("category", ERR_REQUIRED if category in (None, "") else ERR_CATEGORY)
    return {
        "category": category,
        "event_name": c.text("event", DEVICE_MAX),
        "count": c.integer("count", 1, ERR_COUNT),
        "occurred_at": c.timestamp("timestamp", now),
    }


_CHECKERS: dict[str, Callable[[Checked, datetime], Fields]] = {
    EventType.MACHINE_SESSION: _machine_session,
    EventType.DEVICE_CONNECTION: _device_connection,
    EventType.FIRMWARE_UPDATE: _firmware_update,
    EventType.API_CALL: _api_call,
}


def check_event(raw: Any, now: datetime) -> tuple[Fields | None, Errors]:
    """Validate one raw event. Returns (fields, {}) or (None, errors). `fields` holds the type,
    the event id, the optional target `account` (UUID) and the type's own columns."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": [ERR_NOT_OBJECT]}
    c = Checked(raw)
    event_id = c.text("event_id", EVENT_ID_MAX)
    event_type = raw.get("type")
    checker = _CHECKERS.get(event_type)
    if checker is None:
        c.fail("type", ERR_REQUIRED if event_type in (None, "") else ERR_TYPE)
        return None, c.errors
    fields = checker(c, now)
    account = c.uuid("account", required=False)
    if c.errors:
        return None, c.errors
    fields.update(type=event_type, event_id=event_id, account=account)
    return fields, {}


def fingerprint(content: str) -> str:
    """MD5 of an event's normalised content: its values as text in a fixed column order, joined
    by FIELD_SEPARATOR (not a security hash: it tells a duplicate from a conflict). Timestamps
    are UTC datetimes by then, so "…Z" and "…+00:00" are the same event. Text fields hold no
    control characters (checked above), so the separator cannot make two different events look
    alike."""
    return hashlib.md5(content.encode(), usedforsecurity=False).hexdigest()
