"""Demo world for metered usage, on top of the accounts demo: the four meters of seed 002, a EUR
price plan on both partners (a regional price, a price rise three months ago, a markup on
imported costs), the partners' four hosting tenants with subscriptions on every platform, and
six months of their VMs' usage (plus the current month so far) written as each platform's own
export files and imported through the four importers, then rated into daily billing rows.

Files cover whole days before the seeding day: one per platform, region and past month, and
one for the current month so far. Each file's import is recorded under its name, so running it
again the same day imports nothing, and on a later day only the current month's file again
(whose old records are duplicates).
"""

import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Account

from .imports.runner import usage_import
from .imports.samples import (
    SampleVm,
    azure_local_write,
    azure_stack_write,
    cloudstack_write,
    public_azure_write,
    sample_meter_maps_create,
)
from .models import AccountBilling, Meter, MeterPrice, Platform, PricePlan, Subscription
from .models.imports import UsageImport
from .months import Month
from .services.usage_rating import usage_rate

METERS = [
    ("cpu_hours", "CPU hours", "vCPU-hour", "sum"),
    ("memory_gb_hours", "Memory", "GB-hour", "sum"),
    ("storage_gb", "Storage", "GB", "average"),
    ("bandwidth_gb", "Bandwidth", "GB", "sum"),
]
PLAN = "Hosting EUR"
MARKUP = Decimal("8")
# Per unit: a vCPU-hour, a GB-hour of memory, a GB stored for a day, a GB sent.
PRICES = {
    "cpu_hours": "0.031500",
    "memory_gb_hours": "0.004200",
    "storage_gb": "0.003300",
    "bandwidth_gb": "0.080000",
}
REGION_PRICE = ("cpu_hours", "eu-north", "0.027500")
# The CPU price rises on the 1st, three months before the seeding month.
PRICE_RISE = ("cpu_hours", "0.034000", 3)
PLAN_HOLDERS = ("blue-harbor", "red-rock")
HISTORY_MONTHS = 6

# (tenant slug, platform, region, external id, name, VMs as (name, vCPUs, memory GB, disk GB))
SUBSCRIPTIONS: list[tuple[str, str, str, str, str, list[tuple[str, int, int, int]]]] = [
    (
        "proseware",
        Platform.AZURE_STACK,
        "eu-west",
        "5d1c2b3a-0e9f-4d8c-9b7a-6f5e4d3c2b1a",
        "Proseware Production",
        [("pw-web-01", 2, 8, 128), ("pw-web-02", 2, 8, 128), ("pw-sql-01", 8, 32, 512)],
    ),
    (
        "proseware",
        Platform.CLOUDSTACK,
        "eu-north",
        "proseware-staging",
        "Proseware Staging",
        [("pw-stage-01", 1, 4, 64), ("pw-stage-02", 2, 8, 64)],
    ),
    (
        "adatum",
        Platform.AZURE_LOCAL,
        "eu-central",
        "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
        "Adatum Stores",
        [("ad-pos-01", 4, 16, 256), ("ad-pos-02", 4, 16, 256), ("ad-erp-01", 8, 64, 1024)],
    ),
    (
        "woodgrove",
        Platform.PUBLIC_AZURE,
        "westeurope",
        "woodgrove-apps",
        "Woodgrove Apps",
        [("wg-api-01", 2, 8, 128), ("wg-api-02", 2, 8, 128), ("wg-batch-01", 4, 16, 256)],
    ),
    (
        "relecloud",
        Platform.CLOUDSTACK,
        "eu-north",
        "relecloud-games",
        "Relecloud Game Servers",
        [("rc-game-01", 4, 16, 128), ("rc-game-02", 4, 16, 128), ("rc-lobby-01", 1, 4, 64)],
    ),
    (
        "relecloud",
        Platform.AZURE_STACK,
        "eu-west",
        "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        "Relecloud Analytics",
        [("rc-stats-01", 8, 32, 1024)],
    ),
]


def _writer(platform: str) -> Any:
    """Each platform's file: daily records, Azure Local's daily snapshots in past months."""
    return {
        Platform.AZURE_STACK: azure_stack_write,
        Platform.CLOUDSTACK: cloudstack_write,
        Platform.PUBLIC_AZURE: public_azure_write,
        Platform.AZURE_LOCAL: azure_local_write,
    }[platform]


