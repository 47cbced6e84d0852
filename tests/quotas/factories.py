"""Helpers for device-billing tests: usage events as the API takes them, and packages and
campaigns made through the services."""

from datetime import UTC, datetime
from typing import Any

from accounts.models import Account
from accounts.scoping import SYSTEM
from metering.services.ingest import IngestResult, events_ingest
from metering.services.rollups import usage_rollup
from quotas.models import ServicePackage, UpdateCampaign
from quotas.services.campaigns import campaign_start
from quotas.services.packages import package_create


def at(text: str) -> datetime:
    """at("2026-04-30 23:59:59") -> an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def connection(
    account: Account, event_id: str, device: str, when: str, endpoint: str | None = None
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "device_connection",
        "account": str(account.uuid),
        "device_id": device,
        "endpoint_name": endpoint or f"ep-{device}",
        "timestamp": iso(at(when)),
    }


def update(
    account: Account, event_id: str, device: str, campaign: UpdateCampaign, when: str
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "firmware_update",
        "account": str(account.uuid),
        "device_id": device,
        "endpoint_name": f"ep-{device}",
        "campaign": str(campaign.uuid),
        "timestamp": iso(at(when)),
    }


def call(
    account: Account, event_id: str, category: str, event: str, count: int, when: str
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "api_call",
        "account": str(account.uuid),
        "category": category,
        "event": event,
        "count": count,
        "timestamp": iso(at(when)),
    }


def ingest(events: list[dict[str, Any]], *, rollup: bool = True) -> IngestResult:
    """Store events as the platform would and fold them into the live rollups."""
    result = events_ingest(actor=SYSTEM, events=events)
    if rollup:
        usage_rollup()
    return result


def package(
    account: Account, tokens: int, starts: str, now: datetime | None = None
) -> ServicePackage:
    """A package created at its start (or at `now`)."""
    return package_create(
        actor=None, account=account, tokens=tokens, starts_at=at(starts), now=now or at(starts)
    )


def campaign(account: Account, name: str, devices: int, when: str) -> UpdateCampaign:
    return campaign_start(actor=None, account=account, name=name, devices=devices, now=at(when))
