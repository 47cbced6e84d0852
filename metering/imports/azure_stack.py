"""Azure Stack Hub usage aggregates: the JSON the provider usage API answers
(`GET .../providers/Microsoft.Commerce.Admin/subscriberUsageAggregates`), one object with
`value`, or a list of such pages. Each aggregate's `properties` give the subscription, the
usage window, the meter id (a GUID, looked up case-insensitively in the meter map), the
quantity in the meter's unit (often unit x hours) and `instanceData`, a JSON string whose
`Microsoft.Resources` names the resource, its location, tags and additional info."""

import json
import re
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

PLATFORM = "azure_stack"
ERR_SHAPE = "Not a usage aggregates answer: expected an object with a value list, or a list."
ERR_PROPERTIES = "Not a usage aggregate: it has no properties object."
ERR_INSTANCE = "instanceData must be JSON naming Microsoft.Resources with a resourceUri."
ERR_WINDOW = "usageEndTime must be after usageStartTime."

_PROVIDER = re.compile(r"/providers/([^/]+)/([^/]+)/([^/]+)", re.IGNORECASE)


def read(path: Path) -> Records:
    document = read_json(path)
    pages = document if isinstance(document, list) else [document]
    aggregates: list[Any] = []
    for page in pages:
        if isinstance(page, dict) and isinstance(page.get("value"), list):
            aggregates.extend(page["value"])
        elif isinstance(page, dict) and "properties" in page:
            aggregates.append(page)
        else:
            raise FileUnreadable(ERR_SHAPE)
    return Records(total=len(aggregates), items=iter(aggregates))


def _resource(instance_data: Any) -> dict[str, Any]:
    data = instance_data
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            raise RecordError(ERR_INSTANCE) from None
    resource = data.get("Microsoft.Resources") if isinstance(data, dict) else None
    if not isinstance(resource, dict) or not resource.get("resourceUri"):
        raise RecordError(ERR_INSTANCE)
    return resource


def _service(additional_info: Any) -> str:
    """The VM size or SKU Azure Stack puts in additionalInfo (an object or a JSON string)."""
    if isinstance(additional_info, str):
        try:
            additional_info = json.loads(additional_info)
        except ValueError:
            return ""
    if isinstance(additional_info, dict):
        return text(additional_info.get("ServiceType") or additional_info.get("ImageType"))
    return ""


def measures(raw: Any, context: Context) -> list[Measure]:
    properties = raw.get("properties") if isinstance(raw, dict) else None
    if not isinstance(properties, dict):
        raise RecordError(ERR_PROPERTIES)
    subscription = required(properties, "subscriptionId")
    meter_id = required(properties, "meterId")
    start = moment(properties.get("usageStartTime"), "usageStartTime")
    end = moment(properties.get("usageEndTime"), "usageEndTime")
    if end <= start:
        raise RecordError(ERR_WINDOW)
    quantity = number(properties.get("quantity"), "quantity")
    resource = _resource(properties.get("instanceData"))
    uri = text(resource["resourceUri"], DESCRIPTION_MAX)
    provider = _PROVIDER.search(uri)
    return [
        Measure(
            identity="|".join(
                (subscription, meter_id.lower(), start.isoformat(), end.isoformat(), uri.lower())
            ),
            keys=(meter_id,),
            amount=quantity,
            hours=hours_between(start, end),
            start=start,
            end=end,
            asset=asset_id(uri),
            subscription=subscription,
            region=context.region or text(resource.get("location")),
            service=_service(resource.get("additionalInfo")),
            source=text(f"{provider[1]}/{provider[2]}") if provider else "",
            description=text(provider[3] if provider else uri, DESCRIPTION_MAX),
        )
    ]
