"""Realistic usage files in each platform's format, written fast, for tests and the demo: given
VMs (each in one of our subscriptions) and a date range, each writer produces what that
platform would have exported for them (daily records; Azure Local hourly snapshots), with a
little deterministic variation. `sample_meter_maps_create` maps the platform ids these files
use to the demo meters (`cpu_hours`, `memory_gb_hours`, `storage_gb`, `bandwidth_gb`)."""

import csv
import json
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..models import Meter, Platform, PlatformMeterMap
from . import azure_local, public_azure

AZURE_STACK_BASE_VM = "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5"
AZURE_STACK_WINDOWS_VM = "9CD92D4C-BAFD-4492-B278-BEDC2DE8232A"
AZURE_STACK_PAGE_BLOB = "B5C15376-6C94-4FDD-B655-1A69D138ACA3"
AZURE_STACK_BLOB_OUT = "3023FEF4-ECA5-4D7B-87B3-CFBC061931E8"
# CloudStack service offerings by vCPU count (their ids as a CloudStack zone would show them).
CLOUDSTACK_OFFERINGS = {
    1: "0c1d2e3f-1111-4a5b-8c6d-7e8f9a0b1c2d",
    2: "0c1d2e3f-2222-4a5b-8c6d-7e8f9a0b1c2d",
    4: "0c1d2e3f-4444-4a5b-8c6d-7e8f9a0b1c2d",
    8: "0c1d2e3f-8888-4a5b-8c6d-7e8f9a0b1c2d",
}
CLOUDSTACK_ZONE = "4b5c6d7e-8f90-4a1b-2c3d-4e5f6a7b8c9d"

SAMPLE_METER_MAP: list[tuple[str, str, str, str, str]] = [
    (Platform.AZURE_STACK, AZURE_STACK_BASE_VM, "cpu_hours", "1", "Base VM Size Hours"),
    (Platform.AZURE_STACK, AZURE_STACK_WINDOWS_VM, "cpu_hours", "1", "Windows VM Size Hours"),
    (Platform.AZURE_STACK, AZURE_STACK_PAGE_BLOB, "storage_gb", "1", "PageBlobCapacity"),
    (Platform.AZURE_STACK, AZURE_STACK_BLOB_OUT, "bandwidth_gb", "1", "BlobDataTransOut"),
    (Platform.AZURE_LOCAL, "vcpu", "cpu_hours", "1", "vCPU allocated"),
    (Platform.AZURE_LOCAL, "memory", "memory_gb_hours", "1", "Memory allocated"),
    (Platform.AZURE_LOCAL, "storage", "storage_gb", "1", "Virtual hard disk size"),
    (Platform.PUBLIC_AZURE, "Virtual Machines", "cpu_hours", "1", "VM hours"),
    (Platform.PUBLIC_AZURE, "Storage", "storage_gb", "1", "Managed disks"),
    (Platform.PUBLIC_AZURE, "Bandwidth", "bandwidth_gb", "1", "Data transfer out"),
    *(
        (Platform.CLOUDSTACK, f"1:{offering}", "cpu_hours", str(vcpus), f"{vcpus} vCPU offering")
        for vcpus, offering in CLOUDSTACK_OFFERINGS.items()
    ),
    (Platform.CLOUDSTACK, "6", "storage_gb", "1", "Volumes"),
    (Platform.CLOUDSTACK, "4", "bandwidth_gb", "1", "Network bytes sent"),
]

# Public Azure prices the samples bill (EUR, per hour, per GB-month, per GB).
VM_HOUR_PRICE = Decimal("0.044")
DISK_MONTH_PRICE = Decimal("0.15")
EGRESS_PRICE = Decimal("0.079")


@dataclass(frozen=True)
class SampleVm:
    """A VM with one data disk, in our subscription `subscription` (its external id)."""

    subscription: str
    name: str
    vcpus: int = 2
    memory_gb: int = 8
    disk_gb: int = 128
    windows: bool = False


def sample_meter_maps_create() -> int:
    """Map the sample files' platform ids to whichever demo meters exist; returns how many
    map entries were added."""
    meters = {m.code: m for m in Meter.objects.filter(code__in={e[2] for e in SAMPLE_METER_MAP})}
    added = 0
    for platform, external_id, code, factor, description in SAMPLE_METER_MAP:
        if code in meters:
            _, created = PlatformMeterMap.objects.get_or_create(
                platform=platform,
                external_id=external_id,
                defaults={
                    "meter": meters[code],
                    "factor": Decimal(factor),
                    "description": description,
                },
            )
            added += created
    return added


def _days(start: date, end: date) -> Iterator[datetime]:
    day = datetime(start.year, start.month, start.day, tzinfo=UTC)
    last = datetime(end.year, end.month, end.day, tzinfo=UTC)
    while day < last:
        yield day
        day += timedelta(days=1)


