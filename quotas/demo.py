"""Demo world for device-management billing, on top of the accounts demo: the Globex aggregator
and its four tenants with thousands of devices, six months of connections and API calls (and
the current month so far), a renewed service package close to its expiry warning, update
campaigns a month apart with reservations, updates and releases (the latest still running), a
stand-alone account whose package expired during a campaign, and the generated reports of every
past month.

Everything is derived from month boundaries, the start of the seeding day and fixed seeds, so
running it again the same day adds nothing (events are duplicates), and on a later day only the
usage of the days that have passed since. Nothing waits for a day of the month: seeded on the
1st, the package and the campaigns look as they do seeded on the 15th; only the current month
has no usage yet.
"""

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from accounts.scoping import SYSTEM
from accounts.services import account_update
from metering.months import Month, add_months
from metering.services.ingest import MAX_BATCH, events_ingest
from metering.services.rollups import usage_rollup

from .models import CampaignStatus, ServicePackage, UpdateCampaign
from .services.campaigns import campaign_finish, campaign_start
from .services.packages import package_create, package_renew, packages_expire
from .services.reports import usage_reports_run

HISTORY_MONTHS = 6  # full months of usage before the current one
# The latest campaign started at 09:00 UTC four days before the seeding day, each earlier one a
# month before the next. Counted back from the seeding day rather than from a day of the month,
# so on any day the latest has run equally long and has updates (seeded on the 1st, it began
# last month).
LATEST_CAMPAIGN_STARTED = timedelta(days=-4, hours=9)


@dataclass(frozen=True)
class DemoFleet:
    slug: str
    devices: int
    endpoint_prefix: str
    calls_per_device: int  # API calls per device and day


FLEETS = (
    DemoFleet("globex", 240, "globex-gateway", 2),
    DemoFleet("globex-metro", 1200, "metro-bus", 6),
    DemoFleet("globex-harvest", 900, "harvest-soil-probe", 1),
    DemoFleet("globex-lumen", 1500, "lumen-streetlight", 1),
    DemoFleet("globex-aqua", 650, "aqua-meter", 4),
)

API_EVENTS = (
    ("device_to_service", "notification", 5),
    ("device_to_service", "device_message_in", 3),
    ("service_to_device", "device_message_out", 2),
    ("service_to_device", "device_request", 1),
    ("integration", "/v3/devices", 1),
    ("integration", "/v3/device-events", 1),
    ("integration", "/v2/notification/callback", 2),
)

# Campaigns: (months before the latest, tenant slug, name, devices, share updated; the
# latest, still running, has updated part of the 35% it plans).
CAMPAIGNS = (
    (6, "globex-metro", "Metro bus gateways 3.1.0", 520, 0.94),
    (5, "globex-lumen", "Streetlight controller 2.4.2", 760, 0.97),
    (4, "globex-harvest", "Soil probe 1.9.0", 410, 0.88),
    (3, "globex-aqua", "Water meter security patch 5.0.1", 600, 0.99),
    (2, "globex", "Gateway base image 2026.2", 200, 0.91),
    (1, "globex-metro", "Metro bus gateways 3.2.0", 640, 0.95),
    (0, "globex-lumen", "Streetlight controller 2.5.0", 820, 0.0),
)


def _unit(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) from its inputs."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _device_id(fleet: DemoFleet, n: int) -> str:
    return hashlib.md5(f"{fleet.slug}:{n}".encode(), usedforsecurity=False).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _connections(
    account: Account, fleet: DemoFleet, month: Month, growth: float, now: datetime
) -> Iterator:
    """Most of the fleet's devices connect a few times in a month; `growth` (0 to 1) is how
    far the fleet has grown towards its full size."""
    size = int(fleet.devices * (0.7 + 0.3 * growth))
    days = (month.end - month.start).days
    for n in range(size):
        if _unit(fleet.slug, month, n, "active") > 0.9:
            continue
        for k in range(1 + int(_unit(fleet.slug, month, n, "k") * 3)):
            moment = month.start + timedelta(
                seconds=int(_unit(fleet.slug, month, n, k) * days * 86400)
            )
            if moment >= now:
                continue
            yield {
                "event_id": f"conn-{month}-{n}-{k}",
                "type": "device_connection",
                "account": str(account.uuid),
                "device_id": _device_id(fleet, n),
                "endpoint_name": f"{fleet.endpoint_prefix}-{n:05d}",
                "timestamp": _iso(moment),
            }


def _calls(account: Account, fleet: DemoFleet, month: Month, now: datetime) -> Iterator:
    day = month.start
    while day < min(month.end, now):
        for category, name, weight in API_EVENTS:
            count = int(
                fleet.devices
                * fleet.calls_per_device
                * weight
                / 10
                * (0.6 + 0.8 * _unit(fleet.slug, day, name))
            )
            moment = day + timedelta(hours=12)
            if count and moment < now:
                yield {
                    "event_id": f"calls-{day:%Y%m%d}-{category}-{name}",
                    "type": "api_call",
                    "account": str(account.uuid),
                    "category": category,
                    "event": name,
                    "count": count,
                    "timestamp": _iso(moment),
                }
        day += timedelta(days=1)


