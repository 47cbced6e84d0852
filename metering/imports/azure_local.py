"""Azure Local (formerly Azure Stack HCI) allocation snapshots, CSV. Azure Local reports no
usage of its own, so the collector snapshots what each Arc VM and virtual hard disk has
allocated, every hour, one row per resource and snapshot:

    snapshot_time,cluster,subscription_id,resource_group,resource_type,resource_id,name,
    vcpu_count,memory_gb,disk_size_gb[,interval_minutes]

`resource_type` is `Microsoft.AzureStackHCI/virtualMachineInstances` (vcpu_count and memory_gb
set) or `Microsoft.AzureStackHCI/virtualHardDisks` (disk_size_gb set). A snapshot covers
[snapshot_time, + interval_minutes) (default 60): a VM gives vCPU x hours (kind `vcpu`) and
memory GB x hours (kind `memory`), a disk GB x hours (kind `storage`); the meter map prices
each kind."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from .base import (
    DESCRIPTION_MAX,
    Context,
    Measure,
    RecordError,
    Records,
    asset_id,
    moment,
    number,
    read_csv,
    required,
    text,
)

PLATFORM = "azure_local"
COLUMNS = (
    "snapshot_time",
    "cluster",
    "subscription_id",
    "resource_group",
    "resource_type",
    "resource_id",
    "name",
    "vcpu_count",
    "memory_gb",
    "disk_size_gb",
)
VM_TYPE = "Microsoft.AzureStackHCI/virtualMachineInstances"
DISK_TYPE = "Microsoft.AzureStackHCI/virtualHardDisks"
DEFAULT_INTERVAL = 60
MAX_INTERVAL = 24 * 60
ERR_TYPE = f"resource_type must be {VM_TYPE} or {DISK_TYPE}; got {{value!r}}."
ERR_INTERVAL = f"interval_minutes must be a whole number from 1 to {MAX_INTERVAL}."


def read(path: Path) -> Records:
    return read_csv(path, COLUMNS, "Azure Local allocation snapshot")


def _interval(raw: dict[str, Any]) -> int:
    value = (raw.get("interval_minutes") or "").strip()
    if not value:
        return DEFAULT_INTERVAL
    if not value.isdigit() or not 1 <= int(value) <= MAX_INTERVAL:
        raise RecordError(ERR_INTERVAL)
    return int(value)


def measures(raw: dict[str, Any], context: Context) -> list[Measure]:
    start = moment(raw.get("snapshot_time"), "snapshot_time")
    minutes = _interval(raw)
    end = start + timedelta(minutes=minutes)
    hours = Decimal(minutes) / 60
    resource_id = required(raw, "resource_id")
    resource_type = text(raw.get("resource_type"))
    if resource_type.lower() == VM_TYPE.lower():
        amounts = {
            "vcpu": number(raw.get("vcpu_count"), "vcpu_count"),
            "memory": number(raw.get("memory_gb"), "memory_gb"),
        }
    elif resource_type.lower() == DISK_TYPE.lower():
        amounts = {"storage": number(raw.get("disk_size_gb"), "disk_size_gb")}
    else:
        raise RecordError(ERR_TYPE.format(value=resource_type))
    common = {
        "start": start,
        "end": end,
        "hours": hours,
        "asset": asset_id(resource_id),
        "subscription": required(raw, "subscription_id"),
        "region": context.region or text(raw.get("cluster")),
        "source": resource_type,
        "description": text(raw.get("name"), DESCRIPTION_MAX),
    }
    identity = f"{resource_id.lower()}|{start.isoformat()}"
    return [
        Measure(
            identity=f"{identity}|{kind}",
            keys=(kind,),
            amount=level * hours,
            service=kind,
            **common,
        )
        for kind, level in amounts.items()
    ]
