"""Demo catalog and licenses: four machine types (two with region rates, one with a rate change
in the demo's history), three license types and six licenses across the demo customers.
Running it twice changes nothing."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Account

from .models import License, LicenseType, MachineType
from .services import license_create, license_type_create, machine_rate_add, machine_type_create

# name: (default rate, {region: rate})
MACHINE_TYPES = {
    "c5.xlarge": ("0.170000", {"eu-west": "0.192000"}),
    "c5.2xlarge": ("0.340000", {"eu-west": "0.384000"}),
    "g4dn.xlarge": ("0.526000", {"ap-south": "0.579000"}),
    "m5.large": ("0.096000", {}),
}
LICENSE_TYPES = {"standard": "0.050000", "premium": "0.120000", "render-pro": "0.200000"}
# The c5.xlarge default rate rises mid-month, three months before the current one.
RATE_CHANGE = ("c5.xlarge", "0.180000", 3)

# (account slug, license name)
LICENSES = [
    ("contoso", "Contoso Render Farm"),
    ("contoso", "Contoso Preview Nodes"),
    ("fabrikam", "Fabrikam Studio"),
    ("tailspin", "Tailspin Analytics Cluster"),
    ("globex-metro", "Metro Traffic Simulation"),
    ("globex", "Globex Batch"),
]
HISTORY_MONTHS = 6


def months_ago(now: datetime, count: int) -> datetime:
    year, month = now.year, now.month - count
    while month < 1:
        year, month = year - 1, month + 12
    return now.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


@transaction.atomic
def seed(stdout: object = None, now: datetime | None = None) -> None:
    now = now or timezone.now()
    for name, (rate, regions) in MACHINE_TYPES.items():
        if not MachineType.objects.filter(name=name).exists():
            machine_type_create(actor=None, name=name, hourly_rate=rate, region_rates=regions)
    change_type, change_rate, back = RATE_CHANGE
    machine_type = MachineType.objects.get(name=change_type)
    if not machine_type.rates.filter(hourly_rate=Decimal(change_rate)).exists():
        machine_rate_add(
            actor=None,
            machine_type=machine_type,
            hourly_rate=change_rate,
            effective_from=months_ago(now, back).replace(day=15),
        )
    for name, rate in LICENSE_TYPES.items():
        if not LicenseType.objects.filter(name=name).exists():
            license_type_create(actor=None, name=name, hourly_rate=rate)
    for slug, name in LICENSES:
        account = Account.objects.filter(slug=slug).first()
        if account is None or License.objects.filter(account=account, name=name).exists():
            continue
        license_create(
            actor=None, account=account, name=name, created_at=months_ago(now, HISTORY_MONTHS)
        )
