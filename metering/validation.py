"""Shape and plausibility checks for incoming usage events, one plain function per event type.

These run once per event on the ingest hot path (tens of thousands per second), so they are
hand-written checks rather than DRF serializers; the messages are constants the tests assert.
Every way in (the API, CSV and JSON Lines files) goes through `check_event`, and the rating
prices only what these limits allow (`metering.rating` takes EARLIEST, FUTURE_TOLERANCE and
MAX_SESSION_SECONDS from here).
"""

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple
from uuid import UUID

from django.conf import settings

from .models import (
    COUNT_MAX,
    DESCRIPTION_MAX,
    DEVICE_MAX,
    EVENT_ID_MAX,
    NAME_MAX,
    QUANTITY_DIGITS,
    QUANTITY_PLACES,
    ApiCallCategory,
    EventType,
)

# Usage is dated from here on: nothing this site bills is older, and an earlier date is a sender's
# clock or parser gone wrong.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(minutes=5)

ERR_NOT_OBJECT = "Each event must be a JSON object."
ERR_REQUIRED = "This field is required."
ERR_TEXT = "Must be a non-empty string of at most {max} characters."
ERR_CONTROL = "Must not contain control characters (tabs, line breaks and the like)."
ERR_UUID = "Must be a UUID."
ERR_TIME = "Must be an ISO 8601 timestamp with a time zone, e.g. 2026-05-01T12:00:00Z."
ERR_FUTURE = "Must not be more than 5 minutes in the future."
ERR_TOO_EARLY = "Must not be before 2000-01-01T00:00:00Z."
ERR_DURATION = "Must be a whole number of seconds from 0 to {max} (the longest session accepted)."
ERR_NOT_ENDED = (
    "Send a session once it has ended: start plus duration_seconds is more than 5 minutes in the "
    "future."
)
ERR_COUNT = f"Must be an integer from 1 to {COUNT_MAX}."
ERR_UNICODE = (
    "Must be valid Unicode text: no lone surrogate such as \\ud800 (in a file: only UTF-8)."
)
ERR_DECIMAL = (
    "Must be a number of at least 0 with at most 6 decimals (a JSON number or a string such as "
    '"12.5"), below 10^18.'
)
ERR_WINDOW_ORDER = "Must not be before start."
ERR_WINDOW_LONG = "A usage window may last at most {days} days."
ERR_WINDOW_OR_POINT = "Send either start and end (a window) or timestamp (a point), not both."
ERR_TYPE = "Must be one of: " + ", ".join(EventType.values) + "."
ERR_CATEGORY = "Must be one of: " + ", ".join(ApiCallCategory.values) + "."

Errors = dict[str, list[str]]

# C0 and C1 control characters: no name needs them, and without them the fingerprint's field
# separator cannot occur inside a field.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The longest usage window accepted: a day's recomputation looks back as far as the longest one.
MAX_USAGE_WINDOW = timedelta(days=31)
_QUANTUM = Decimal(1).scaleb(-QUANTITY_PLACES)
_DECIMAL_LIMIT = Decimal(10) ** (QUANTITY_DIGITS - QUANTITY_PLACES)
# A decimal in text: digits, at most one point, no exponent, no sign but an optional minus
# (refused as negative with the same message as any other bad number).
_DECIMAL_TEXT = re.compile(r"^-?(\d{1,30}(\.\d{0,30})?|\.\d{1,30})$")

