"""The data the schema fuzz test runs against: accounts at every level, a license with an open
and a closed statement, a credit, a service package with a running campaign, a generated
usage report for April 2026, daily billing rows of April and May 2026 with their meters,
plans and subscriptions, two assets (one unassigned, one another tenant's) and an API key
of every role. The fuzzer sends the ids of these objects as well as random ones, so
requests reach past the 404s into the views' own code."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from accounts.models import Account, AccountKind, ApiKeyRole
from accounts.services import api_key_create
from licenses.models import LicenseType, MachineType
from quotas.models import ServicePackage, UpdateCampaign
from quotas.services.campaigns import campaign_start
from quotas.services.reports import usage_reports_run
from statements.services.close import statements_close
from statements.services.credits import credit_add
from statements.services.poll import statements_poll
from tests.factories import AccountFactory, AssetFactory, LicenseFactory
from tests.metering.billing_world import billing_world
from tests.quotas import factories as devices
from tests.statements.factories import at, catalog, ingest, session

IN_MAY = at("2026-05-20 12:00")
MONTHS = ["2026-04", "2026-05"]

# (name, key role, account the key belongs to): every role, and the platform-wide keys.
CALLERS = [
    ("admin", ApiKeyRole.ADMIN, None),
    ("finance", ApiKeyRole.FINANCE, "alpha"),
    ("ingest", ApiKeyRole.INGEST, "alpha"),
    ("read", ApiKeyRole.READ, "alpha"),
    ("platform-read", ApiKeyRole.READ, "platform"),
    ("service", ApiKeyRole.SERVICE, None),
]


@dataclass(frozen=True)
class FuzzWorld:
    keys: dict[str, str]
    # Known ids per path parameter or field name, sent beside the generated ones.
    ids: dict[str, list[str]]


def fuzz_world() -> FuzzWorld:
    platform = AccountFactory(name="Platform", slug="platform", kind=AccountKind.PLATFORM)
    alpha = AccountFactory(name="Alpha Devices", slug="alpha", parent=platform)
    tenant = AccountFactory(name="Alpha Tenant", slug="alpha-tenant", parent=alpha)
    outsider = AccountFactory(name="Outsider Co", slug="outsider", parent=platform)
    # Created before the months the fuzzer asks about, so they can have reports.
    Account.objects.update(created_at=at("2026-01-01"))
    accounts = {"platform": platform, "alpha": alpha}
    catalog({"c5.xlarge": "1.000000"}, {"standard": "0.500000"})
    license = LicenseFactory(account=alpha, name="Alpha Render", created_at=at("2026-04-03"))
    ingest(
        [
            session(license, "a", "2026-04-10 10:00", 7200),
            session(license, "b", "2026-05-02 08:00", 3600),
        ],
        now=IN_MAY,
    )
    statements_poll(now=IN_MAY)
    statements_close(through=date(2026, 4, 1), now=IN_MAY)
    credit_add(
        actor=None,
        license=license,
        amount=Decimal("50.00"),
        credited_at=at("2026-05-05 10:00"),
        invoice_number="INV-1",
        invoice_date=date(2026, 5, 1),
        now=IN_MAY,
    )
    devices.package(alpha, 100, "2026-01-10 00:00:00")
    devices.ingest(
        [
            devices.connection(tenant, "c1", "t-1", "2026-04-03 08:00:00"),
            devices.call(alpha, "k1", "integration", "/v3/devices", 4, "2026-04-03 00:00:00"),
        ]
    )
    usage_reports_run(now=at("2026-05-05 00:10"))
    campaign_start(actor=None, account=alpha, name="Spring rollout", devices=5)
    world = billing_world(alpha, tenant, outsider)
    price = world.cpu_eur
    subscription = world.tenant_subscription
    assets = [AssetFactory(account=alpha, client=None), AssetFactory(account=outsider)]
    keys = {
        name: api_key_create(
            actor=None, name=name, role=role, account=accounts.get(owner) if owner else None
        )[1]
        for name, role, owner in CALLERS
    }
    account_ids = [str(a.uuid) for a in (alpha, tenant, outsider)]
    return FuzzWorld(
        keys=keys,
        ids={
            "account_id": account_ids,
            "account": account_ids,
            "parent": account_ids,
            "license_id": [str(license.uuid)],
            "license": [str(license.uuid)],
            "license_type_id": [str(t.uuid) for t in LicenseType.objects.all()],
            "machine_type_id": [str(t.uuid) for t in MachineType.objects.all()],
            "package_id": [str(p.uuid) for p in ServicePackage.objects.all()],
            "campaign_id": [str(c.uuid) for c in UpdateCampaign.objects.all()],
            "plan_id": [str(price.plan.uuid)],
            "price_plan": [str(price.plan.uuid)],
            "subscription_id": [str(subscription.uuid)],
            "asset_id": [str(a.uuid) for a in assets],
            "client": account_ids,
            "month": MONTHS,
            "from": MONTHS,
            "to": MONTHS,
            # The billing rows' days, meters and subscriptions (tests.metering.billing_world).
            "start": ["2026-04-01", "2026-05-01"],
            "end": ["2026-05-03", "2026-05-31"],
            "meter": ["cpu_hours", "storage_gb"],
            "subscription": ["sub-alpha", "sub-tenant"],
        },
    )
