"""What every platform reader shares: a record's measures (what the driver turns into usage
events), the two ways a file or a record fails, and the small parsing helpers."""

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..models import DESCRIPTION_MAX, DEVICE_MAX, NAME_MAX

ERR_NOT_UTF8 = "The file is not UTF-8 text."
ERR_NOT_JSON = "The file is not JSON: {error}."
ERR_COLUMNS = "The file lacks the column(s) {columns}; is it a {kind} file?"
ERR_EMPTY = "The file has no header row."
ERR_NUMBER = "{field} must be a number of at least 0; got {value!r}."
ERR_TIME = "{field} must be a date and time; got {value!r}."
ERR_MISSING = "{field} is missing."

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_HOUR = Decimal(3600)


class FileUnreadable(Exception):
    """The whole file cannot be read: nothing of it is imported."""


class RecordError(Exception):
    """One record cannot become usage: it is reported with this reason and skipped."""


@dataclass(frozen=True, slots=True)
class Measure:
    """One usage a record reports, before the meter map prices it.

    `identity` names it among everything the platform and region ever reported (the event id
    is a hash of it), `keys` are the meter-map entries that may price it (the first mapped one
    wins) and `amount` is in the platform's unit. When `hours` is set the amount is a level
    times hours (vCPU-hours, GB-hours) and a meter that aggregates levels (average, max,
    latest) receives the level, the amount over the window's hours."""

    identity: str
    keys: tuple[str, ...]
    amount: Decimal
    start: datetime
    end: datetime
    asset: str
    subscription: str
    region: str
    hours: Decimal | None = None
    service: str = ""
    source: str = ""
    description: str = ""
    cost: Decimal | None = None


@dataclass
class Context:
    """What a reader may need besides the record: the region given to the import (it wins over
    the record's own location) and, for Public Azure, the tag that names our subscription and
    the subscriptions it may name with the currency each is billed in (when it has a plan)."""

    region: str
    subscription_tag: str = ""
    subscriptions: frozenset[str] = field(default_factory=frozenset)
    currencies: dict[str, str] = field(default_factory=dict)


@dataclass
class Records:
    """A read file: how many records it holds and the records themselves, in file order."""

    total: int
    items: Iterator[Any]


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileUnreadable(ERR_NOT_UTF8) from exc
    except OSError as exc:
        raise FileUnreadable(f"The file cannot be read: {exc.strerror or exc}.") from exc


def read_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path), parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        raise FileUnreadable(ERR_NOT_JSON.format(error=exc)) from exc


def read_csv(path: Path, required: tuple[str, ...], kind: str) -> Records:
    """Rows as dicts keyed by the header; a header without every required column refuses the
    whole file. Rows are read lazily from the decoded text."""
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames
    if not header:
        raise FileUnreadable(ERR_EMPTY)
    missing = [name for name in required if name not in header]
    if missing:
        raise FileUnreadable(ERR_COLUMNS.format(columns=", ".join(missing), kind=kind))
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    return Records(total=max(lines - 1, 0), items=_csv_rows(reader))


def _csv_rows(reader: csv.DictReader) -> Iterator[dict[str, Any]]:
    try:
        yield from reader
    except csv.Error as exc:
        raise FileUnreadable(f"The CSV is malformed at line {reader.line_num}: {exc}.") from exc


def text(value: Any, max_length: int = NAME_MAX) -> str:
    """A printable one-line value cut to `max_length`: names and descriptions are labels."""
    if value is None:
        return ""
    if value.__class__ is str and value.isprintable() and value == value.strip():
        return value[:max_length]
    cleaned = _CONTROL.sub(" ", str(value)).strip()
    return cleaned[:max_length]


def required(raw: dict[str, Any], field_name: str) -> str:
    value = text(raw.get(field_name), DESCRIPTION_MAX)
    if not value:
        raise RecordError(ERR_MISSING.format(field=field_name))
    return value


def asset_id(value: str) -> str:
    """A resource id as an asset id: kept whole when it fits, else its head plus a hash of
    the whole, so two long ids never share an asset."""
    if len(value) <= DEVICE_MAX:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    return f"{value[: DEVICE_MAX - 17]}~{digest}"


def number(value: Any, field_name: str) -> Decimal:
    try:
        parsed = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        parsed = None
    if parsed is None or not parsed.is_finite() or parsed < 0:
        raise RecordError(ERR_NUMBER.format(field=field_name, value=str(value)))
    return parsed


def moment(value: Any, field_name: str) -> datetime:
    """An ISO 8601 time in UTC; one without an offset is taken as UTC (platform exports
    write UTC times without saying so)."""
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise RecordError(ERR_TIME.format(field=field_name, value=value)) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def hours_between(start: datetime, end: datetime) -> Decimal:
    return Decimal(int((end - start).total_seconds())) / _HOUR
