"""A small world of daily billing rows for the billing API and the Billing page: the
aggregator `account` (Alpha Devices) with its tenant, the outsider, two meters, a EUR and a USD
plan, three subscriptions, an adjustment row and an asset id that reads like a formula.

May 2026, Alpha's tree: EUR 5.00 + 10.00 + 2.00 + 2.00 + 1.00 = 20.00 and USD 3.00;
April 2026: EUR 8.00. The outsider has EUR 4.00 in May."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from accounts.models import Account
from metering.models import BillingRow, Meter, MeterPrice, Subscription
from tests.factories import (
    AssetFactory,
    BillingRowFactory,
    MeterFactory,
    MeterPriceFactory,
    PricePlanFactory,
    SubscriptionFactory,
)

FORMULA_ASSET = '=HYPERLINK("http://evil.example","x")'
PRICED_FROM = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class BillingWorld:
    cpu: Meter
    storage: Meter
    cpu_eur: MeterPrice
    storage_eur: MeterPrice
    cpu_usd: MeterPrice
    production: Subscription  # Alpha's, Azure Stack, west
    tenant_subscription: Subscription  # the tenant's, CloudStack, east
    outsider_subscription: Subscription
    first_day: BillingRow  # Alpha, 2026-05-01, 10 vCPU-hours, EUR 5.00
    tenant_day: BillingRow  # the tenant, 2026-05-02, EUR 2.00
    formula_row: BillingRow  # the tenant, 2026-05-03, USD 3.00, no subscription
    adjustment: BillingRow  # Alpha, dated 2026-05-03 for 2026-04-30, EUR 1.00
    outsider_day: BillingRow


def row(account: Account, price: MeterPrice, asset: object, day: str, quantity: str, **extra):
    return BillingRowFactory(
        account=account,
        sender=extra.pop("sender", account),
        asset=asset,
        price=price,
        day=date.fromisoformat(day),
        quantity=Decimal(quantity),
        **extra,
    )


def billing_world(account: Account, tenant: Account, outsider: Account) -> BillingWorld:
    cpu = MeterFactory(code="cpu_hours", name="CPU hours", unit="vCPU-hour")
    storage = MeterFactory(code="storage_gb", name="Storage", unit="GB", aggregation="average")
    eur = PricePlanFactory(name="Hosting EUR", currency="EUR", markup_percent=Decimal("5"))
    usd = PricePlanFactory(name="Hosting USD", currency="USD")
    cpu_eur = MeterPriceFactory(
        plan=eur, meter=cpu, unit_price=Decimal("0.5"), effective_from=PRICED_FROM
    )
    storage_eur = MeterPriceFactory(
        plan=eur, meter=storage, unit_price=Decimal("0.02"), effective_from=PRICED_FROM
    )
    cpu_usd = MeterPriceFactory(
        plan=usd, meter=cpu, unit_price=Decimal("0.6"), effective_from=PRICED_FROM
    )
    production = SubscriptionFactory(
        external_id="sub-alpha", name="Alpha production", account=account, region="west"
    )
    tenant_subscription = SubscriptionFactory(
        external_id="sub-tenant",
        name="Tenant hosting",
        account=tenant,
        region="east",
        platform="cloudstack",
    )
    outsider_subscription = SubscriptionFactory(
        external_id="sub-outsider", name="Outsider hosting", account=outsider, region="west"
    )
    vm = AssetFactory(account=account, asset_id="vm-a1", description="Web server", source="vm")
    disk = AssetFactory(account=account, asset_id="disk-a1", source="disk")
    tenant_vm = AssetFactory(account=account, asset_id="vm-t1", client=tenant)
    formula = AssetFactory(account=account, asset_id=FORMULA_ASSET, client=tenant)
    outsider_vm = AssetFactory(account=outsider, asset_id="vm-o1")
    first_day = row(
        account,
        cpu_eur,
        vm,
        "2026-05-01",
        "10",
        subscription=production,
        service="compute",
        source="vm",
        events=2,
    )
    row(account, cpu_eur, vm, "2026-05-02", "20", subscription=production, service="compute")
    row(account, storage_eur, disk, "2026-05-02", "100", subscription=production, service="storage")
    tenant_day = row(
        tenant,
        cpu_eur,
        tenant_vm,
        "2026-05-02",
        "4",
        sender=account,
        subscription=tenant_subscription,
        region="east",
        service="compute",
    )
    formula_row = row(tenant, cpu_usd, formula, "2026-05-03", "5", sender=account, region="")
    adjustment = row(
        account,
        cpu_eur,
        vm,
        "2026-05-03",
        "2",
        subscription=production,
        service="compute",
        adjustment_for=date(2026, 4, 30),
    )
    row(account, cpu_eur, vm, "2026-04-15", "16", subscription=production, service="compute")
    outsider_day = row(
        outsider, cpu_eur, outsider_vm, "2026-05-01", "8", subscription=outsider_subscription
    )
    return BillingWorld(
        cpu=cpu,
        storage=storage,
        cpu_eur=cpu_eur,
        storage_eur=storage_eur,
        cpu_usd=cpu_usd,
        production=production,
        tenant_subscription=tenant_subscription,
        outsider_subscription=outsider_subscription,
        first_day=first_day,
        tenant_day=tenant_day,
        formula_row=formula_row,
        adjustment=adjustment,
        outsider_day=outsider_day,
    )
