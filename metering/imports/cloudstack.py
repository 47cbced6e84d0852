"""CloudStack usage records: the JSON `listUsageRecords` answers
(`{"listusagerecordsresponse": {"count": n, "usagerecord": [...]}}`, or a list of such pages).
Each record has a usage type, its usage (`rawusage`: hours, or bytes for network and disk
traffic), a window (`startdate`, `enddate`), the resource (`usageid`), its zone, account and
project, and for VMs and volumes the service or disk offering and the template.

A record is priced through the meter map by the first of these keys that is mapped:
`<usagetype>:<offeringid>`, `<usagetype>:<templateid>`, `<usagetype>` (so `1:<offering>`
prices the running hours of VMs of that offering, `6` every volume). An `enddate` on the 59th
second is the period's inclusive last second; the window ends a second later. Hours are unit x
hours; volumes, templates, ISOs and snapshots weigh their hours by their size in GB (GB-hours);
traffic counts GB."""

from datetime import timedelta
from pathlib import Path
from typing import Any

from .base import (
    DESCRIPTION_MAX,
    Context,
    FileUnreadable,
    Measure,
    RecordError,
    Records,
    asset_id,
    hours_between,
    moment,
    number,
    read_json,
    required,
    text,
)

PLATFORM = "cloudstack"
USAGE_TYPES = {
    1: "RUNNING_VM",
    2: "ALLOCATED_VM",
    3: "IP_ADDRESS",
    4: "NETWORK_BYTES_SENT",
    5: "NETWORK_BYTES_RECEIVED",
    6: "VOLUME",
    7: "TEMPLATE",
    8: "ISO",
    9: "SNAPSHOT",
    10: "SECURITY_GROUP",
    11: "LOAD_BALANCER_POLICY",
    12: "PORT_FORWARDING_RULE",
    13: "NETWORK_OFFERING",
    14: "VPN_USERS",
    21: "VM_DISK_IO_READ",
    22: "VM_DISK_IO_WRITE",
    23: "VM_DISK_BYTES_READ",
    24: "VM_DISK_BYTES_WRITE",
    25: "VM_SNAPSHOT",
    26: "VOLUME_SECONDARY",
    27: "VM_SNAPSHOT_ON_PRIMARY",
    28: "BACKUP",
}
# Usage weighed by the resource's size (bytes), and usage counted in bytes.
SIZED_TYPES = frozenset({6, 7, 8, 9, 26, 27})
BYTE_TYPES = frozenset({4, 5, 23, 24})
GIGABYTE = 2**30
# The usage server ends a period on its last second (23:59:59): the window ends a second later.
INCLUSIVE_END_SECOND = 59
ERR_SHAPE = "Not a listUsageRecords answer: expected listusagerecordsresponse.usagerecord."
ERR_RECORD = "A usage record must be a JSON object."
ERR_TYPE = "usagetype must be a CloudStack usage type number; got {value!r}."
ERR_WINDOW = "enddate must not be before startdate."


def read(path: Path) -> Records:
    document = read_json(path)
    pages = document if isinstance(document, list) else [document]
    records: list[Any] = []
    for page in pages:
        response = page.get("listusagerecordsresponse") if isinstance(page, dict) else None
        if not isinstance(response, dict):
            raise FileUnreadable(ERR_SHAPE)
        found = response.get("usagerecord", [])
        if not isinstance(found, list):
            raise FileUnreadable(ERR_SHAPE)
        records.extend(found)
    return Records(total=len(records), items=iter(records))


def _usage_type(value: Any) -> int:
    try:
        usage_type = int(str(value).strip())
    except ValueError:
        usage_type = None
    if usage_type not in USAGE_TYPES:
        raise RecordError(ERR_TYPE.format(value=value))
    return usage_type


def measures(raw: Any, context: Context) -> list[Measure]:
    if not isinstance(raw, dict):
        raise RecordError(ERR_RECORD)
    usage_type = _usage_type(raw.get("usagetype"))
    start = moment(raw.get("startdate"), "startdate")
    end = moment(raw.get("enddate"), "enddate")
    if end.second == INCLUSIVE_END_SECOND:
        end += timedelta(seconds=1)
    if end < start:
        raise RecordError(ERR_WINDOW)
    raw_usage = number(raw.get("rawusage"), "rawusage")
    hours = hours_between(start, end) or None
    if usage_type in BYTE_TYPES:
        amount, hours = raw_usage / GIGABYTE, None
    elif usage_type in SIZED_TYPES:
        amount = raw_usage * number(raw.get("size") or 0, "size") / GIGABYTE
    else:
        amount = raw_usage
    resource = text(raw.get("usageid") or raw.get("virtualmachineid"), DESCRIPTION_MAX)
    if not resource:
        raise RecordError("usageid is missing.")
    offering = text(raw.get("offeringid"))
    template = text(raw.get("templateid"))
    keys = tuple(
        key
        for key in (
            f"{usage_type}:{offering}" if offering else "",
            f"{usage_type}:{template}" if template else "",
            str(usage_type),
        )
        if key
    )
    account = text(raw.get("projectid")) or required(raw, "accountid")
    identity = "|".join(
        (account, str(usage_type), resource, start.isoformat(), end.isoformat(), offering, template)
    )
    return [
        Measure(
            identity=identity,
            keys=keys,
            amount=amount,
            hours=hours,
            start=start,
            end=end,
            asset=asset_id(resource),
            subscription=account,
            region=context.region or text(raw.get("zoneid")),
            service=USAGE_TYPES[usage_type],
            source=text(raw.get("type")),
            description=text(raw.get("description") or raw.get("name"), DESCRIPTION_MAX),
        )
    ]