# Lone surrogates: JSON's "\ud800" escapes decode to them, and so do a file's bytes that are not
# UTF-8 (files are read with surrogateescape); no UTF-8 text, so no database row, can hold one.
_SURROGATE = re.compile("[\ud800-\udfff]")
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
        if _SURROGATE.search(value):
            self.fail(field, ERR_UNICODE)
            return ""
        return value

    def uuid(self, field: str, *, required: bool = True) -> UUID | None:
        value = self.raw.get(field)
        if value is None or value == "":
            if required:
                self.fail(field, ERR_REQUIRED)
            return None
        parsed = None
        if value.__class__ is str and len(value) <= _UUID_TEXT_MAX:
            parsed = _parse_uuid(value)
        if parsed is None:
            self.fail(field, ERR_UUID)
        return parsed

    def timestamp(self, field: str, latest: datetime) -> datetime | None:
        """An aware timestamp from EARLIEST to `latest`, in UTC."""
        value = self.raw.get(field)
        if value is None or value == "":
            self.fail(field, ERR_REQUIRED)
            return None
        try:
            parsed = datetime.fromisoformat(value) if value.__class__ is str else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.fail(field, ERR_TIME)
            return None
        # Compared before converting: at the ends of the calendar (year 1 or 9999 with an
        # offset) the conversion to UTC itself overflows.
        if parsed > latest:
            self.fail(field, ERR_FUTURE)
            return None
        if parsed < EARLIEST:
            self.fail(field, ERR_TOO_EARLY)
            return None
        if parsed.tzinfo is not UTC:
            parsed = parsed.astimezone(UTC)
        return parsed

    def optional_text(self, field: str, max_length: int) -> str:
        """Text that may be absent (or empty): then ""."""
        if self.raw.get(field) in (None, ""):
            return ""
        return self.text(field, max_length)

    def decimal(self, field: str, *, required: bool = True) -> Decimal | None:
        """A decimal of at least 0 with at most 6 places, from a JSON number or a string, as
        text with exactly 6 places so equal amounts store and fingerprint alike."""
        value = self.raw.get(field)
        if value is None or value == "":
            if required:
                self.fail(field, ERR_REQUIRED)
            return None
        parsed = None
        if (value.__class__ is str and _DECIMAL_TEXT.match(value)) or value.__class__ is int:
            parsed = Decimal(value)
        elif value.__class__ is float and value == value and abs(value) != float("inf"):
            # The shortest text that reads back as the same float: 0.1 is 0.1, not 0.1000…0555.
            parsed = Decimal(repr(value))
        try:
            if parsed is not None and 0 <= parsed < _DECIMAL_LIMIT:
                exact = parsed.quantize(_QUANTUM)
                if exact == parsed:
                    return exact
        except InvalidOperation:
            pass
        self.fail(field, ERR_DECIMAL)
        return None

    def integer(self, field: str, minimum: int, maximum: int, message: str) -> int | None:
        """An integer from `minimum` to `maximum`; `message` may name {max}."""
        value = self.raw.get(field)
        # Exactly int: a bool is an int to Python but not a number to the sender.
        if value.__class__ is int and minimum <= value <= maximum:
            return value
        if value is None or value == "":
            self.fail(field, ERR_REQUIRED)
            return None
        self.fail(field, message.format(max=maximum))
        return None


# A validated event: the model's column values, keyed by field name.
Fields = dict[str, Any]


class Bounds(NamedTuple):
    """The limits a batch's events are checked against, worked out once per batch: reading a
    Django setting costs about a microsecond, a tenth of checking an event."""

    latest: datetime  # the latest timestamp accepted
    max_session_seconds: int


def bounds_at(now: datetime) -> Bounds:
    return Bounds(now + FUTURE_TOLERANCE, settings.MAX_SESSION_SECONDS)


def _machine_session(c: Checked, bounds: Bounds) -> Fields:
    start = c.timestamp("start", bounds.latest)
    seconds = c.integer("duration_seconds", 0, bounds.max_session_seconds, ERR_DURATION)
    # Sessions are reported once they end; one that ends later would bill a month that has not
    # come yet. (A subtraction costs a third of building a timedelta to add.)
    if (
        start is not None
        and seconds is not None
        and (bounds.latest - start).total_seconds() < seconds
    ):
        c.fail("duration_seconds", ERR_NOT_ENDED)
    return {
        "license": c.uuid("license"),
        "occurred_at": start,
        "duration_seconds": seconds,
        "machine_id": c.text("machine_id", NAME_MAX),
        "machine_type": c.text("machine_type", NAME_MAX),
        "region": c.text("region", NAME_MAX),
        "pool": c.text("pool", NAME_MAX),
        "license_type": c.text("license_type", NAME_MAX),
    }


