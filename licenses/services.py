"""Catalog and license changes. Each is one transaction and leaves an audit row.

Rates are add-only and effective-dated. A new rate may never take effect over usage that is
already priced (that usage keeps the rate it was priced with); the metering app, which prices
usage, tells this module how far pricing has got through `register_priced_usage_check`.
"""

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import record_change
from accounts.models import Account
from accounts.scoping import Actor

from .models import (
    RATE_DIGITS,
    RATE_PLACES,
    License,
    LicenseRate,
    LicenseStatus,
    LicenseType,
    MachineRate,
    MachineType,
    Pool,
    Region,
)

# A type's first rate applies from here on unless told otherwise, so usage that arrived before
# its price existed (kept unrated) is priced by the next poll.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
NAME_MAX = 100
LICENSE_NAME_MAX = 200

ERR_NAME = "Must be a non-empty name of at most {max} characters."
ERR_NAME_TEXT = (
    "Must be plain text: no control characters (tabs, line breaks, NUL and the like) and no "
    "lone surrogates such as \\ud800."
)
ERR_NAME_TAKEN = "A {kind} named {name!r} exists already."
ERR_RATE = f"Must be a number of 0 or more with at most {RATE_PLACES} decimals."
ERR_RATE_EXISTS = "A rate starting at that time exists already."
ERR_RATE_PRICED = (
    "Usage from {since} on is already priced (up to a session starting {latest}); "
    "a new rate may only start after it."
)
ERR_TIME = "Must be a timestamp with a time zone."

# Control characters (NUL among them, which PostgreSQL text cannot hold) and lone surrogates
# (JSON's "\ud800", which no UTF-8 text can hold); usage may not name them either
# (metering.validation), so a catalog name with one could never price anything.
_NOT_PLAIN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

# (machine_type, region, license_type, since) -> latest start of priced usage at or after since.
PricedUsageCheck = Callable[..., datetime | None]
_priced_usage_check: PricedUsageCheck | None = None


def register_priced_usage_check(check: PricedUsageCheck) -> None:
    """Metering (which sits above this app) answers: has usage from a time on been priced?"""
    global _priced_usage_check
    _priced_usage_check = check


def clean_name(value: Any, field: str = "name", max_length: int = NAME_MAX) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > max_length:
        raise ValidationError({field: [ERR_NAME.format(max=max_length)]})
    if _NOT_PLAIN.search(value):
        raise ValidationError({field: [ERR_NAME_TEXT]})
    return value.strip()


def clean_rate(value: Any, field: str = "hourly_rate") -> Decimal:
    """A non-negative hourly rate with at most RATE_PLACES decimals."""
    try:
        rate = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        rate = None
    if (
        rate is None
        or isinstance(value, bool | float)
        or not rate.is_finite()
        or rate < 0
        or rate.as_tuple().exponent < -RATE_PLACES
        or rate.adjusted() >= RATE_DIGITS - RATE_PLACES
    ):
        raise ValidationError({field: [ERR_RATE]})
    return rate


def _clean_time(value: datetime | None, default: datetime) -> datetime:
    if value is None:
        return default
    if timezone.is_naive(value):
        raise ValidationError({"effective_from": [ERR_TIME]})
    return value.astimezone(UTC)


def _refuse_over_priced_usage(since: datetime, **usage: str | None) -> None:
    if _priced_usage_check is None:
        return
    latest = _priced_usage_check(since=since, **usage)
    if latest is not None:
        raise ValidationError(
            {
                "effective_from": [
                    ERR_RATE_PRICED.format(
                        since=f"{since:%Y-%m-%d %H:%M:%S}Z", latest=f"{latest:%Y-%m-%d %H:%M:%S}Z"
                    )
                ]
            }
        )


def region_named(name: str) -> Region:
    """The region with this name, created on first sight."""
    region, _ = Region.objects.get_or_create(name=clean_name(name, "region"))
    return region


def regions_ensure(names: set[str]) -> None:
    """Create the regions and pools usage named for the first time (in one query each)."""
    Region.objects.bulk_create([Region(name=n) for n in names if n], ignore_conflicts=True)


def pools_ensure(names: set[str]) -> None:
    Pool.objects.bulk_create([Pool(name=n) for n in names if n], ignore_conflicts=True)


@transaction.atomic
def license_type_create(
    *,
    actor: Actor | None,
    name: str,
    hourly_rate: Decimal | str,
    effective_from: datetime | None = None,
) -> LicenseType:
    name = clean_name(name)
    rate = clean_rate(hourly_rate)
    if LicenseType.objects.filter(name=name).exists():
        raise ValidationError({"name": [ERR_NAME_TAKEN.format(kind="license type", name=name)]})
    license_type = LicenseType.objects.create(name=name)
    record_change(actor=actor, instance=license_type, old=None)
    license_rate_add(
        actor=actor,
        license_type=license_type,
        hourly_rate=rate,
        effective_from=_clean_time(effective_from, EARLIEST),
    )
    return license_type