def _rng(vm: SampleVm) -> random.Random:
    return random.Random(zlib.crc32(f"{vm.subscription}/{vm.name}".encode()))  # noqa: S311


def _running_hours(rng: random.Random) -> int:
    """Most days a VM runs all day; now and then it is stopped for a few hours."""
    return 24 if rng.random() < 0.9 else rng.randint(4, 20)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _azure_stack_aggregate(
    vm: SampleVm, meter: str, uri: str, day: datetime, quantity: Any, info: Any
) -> dict[str, Any]:
    resource = {"resourceUri": uri, "location": "local", "tags": None, "additionalInfo": info}
    return {
        "id": f"/subscriptions/{vm.subscription}/providers/Microsoft.Commerce.Admin/"
        f"UsageAggregate/{vm.subscription}-{meter}",
        "name": f"{vm.subscription}-{meter}",
        "type": "Microsoft.Commerce.Admin/UsageAggregate",
        "properties": {
            "subscriptionId": vm.subscription,
            "usageStartTime": _iso(day),
            "usageEndTime": _iso(day + timedelta(days=1)),
            "instanceData": json.dumps({"Microsoft.Resources": resource}),
            "quantity": quantity,
            "meterId": meter,
        },
    }


def azure_stack_write(path: Path, vms: list[SampleVm], start: date, end: date) -> int:
    """Daily usage aggregates for [start, end): vCPU hours, page-blob GB-hours, egress GB."""
    value = []
    for vm in vms:
        rng = _rng(vm)
        group = f"/subscriptions/{vm.subscription}/resourceGroups/rg-{vm.name}/providers"
        vm_uri = f"{group}/Microsoft.Compute/virtualMachines/{vm.name}"
        disk_uri = f"{group}/Microsoft.Storage/storageAccounts/{vm.name.replace('-', '')}disks"
        meter = AZURE_STACK_WINDOWS_VM if vm.windows else AZURE_STACK_BASE_VM
        info = {"ServiceType": f"Standard_D{vm.vcpus}_v2", "ImageType": None}
        for day in _days(start, end):
            hours = _running_hours(rng)
            value.append(_azure_stack_aggregate(vm, meter, vm_uri, day, vm.vcpus * hours, info))
            value.append(
                _azure_stack_aggregate(
                    vm, AZURE_STACK_PAGE_BLOB, disk_uri, day, vm.disk_gb * 24, None
                )
            )
            egress = round(rng.uniform(0.2, 6.0), 3)
            value.append(
                _azure_stack_aggregate(vm, AZURE_STACK_BLOB_OUT, disk_uri, day, egress, None)
            )
    path.write_text(json.dumps({"value": value}))
    return len(value)


def azure_local_write(
    path: Path, vms: list[SampleVm], start: date, end: date, *, interval_minutes: int = 60
) -> int:
    """Allocation snapshots for [start, end), every `interval_minutes` (hourly, as the
    collector takes them; 1440 gives daily snapshots, 24 times fewer rows): each VM and its
    data disk."""
    step = timedelta(minutes=interval_minutes)
    per_day = (24 * 60) // interval_minutes
    interval = "" if interval_minutes == azure_local.DEFAULT_INTERVAL else interval_minutes
    rows = 0
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow((*azure_local.COLUMNS, "interval_minutes"))
        for vm in vms:
            group = f"/subscriptions/{vm.subscription}/resourceGroups/rg-{vm.name}/providers"
            vm_id = (
                f"{group}/Microsoft.HybridCompute/machines/{vm.name}/providers/"
                "Microsoft.AzureStackHCI/virtualMachineInstances/default"
            )
            disk_id = f"{group}/Microsoft.AzureStackHCI/virtualHardDisks/{vm.name}-data"
            common = ("hci-cluster-01", vm.subscription, f"rg-{vm.name}")
            vm_row = (azure_local.VM_TYPE, vm_id, vm.name, vm.vcpus, vm.memory_gb, "", interval)
            disk_row = (
                azure_local.DISK_TYPE,
                disk_id,
                f"{vm.name}-data",
                "",
                "",
                vm.disk_gb,
                interval,
            )
            for day in _days(start, end):
                for index in range(per_day):
                    at = _iso(day + index * step)
                    writer.writerow((at, *common, *vm_row))
                    writer.writerow((at, *common, *disk_row))
                    rows += 2
    return rows