def _ingest(events: Iterator[dict[str, Any]], now: datetime) -> int:
    accepted, batch = 0, []
    for event in events:
        batch.append(event)
        if len(batch) == MAX_BATCH:
            accepted += events_ingest(actor=SYSTEM, events=batch, now=now).accepted
            batch = []
    if batch:
        accepted += events_ingest(actor=SYSTEM, events=batch, now=now).accepted
    return accepted


def _backdate(accounts: Iterable[Account], since: datetime) -> None:
    """Globex, its tenants and Contoso have been customers for two years."""
    for account in accounts:
        if account.created_at > since:
            account_update(actor=SYSTEM, account=account, created_at=since)


def _packages(globex: Account, now: datetime) -> None:
    """A package bought 21 months ago and renewed 9 months ago: it expires in under three
    months, so My billing shows the expiry warning."""
    if ServicePackage.objects.filter(account=globex).exists():
        return
    first_start = add_months(now, -21).replace(hour=9, minute=0, second=0, microsecond=0)
    first = package_create(
        actor=SYSTEM, account=globex, tokens=4000, starts_at=first_start, now=first_start
    )
    package_renew(
        actor=SYSTEM,
        package=first,
        tokens=6000,
        now=add_months(now, -9).replace(hour=10, minute=0, second=0, microsecond=0)
        - timedelta(days=10),
    )


def _campaigns(accounts: dict[str, Account], today: datetime, now: datetime) -> int:
    """Every month a tenant updates a share of its fleet: the campaign reserves a token per
    device, the updates spend them, and finishing releases the rest. The latest campaign is
    still running. A campaign seeded on an earlier day keeps its start."""
    latest = today + LATEST_CAMPAIGN_STARTED
    fleets = {f.slug: f for f in FLEETS}
    updates = 0
    for months_before, slug, name, devices, share in CAMPAIGNS:
        account = accounts[slug]
        campaign = UpdateCampaign.objects.filter(account=account, name=name).first()
        if campaign is None:
            campaign = campaign_start(
                actor=SYSTEM,
                account=account,
                name=name,
                devices=devices,
                now=add_months(latest, -months_before),
            )
        started = campaign.started_at
        done = int(devices * (share or 0.35))
        events = []
        for n in range(done):
            moment = started + timedelta(minutes=5 + int(_unit(name, n) * 7 * 24 * 60))
            if moment < today:
                events.append(
                    {
                        "event_id": f"update-{campaign.uuid}-{n}",
                        "type": "firmware_update",
                        "account": str(account.uuid),
                        "device_id": _device_id(fleets[slug], n),
                        "endpoint_name": f"{fleets[slug].endpoint_prefix}-{n:05d}",
                        "campaign": str(campaign.uuid),
                        "timestamp": _iso(moment),
                    }
                )
        updates += _ingest(iter(events), now)
        finished = started + timedelta(days=9)
        if months_before and campaign.status == CampaignStatus.RUNNING and finished < today:
            campaign_finish(actor=SYSTEM, campaign=campaign, now=finished)
    return updates


def _expired_standalone(contoso: Account, now: datetime) -> None:
    """Contoso's package expired two months ago while a campaign was running: the campaign's
    unused reservation and the package's remaining tokens were lost."""
    if ServicePackage.objects.filter(account=contoso).exists():
        return
    start = add_months(now, -14).replace(hour=8, minute=0, second=0, microsecond=0)
    package_create(actor=SYSTEM, account=contoso, tokens=500, starts_at=start, now=start)
    campaign_start(
        actor=SYSTEM,
        account=contoso,
        name="Render node BIOS 1.7",
        devices=120,
        now=add_months(start, 11) + timedelta(days=20),
    )
    packages_expire(actor=SYSTEM, now=now)


def seed(stdout: Any = None, now: datetime | None = None) -> None:
    now = now or timezone.now()
    # Usage up to the start of the seeding day (UTC): running it again that day adds nothing.
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    accounts = {a.slug: a for a in Account.objects.filter(slug__in=[f.slug for f in FLEETS])}
    if len(accounts) != len(FLEETS):
        return
    write = stdout.write if stdout is not None else (lambda text: None)
    with transaction.atomic():
        _backdate(accounts.values(), add_months(today, -24))
        _packages(accounts["globex"], today)
        contoso = Account.objects.filter(slug="contoso").first()
        if contoso is not None:
            _backdate([contoso], add_months(today, -24))
            _expired_standalone(contoso, today)
    months = Month.of(today).shift(-HISTORY_MONTHS).until(Month.of(today))
    # One stream in full batches: a fleet's month of API calls is a few hundred events, and
    # each batch costs a transaction with its locks however small it is.
    usage = chain.from_iterable(
        chain(
            _connections(accounts[fleet.slug], fleet, month, index / HISTORY_MONTHS, today),
            _calls(accounts[fleet.slug], fleet, month, today),
        )
        for fleet in FLEETS
        for index, month in enumerate(months)
    )
    accepted = _ingest(usage, now)
    updates = _campaigns(accounts, today, now)
    rolled = usage_rollup()
    reports = usage_reports_run(now=now)
    write(
        f"  {accepted + updates} new usage events ({updates} firmware updates), "
        f"{rolled['events']} rolled up; reports generated for "
        f"{len(reports.generated)} months.\n"
    )