def license_rate_check(
    *, license_type: LicenseType, hourly_rate: Decimal | str, effective_from: datetime | None
) -> tuple[Decimal, datetime]:
    """Refuse a license rate that may not be added (call inside the adding transaction: it
    waits for a running poll and holds it off until the transaction ends)."""
    rate = clean_rate(hourly_rate)
    since = _clean_time(effective_from, EARLIEST)
    if LicenseRate.objects.filter(license_type=license_type, effective_from=since).exists():
        raise ValidationError({"effective_from": [ERR_RATE_EXISTS]})
    _refuse_over_priced_usage(since, license_type=license_type.name)
    return rate, since


@transaction.atomic
def license_rate_add(
    *,
    actor: Actor | None,
    license_type: LicenseType,
    hourly_rate: Decimal | str,
    effective_from: datetime,
) -> LicenseRate:
    """A new hourly license rate for usage from `effective_from` on."""
    rate, since = license_rate_check(
        license_type=license_type, hourly_rate=hourly_rate, effective_from=effective_from
    )
    license_rate = LicenseRate.objects.create(
        license_type=license_type, hourly_rate=rate, effective_from=since
    )
    record_change(actor=actor, instance=license_rate, old=None)
    return license_rate


@transaction.atomic
def machine_type_create(
    *,
    actor: Actor | None,
    name: str,
    hourly_rate: Decimal | str,
    region_rates: Mapping[str, Decimal | str] | None = None,
    effective_from: datetime | None = None,
) -> MachineType:
    """A machine type with its default hourly rate and optional rates for some regions."""
    name = clean_name(name)
    rate = clean_rate(hourly_rate)
    if MachineType.objects.filter(name=name).exists():
        raise ValidationError({"name": [ERR_NAME_TAKEN.format(kind="machine type", name=name)]})
    regional = {}
    for region, region_rate in (region_rates or {}).items():
        # The name first: a rate's message names its region, which must be fit to show.
        region_name = clean_name(region, "region_rates")
        try:
            regional[region_name] = clean_rate(region_rate, "region_rates")
        except ValidationError as exc:
            raise ValidationError({"region_rates": [f"{region_name}: {ERR_RATE}"]}) from exc
    since = _clean_time(effective_from, EARLIEST)
    machine_type = MachineType.objects.create(name=name)
    record_change(actor=actor, instance=machine_type, old=None)
    machine_rate_add(actor=actor, machine_type=machine_type, hourly_rate=rate, effective_from=since)
    for region, region_rate in regional.items():
        machine_rate_add(
            actor=actor,
            machine_type=machine_type,
            hourly_rate=region_rate,
            effective_from=since,
            region=region,
        )
    return machine_type


def machine_rate_check(
    *,
    machine_type: MachineType,
    hourly_rate: Decimal | str,
    effective_from: datetime | None,
    region: str | None = None,
) -> tuple[Decimal, datetime]:
    """Refuse a machine rate that may not be added (inside the adding transaction, as above)."""
    rate = clean_rate(hourly_rate)
    since = _clean_time(effective_from, EARLIEST)
    if region:
        clean_name(region, "region")
    if MachineRate.objects.filter(
        machine_type=machine_type,
        region__name=region if region else None,
        effective_from=since,
    ).exists():
        raise ValidationError({"effective_from": [ERR_RATE_EXISTS]})
    # A default rate can price every region without a rate of its own, so any usage of the
    # type counts; a region's rate only that region's usage.
    _refuse_over_priced_usage(since, machine_type=machine_type.name, region=region or None)
    return rate, since


@transaction.atomic
def machine_rate_add(
    *,
    actor: Actor | None,
    machine_type: MachineType,
    hourly_rate: Decimal | str,
    effective_from: datetime,
    region: str | None = None,
) -> MachineRate:
    """A new hourly machine rate from `effective_from` on: the default, or one region's."""
    rate, since = machine_rate_check(
        machine_type=machine_type,
        hourly_rate=hourly_rate,
        effective_from=effective_from,
        region=region,
    )
    region_row = region_named(region) if region else None
    machine_rate = MachineRate.objects.create(
        machine_type=machine_type, region=region_row, hourly_rate=rate, effective_from=since
    )
    record_change(actor=actor, instance=machine_rate, old=None)
    return machine_rate


@transaction.atomic
def license_create(
    *,
    actor: Actor | None,
    account: Account,
    name: str,
    status: str = LicenseStatus.ACTIVE,
    created_at: datetime | None = None,
) -> License:
    name = clean_name(name, max_length=LICENSE_NAME_MAX)
    if status not in LicenseStatus.values:
        raise ValidationError({"status": [f"Must be one of: {', '.join(LicenseStatus.values)}."]})
    license = License(account=account, name=name, status=status)
    if created_at is not None:
        license.created_at = created_at
    license.full_clean()
    license.save()
    record_change(actor=actor, instance=license, old=None)
    return license