def _device_connection(c: Checked, bounds: Bounds) -> Fields:
    return {
        "device_id": c.text("device_id", DEVICE_MAX),
        "endpoint_name": c.text("endpoint_name", DEVICE_MAX),
        "occurred_at": c.timestamp("timestamp", bounds.latest),
    }


def _firmware_update(c: Checked, bounds: Bounds) -> Fields:
    return {
        "device_id": c.text("device_id", DEVICE_MAX),
        "endpoint_name": c.text("endpoint_name", DEVICE_MAX),
        "campaign": c.uuid("campaign"),
        "occurred_at": c.timestamp("timestamp", bounds.latest),
    }


def _api_call(c: Checked, bounds: Bounds) -> Fields:
    category = c.raw.get("category")
    if category not in ApiCallCategory.values:
        c.fail("category", ERR_REQUIRED if category in (None, "") else ERR_CATEGORY)
    return {
        "category": category,
        "event_name": c.text("event", DEVICE_MAX),
        "count": c.integer("count", 1, COUNT_MAX, ERR_COUNT),
        "occurred_at": c.timestamp("timestamp", bounds.latest),
    }


def _usage(c: Checked, bounds: Bounds) -> Fields:
    """Metered usage: a window (start and end) or a point (timestamp)."""
    raw = c.raw
    window = raw.get("start") not in (None, "") or raw.get("end") not in (None, "")
    ends_at = None
    if window and raw.get("timestamp") not in (None, ""):
        c.fail("timestamp", ERR_WINDOW_OR_POINT)
        starts_at = None
    elif window:
        starts_at = c.timestamp("start", bounds.latest)
        ends_at = c.timestamp("end", bounds.latest)
        if starts_at is not None and ends_at is not None:
            if ends_at < starts_at:
                c.fail("end", ERR_WINDOW_ORDER)
            elif ends_at - starts_at > MAX_USAGE_WINDOW:
                c.fail("end", ERR_WINDOW_LONG.format(days=MAX_USAGE_WINDOW.days))
    else:
        starts_at = c.timestamp("timestamp", bounds.latest)
    return {
        "meter": c.text("meter", NAME_MAX),
        "quantity": c.decimal("quantity"),
        "occurred_at": starts_at,
        "ends_at": ends_at,
        "asset": c.text("asset", DEVICE_MAX),
        "subscription": c.optional_text("subscription", DEVICE_MAX),
        "client": c.uuid("client", required=False),
        "region": c.optional_text("region", NAME_MAX),
        "service": c.optional_text("service", NAME_MAX),
        "source": c.optional_text("source", NAME_MAX),
        "description": c.optional_text("description", DESCRIPTION_MAX),
        "cost": c.decimal("cost", required=False),
    }


_CHECKERS: dict[str, Callable[[Checked, Bounds], Fields]] = {
    EventType.MACHINE_SESSION: _machine_session,
    EventType.DEVICE_CONNECTION: _device_connection,
    EventType.FIRMWARE_UPDATE: _firmware_update,
    EventType.API_CALL: _api_call,
    EventType.USAGE: _usage,
}


def check_event(raw: Any, bounds: Bounds) -> tuple[Fields | None, Errors]:
    """Validate one raw event against its batch's `bounds_at(now)`. Returns (fields, {}) or
    (None, errors). `fields` holds the type, the event id, the optional target `account` (UUID)
    and the type's own columns."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": [ERR_NOT_OBJECT]}
    c = Checked(raw)
    event_id = c.text("event_id", EVENT_ID_MAX)
    event_type = raw.get("type")
    # Only text can name a type (a list or an object is not even a dictionary key).
    checker = _CHECKERS.get(event_type) if event_type.__class__ is str else None
    if checker is None:
        c.fail("type", ERR_REQUIRED if event_type in (None, "") else ERR_TYPE)
        return None, c.errors
    fields = checker(c, bounds)
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
