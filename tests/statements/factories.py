"""Builders for license statement tests: a small price catalog, machine sessions as the API
takes them, and a one-call ingest + poll."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from accounts.scoping import SYSTEM
from licenses.models import License
from licenses.services import license_type_create, machine_type_create
from metering.services.ingest import IngestResult, events_ingest
from statements.services.poll import PollResult, statements_poll


def at(text: str) -> datetime:
    """'2026-03-14 23:00' (or with seconds) as an aware UTC datetime."""
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(text)


def catalog(
    machine_rates: dict[str, str] | None = None,
    license_rates: dict[str, str] | None = None,
    region_rates: dict[str, dict[str, str]] | None = None,
) -> None:
    """Machine and license types with rates in force from the beginning of time."""
    for name, rate in (machine_rates or {"c5.xlarge": "1.000000"}).items():
        machine_type_create(
            actor=None,
            name=name,
            hourly_rate=Decimal(rate),
            region_rates=(region_rates or {}).get(name),
        )
    for name, rate in (license_rates or {"standard": "0.500000"}).items():
        license_type_create(actor=None, name=name, hourly_rate=Decimal(rate))


def session(
    license: License,
    event_id: str,
    start: str | datetime,
    seconds: int,
    **overrides: Any,
) -> dict[str, Any]:
    start_at = at(start) if isinstance(start, str) else start
    event = {
        "event_id": event_id,
        "type": "machine_session",
        "license": str(license.uuid),
        "start": start_at.isoformat().replace("+00:00", "Z"),
        "duration_seconds": seconds,
        "machine_id": f"m-{event_id}",
        "machine_type": "c5.xlarge",
        "region": "us-east",
        "pool": "render",
        "license_type": "standard",
    }
    event.update(overrides)
    return event


def ingest(events: list[dict[str, Any]], now: datetime | None = None) -> IngestResult:
    result = events_ingest(actor=SYSTEM, events=events, now=now)
    assert not result.rejected and not result.conflicts, result.as_dict()
    return result


def ingest_and_poll(events: list[dict[str, Any]], now: datetime) -> PollResult:
    ingest(events, now=now)
    return statements_poll(now=now)
