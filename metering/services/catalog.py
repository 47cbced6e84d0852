"""The metered-usage catalog: meters, price plans with their add-only prices, an account's plan,
hosting subscriptions and who is billed for an asset. Each change is one transaction and leaves
an audit row; the API and the admin both come through here.

Nothing here rates usage: usage waiting for a meter, a price, a subscription or an assignment
is picked up by the rating's next poll, and days already invoiced never change."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import record_change, snapshot
from accounts.models import Account
from accounts.scoping import Actor
from licenses.services import clean_name

from ..models import (
    DEVICE_MAX,
    NAME_MAX,
    AccountBilling,
    Asset,
    Meter,
    MeterPrice,
    PricePlan,
    Subscription,
)

ERR_METER_TAKEN = "A meter with the code {code!r} exists already."
ERR_PLAN_TAKEN = "A price plan named {name!r} exists already."
ERR_PRICE_EXISTS = (
    "The plan has a price for {meter!r} ({where}) starting at {start} already; prices are "
    "add-only: add one with another start."
)
ERR_PRICE_REPEATED = "Price {index}: the same meter, region and start as price {first}."
ERR_SUBSCRIPTION_TAKEN = "A subscription with the external id {external_id!r} exists on {platform}."
ERR_TIME = "Must be a timestamp with a time zone."


@dataclass(frozen=True)
class PriceInput:
    """One price of a new plan: `effective_from` None means from now on."""

    meter: Meter
    unit_price: Decimal
    region: str = ""
    effective_from: datetime | None = None


def _clean_time(value: datetime) -> datetime:
    if timezone.is_naive(value):
        raise ValidationError({"effective_from": [ERR_TIME]})
    return value.astimezone(UTC)


def _clean_region(region: str | None) -> str:
    return clean_name(region, "region", NAME_MAX) if region else ""


@transaction.atomic
def meter_create(
    *, actor: Actor | None, code: str, name: str, unit: str, aggregation: str
) -> Meter:
    meter = Meter(
        code=code,
        name=clean_name(name, "name", 200),
        unit=clean_name(unit, "unit", 50),
        aggregation=aggregation,
    )
    if Meter.objects.filter(code=code).exists():
        raise ValidationError({"code": [ERR_METER_TAKEN.format(code=code)]})
    meter.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            meter.save()
    except IntegrityError as exc:  # created by another request since the check
        raise ValidationError({"code": [ERR_METER_TAKEN.format(code=code)]}) from exc
    record_change(actor=actor, instance=meter, old=None)
    return meter


@transaction.atomic
def price_plan_create(
    *,
    actor: Actor | None,
    name: str,
    currency: str,
    markup_percent: Decimal = Decimal(0),
    prices: list[PriceInput] | tuple[PriceInput, ...] = (),
) -> PricePlan:
    """A plan with its first prices; prices without a start take effect now."""
    now = timezone.now()
    name = clean_name(name, "name", 200)
    starts = {}
    for index, price in enumerate(prices):
        key = (price.meter.pk, _clean_region(price.region), price.effective_from or now)
        if key in starts:
            raise ValidationError(
                {"prices": [ERR_PRICE_REPEATED.format(index=index, first=starts[key])]}
            )
        starts[key] = index
    if PricePlan.objects.filter(name=name).exists():
        raise ValidationError({"name": [ERR_PLAN_TAKEN.format(name=name)]})
    plan = PricePlan(name=name, currency=currency.upper(), markup_percent=markup_percent)
    plan.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            plan.save()
    except IntegrityError as exc:
        raise ValidationError({"name": [ERR_PLAN_TAKEN.format(name=name)]}) from exc
    record_change(actor=actor, instance=plan, old=None)
    for price in prices:
        meter_price_add(
            actor=actor,
            plan=plan,
            meter=price.meter,
            unit_price=price.unit_price,
            region=price.region,
            effective_from=price.effective_from or now,
        )
    return plan


@transaction.atomic
def meter_price_add(
    *,
    actor: Actor | None,
    plan: PricePlan,
    meter: Meter,
    unit_price: Decimal,
    effective_from: datetime,
    region: str | None = "",
) -> MeterPrice:
    """A meter's unit price in the plan from `effective_from` on (for one region, or the
    default for every region without its own). Prices are never changed or removed."""
    region = _clean_region(region)
    since = _clean_time(effective_from)
    price = MeterPrice(
        plan=plan, meter=meter, region=region, unit_price=unit_price, effective_from=since
    )
    exists = ValidationError(
        {
            "effective_from": [
                ERR_PRICE_EXISTS.format(
                    meter=meter.code,
                    where=f"region {region}" if region else "every region",
                    start=f"{since:%Y-%m-%d %H:%M:%S}Z",
                )
            ]
        }
    )
    if MeterPrice.objects.filter(
        plan=plan, meter=meter, region=region, effective_from=since
    ).exists():
        raise exists
    price.full_clean(exclude=["plan", "meter"], validate_unique=False)
    try:
        with transaction.atomic():
            price.save()
    except IntegrityError as exc:
        raise exists from exc
    record_change(actor=actor, instance=price, old=None)
    return price


@transaction.atomic
def account_billing_set(
    *, actor: Actor | None, account: Account, price_plan: PricePlan | None
) -> AccountBilling:
    """Give the account its own price plan, or none (None: it uses the nearest account above
    it that has one). The rating applies it to every day not yet invoiced."""
    billing, created = AccountBilling.objects.select_for_update().get_or_create(account=account)
    if not created and billing.price_plan == price_plan:
        return billing
    old = None if created else snapshot(billing)
    billing.price_plan = price_plan
    billing.save()
    record_change(actor=actor, instance=billing, old=old)
    return billing


@transaction.atomic
def subscription_create(
    *,
    actor: Actor | None,
    external_id: str,
    name: str,
    account: Account,
    platform: str,
    region: str | None = "",
) -> Subscription:
    external_id = clean_name(external_id, "external_id", DEVICE_MAX)
    taken = ValidationError(
        {"external_id": [ERR_SUBSCRIPTION_TAKEN.format(external_id=external_id, platform=platform)]}
    )
    subscription = Subscription(
        external_id=external_id,
        name=clean_name(name, "name", 200),
        account=account,
        region=_clean_region(region),
        platform=platform,
    )
    if Subscription.objects.filter(platform=platform, external_id=external_id).exists():
        raise taken
    subscription.full_clean(exclude=["account"], validate_unique=False)
    try:
        with transaction.atomic():
            subscription.save()
    except IntegrityError as exc:
        raise taken from exc
    record_change(actor=actor, instance=subscription, old=None)
    return subscription


@transaction.atomic
def asset_assign(*, actor: Actor | None, asset: Asset, client: Account) -> Asset:
    """Bill the asset's usage to `client` from now on: usage that waited for an assignment is
    rated by the next poll, and days already invoiced keep what they billed."""
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    if asset.client_id == client.pk:
        return asset
    old = snapshot(asset)
    asset.client = client
    asset.save(update_fields=["client", "updated_at"])
    record_change(actor=actor, instance=asset, old=old)
    return asset
