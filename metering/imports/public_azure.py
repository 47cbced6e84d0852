"""Public Azure cost details: the CSV a Cost Management export writes (actual cost, EA and
MCA column names), one row per resource, meter and day. A row is billed to our subscription
named by a tag (setting PUBLIC_AZURE_SUBSCRIPTION_TAG, default `cms-subscription`) set on the
resource group; Cost Management's tag inheritance copies resource-group tags into each row's
`Tags`. The row's cost is imported as is (the rating adds the plan's markup); its quantity is
in the row's UnitOfMeasure times the map's factor."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .base import (
    DESCRIPTION_MAX,
    Context,
    Measure,
    RecordError,
    Records,
    asset_id,
    number,
    read_csv,
    required,
    text,
)

PLATFORM = "public_azure"
COLUMNS = (
    "Date",
    "SubscriptionId",
    "ResourceGroup",
    "ResourceId",
    "ResourceLocation",
    "MeterCategory",
    "MeterSubCategory",
    "MeterName",
    "Quantity",
    "UnitOfMeasure",
    "CostInBillingCurrency",
    "BillingCurrencyCode",
    "Tags",
)
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d")
ERR_DATE = "Date must be MM/DD/YYYY or YYYY-MM-DD; got {value!r}."
ERR_TAGS = "Tags must be a JSON object of tag names and values."
ERR_NO_TAG = (
    "The resource group has no {tag} tag naming our subscription (tag inheritance must be on "
    "for resource-group tags to reach the export)."
)
ERR_UNKNOWN = "The {tag} tag names {value!r}, which is no Public Azure subscription of ours."
ERR_CURRENCY = "The cost is in {currency} but subscription {subscription} is billed in {billed}."


def read(path: Path) -> Records:
    return read_csv(path, COLUMNS, "Cost Management export")


def _day(value: Any) -> datetime:
    raw = text(value)
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise RecordError(ERR_DATE.format(value=raw))


def _tags(value: Any) -> dict[str, Any]:
    """EA exports write the tags without braces (`"a": "1","b": "2"`), MCA exports as JSON."""
    raw = (value or "").strip()
    if not raw:
        return {}
    for candidate in (raw, "{" + raw + "}"):
        try:
            parsed = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            return parsed
    raise RecordError(ERR_TAGS)


def _subscription(raw: dict[str, Any], context: Context) -> str:
    tag = context.subscription_tag
    wanted = tag.lower()
    value = next(
        (v for k, v in _tags(raw.get("Tags")).items() if str(k).strip().lower() == wanted), None
    )
    if value is None or not text(value):
        raise RecordError(ERR_NO_TAG.format(tag=tag))
    subscription = text(value, DESCRIPTION_MAX)
    if subscription not in context.subscriptions:
        raise RecordError(ERR_UNKNOWN.format(tag=tag, value=subscription))
    return subscription


def measures(raw: dict[str, Any], context: Context) -> list[Measure]:
    start = _day(raw.get("Date"))
    subscription = _subscription(raw, context)
    currency = text(raw.get("BillingCurrencyCode")).upper()
    billed = context.currencies.get(subscription)
    if billed and currency != billed:
        raise RecordError(
            ERR_CURRENCY.format(currency=currency, subscription=subscription, billed=billed)
        )
    resource_id = required(raw, "ResourceId")
    category = required(raw, "MeterCategory")
    meter = text(raw.get("MeterId")) or "/".join(
        (category, text(raw.get("MeterSubCategory")), text(raw.get("MeterName")))
    )
    identity = "|".join(
        (
            start.date().isoformat(),
            text(raw.get("SubscriptionId")).lower(),
            resource_id.lower(),
            meter.lower(),
            text(raw.get("ChargeType")),
            text(raw.get("PricingModel")),
        )
    )
    unit = text(raw.get("UnitOfMeasure"))
    name = text(raw.get("MeterName"))
    return [
        Measure(
            identity=identity,
            keys=(category,),
            amount=number(raw.get("Quantity"), "Quantity"),
            cost=number(raw.get("CostInBillingCurrency"), "CostInBillingCurrency"),
            start=start,
            end=start + timedelta(days=1),
            # Azure writes one resource's id in varying case from day to day.
            asset=asset_id(resource_id.lower()),
            subscription=subscription,
            region=context.region or text(raw.get("ResourceLocation")),
            service=text(raw.get("MeterSubCategory")) or text(raw.get("ConsumedService")),
            source=text(category),
            description=text(f"{name} ({unit})" if unit else name, DESCRIPTION_MAX),
        )
    ]