def public_azure_write(
    path: Path, vms: list[SampleVm], start: date, end: date, *, currency: str = "EUR"
) -> int:
    """A daily actual-cost export for [start, end): VM hours, disk, egress, each row tagged
    with our subscription through the resource group's `cms-subscription` tag."""
    columns = [*public_azure.COLUMNS, "MeterId", "ChargeType", "PricingModel"]
    rows = 0
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, columns)
        writer.writeheader()
        for vm in vms:
            rng = _rng(vm)
            group = f"rg-{vm.name}"
            prefix = f"/subscriptions/6e2f4c1a-8b3d-4e5f-9a0b-1c2d3e4f5a6b/resourceGroups/{group}"
            tags = json.dumps({"cms-subscription": vm.subscription})[1:-1]
            for day in _days(start, end):
                hours = _running_hours(rng)
                egress = Decimal(str(round(rng.uniform(0.5, 20.0), 3)))
                months = Decimal(1) / Decimal(30)
                for category, sub, name, unit, quantity, cost, resource in (
                    (
                        "Virtual Machines",
                        "Dsv5 Series",
                        f"D{vm.vcpus}s v5",
                        "1 Hour",
                        hours,
                        VM_HOUR_PRICE * vm.vcpus * hours,
                        f"Microsoft.Compute/virtualMachines/{vm.name}",
                    ),
                    (
                        "Storage",
                        "Standard SSD Managed Disks",
                        "E10 LRS Disk",
                        "1/Month",
                        months,
                        DISK_MONTH_PRICE * vm.disk_gb * months,
                        f"Microsoft.Compute/disks/{vm.name}-data",
                    ),
                    (
                        "Bandwidth",
                        "Inter-Region",
                        "Standard Data Transfer Out",
                        "1 GB",
                        egress,
                        EGRESS_PRICE * egress,
                        f"Microsoft.Network/publicIPAddresses/{vm.name}-ip",
                    ),
                ):
                    writer.writerow(
                        {
                            "Date": day.strftime("%m/%d/%Y"),
                            "SubscriptionId": "6e2f4c1a-8b3d-4e5f-9a0b-1c2d3e4f5a6b",
                            "ResourceGroup": group,
                            "ResourceId": f"{prefix}/providers/{resource}",
                            "ResourceLocation": "westeurope",
                            "MeterCategory": category,
                            "MeterSubCategory": sub,
                            "MeterName": name,
                            "Quantity": f"{quantity:.10f}".rstrip("0").rstrip("."),
                            "UnitOfMeasure": unit,
                            "CostInBillingCurrency": f"{cost:.10f}",
                            "BillingCurrencyCode": currency,
                            "Tags": tags,
                            "MeterId": "",
                            "ChargeType": "Usage",
                            "PricingModel": "On Demand",
                        }
                    )
                    rows += 1
    return rows


def cloudstack_write(path: Path, vms: list[SampleVm], start: date, end: date) -> int:
    """listUsageRecords for [start, end), one record per VM, volume and network per day."""
    records = []
    for vm in vms:
        rng = _rng(vm)
        name_hash, subscription_hash = (
            zlib.crc32(vm.name.encode()),
            zlib.crc32(vm.subscription.encode()),
        )
        vm_id = f"{name_hash:08x}-0000-4000-8000-{subscription_hash:012x}"
        volume_id = vm_id.replace("-4000-", "-4001-")
        common = {
            "account": vm.subscription,
            "accountid": vm.subscription,
            "zoneid": CLOUDSTACK_ZONE,
        }
        offering = CLOUDSTACK_OFFERINGS.get(vm.vcpus, CLOUDSTACK_OFFERINGS[2])
        for day in _days(start, end):
            window = {
                "startdate": day.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                "enddate": (day + timedelta(days=1) - timedelta(seconds=1)).strftime(
                    "%Y-%m-%dT%H:%M:%S+0000"
                ),
            }
            hours = _running_hours(rng)
            records.append(
                {
                    **common,
                    **window,
                    "usagetype": 1,
                    "rawusage": str(hours),
                    "usage": f"{hours} Hrs",
                    "usageid": vm_id,
                    "virtualmachineid": vm_id,
                    "name": vm.name,
                    "offeringid": offering,
                    "type": "KVM",
                    "cpunumber": vm.vcpus,
                    "memory": vm.memory_gb * 1024,
                    "description": f"{vm.name} running time (ServiceOffering: {offering})",
                }
            )
            records.append(
                {
                    **common,
                    **window,
                    "usagetype": 6,
                    "rawusage": "24",
                    "usage": "24 Hrs",
                    "usageid": volume_id,
                    "size": vm.disk_gb * 2**30,
                    "description": f"Volume Id: {volume_id} usage time",
                }
            )
            sent = int(rng.uniform(0.1, 8.0) * 2**30)
            records.append(
                {
                    **common,
                    **window,
                    "usagetype": 4,
                    "rawusage": str(sent),
                    "usage": str(sent),
                    "usageid": vm_id,
                    "type": "DomainRouter",
                    "description": f"Bytes sent by {vm.name}",
                }
            )
    path.write_text(
        json.dumps({"listusagerecordsresponse": {"count": len(records), "usagerecord": records}})
    )
    return len(records)