@transaction.atomic
def _catalog(today: datetime) -> None:
    meters = {}
    for code, name, unit, aggregation in METERS:
        meters[code], _ = Meter.objects.get_or_create(
            code=code, defaults={"name": name, "unit": unit, "aggregation": aggregation}
        )
    plan, created = PricePlan.objects.get_or_create(
        name=PLAN, defaults={"currency": "EUR", "markup_percent": MARKUP}
    )
    if created:
        since = datetime(2020, 1, 1, tzinfo=UTC)
        for code, price in PRICES.items():
            MeterPrice.objects.create(
                plan=plan, meter=meters[code], unit_price=Decimal(price), effective_from=since
            )
        code, region, price = REGION_PRICE
        MeterPrice.objects.create(
            plan=plan,
            meter=meters[code],
            region=region,
            unit_price=Decimal(price),
            effective_from=since,
        )
        code, price, months_back = PRICE_RISE
        rise = Month.of(today).shift(-months_back).start
        MeterPrice.objects.create(
            plan=plan, meter=meters[code], unit_price=Decimal(price), effective_from=rise
        )
    for account in Account.objects.filter(slug__in=PLAN_HOLDERS):
        AccountBilling.objects.get_or_create(account=account, defaults={"price_plan": plan})
    sample_meter_maps_create()


def _subscriptions() -> list[tuple[Subscription, list[SampleVm]]]:
    accounts = {a.slug: a for a in Account.objects.filter(slug__in={s[0] for s in SUBSCRIPTIONS})}
    made = []
    for slug, platform, region, external_id, name, vms in SUBSCRIPTIONS:
        if slug not in accounts:
            continue
        subscription, _ = Subscription.objects.get_or_create(
            platform=platform,
            external_id=external_id,
            defaults={"name": name, "account": accounts[slug], "region": region},
        )
        made.append(
            (
                subscription,
                [
                    SampleVm(external_id, vm, vcpus=cpus, memory_gb=memory, disk_gb=disk)
                    for vm, cpus, memory, disk in vms
                ],
            )
        )
    return made


def _periods(today: date) -> list[tuple[str, date, date]]:
    """(label, first day, day after the last) of each file: the past months, then the current
    month up to the seeding day (none on the 1st)."""
    current = Month.of(today)
    periods = [
        (str(month), month.first_day, month.next().first_day)
        for month in current.shift(-HISTORY_MONTHS).until(current.shift(-1))
    ]
    if today > current.first_day:
        periods.append((f"{current}-to-{today:%d}", current.first_day, today))
    return periods


def seed(stdout: Any = None, now: datetime | None = None) -> None:
    now = now or timezone.now()
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if not Account.objects.filter(slug__in=PLAN_HOLDERS).exists():
        return
    write = stdout.write if stdout is not None else (lambda text: None)
    _catalog(today)
    groups: dict[tuple[str, str], list[SampleVm]] = {}
    for subscription, vms in _subscriptions():
        groups.setdefault((subscription.platform, subscription.region), []).extend(vms)
    imported = set(UsageImport.objects.values_list("file_name", flat=True))
    events = 0
    with tempfile.TemporaryDirectory(prefix="demo-usage-") as folder:
        for (platform, region), vms in groups.items():
            for label, start, end in _periods(today.date()):
                name = f"demo-{platform}-{region}-{label}.{_suffix(platform)}"
                if name in imported:
                    continue
                path = Path(folder) / name
                options = {}
                if platform == Platform.AZURE_LOCAL and end - start > timedelta(days=7):
                    options["interval_minutes"] = 1440
                _writer(platform)(path, vms, start, end, **options)
                record = usage_import(platform=platform, path=path, region=region, now=now)
                events += record.accepted
    rating = usage_rate(now=now)
    write(
        f"  imported {events} usage events; {rating.rows_written} daily billing rows, "
        f"{rating.waiting} usage events waiting\n"
    )


def _suffix(platform: str) -> str:
    return "csv" if platform in (Platform.AZURE_LOCAL, Platform.PUBLIC_AZURE) else "json"
