"""Demo world for the accounts app: a platform, a distributor with two partners and their
customers, an aggregator with tenants, and a user per role. Other apps add to it in their own
`demo.py`; the `seed_demo` command runs them in app order. Running it twice changes nothing."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import Account, AccountKind, BusinessModel, Membership, Role
from .services import account_create, membership_add

DEMO_PASSWORD = "billing-demo"  # noqa: S105 - printed on purpose for the local demo


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    account_slug: str
    note: str


# (slug, name, kind, parent slug, organization, business model)
ACCOUNTS: list[tuple[str, str, str, str | None, str, str]] = [
    (
        "acme-platform",
        "Acme Cloud Platform",
        AccountKind.PLATFORM,
        None,
        "Acme",
        BusinessModel.ACTIVE_DEVICES,
    ),
    (
        "northwind",
        "Northwind Distribution",
        AccountKind.DISTRIBUTOR,
        "acme-platform",
        "Northwind",
        BusinessModel.ACTIVE_DEVICES,
    ),
    (
        "blue-harbor",
        "Blue Harbor Partners",
        AccountKind.PARTNER,
        "northwind",
        "Blue Harbor",
        BusinessModel.ACTIVE_DEVICES,
    ),
    (
        "red-rock",
        "Red Rock Partners",
        AccountKind.PARTNER,
        "northwind",
        "Red Rock",
        BusinessModel.ACTIVE_DEVICES,
    ),
    (
        "contoso",
        "Contoso Rendering",
        AccountKind.CUSTOMER,
        "blue-harbor",
        "Contoso",
        BusinessModel.ACTIVE_DEVICES,
    ),
    (
        "fabrikam",
        "Fabrikam Studios",
        AccountKind.CUSTOMER,
        "blue-harbor",
        "Fabrikam",
        BusinessModel.ACTIVE_DEVICES,
    ),
    (
        "tailspin",
        "Tailspin Analytics",
        AccountKind.CUSTOMER,
        "red-rock",
        "Tailspin",
        BusinessModel.ACTIVE_DEVICES,
    ),
    (
        "wingtip",
        "Wingtip Labs",
        AccountKind.CUSTOMER,
        "red-rock",
        "Wingtip",
        BusinessModel.ACTIVE_DEVICES,
    ),
    (
        "globex",
        "Globex Devices",
        AccountKind.CUSTOMER,
        "acme-platform",
        "Globex IoT",
        BusinessModel.API_CALLS,
    ),
    (
        "globex-metro",
        "Metro Transit",
        AccountKind.CUSTOMER,
        "globex",
        "Metro Transit Authority",
        BusinessModel.API_CALLS,
    ),
    (
        "globex-harvest",
        "Harvest Farms",
        AccountKind.CUSTOMER,
        "globex",
        "Harvest Agritech",
        BusinessModel.ACTIVE_DEVICES,
    ),
    (
        "globex-lumen",
        "Lumen Lighting",
        AccountKind.CUSTOMER,
        "globex",
        "Lumen Smart Lighting",
        BusinessModel.ACTIVE_DEVICES,
    ),
    (
        "globex-aqua",
        "Aqua Utilities",
        AccountKind.CUSTOMER,
        "globex",
        "Aqua Water Utility",
        BusinessModel.API_CALLS,
    ),
    # Hosting tenants of the partners: metered cloud usage billed in EUR (metering demo).
    (
        "proseware",
        "Proseware Web",
        AccountKind.CUSTOMER,
        "blue-harbor",
        "Proseware",
        BusinessModel.ACTIVE_DEVICES,
    ),
    (
        "adatum",
        "Adatum Retail",
        AccountKind.CUSTOMER,
        "blue-harbor",
        "Adatum",
        BusinessModel.ACTIVE_DEVICES,
    ),
    (
        "woodgrove",
        "Woodgrove Apps",
        AccountKind.CUSTOMER,
        "red-rock",
        "Woodgrove",
        BusinessModel.ACTIVE_DEVICES,
    ),
    (
        "relecloud",
        "Relecloud Games",
        AccountKind.CUSTOMER,
        "red-rock",
        "Relecloud",
        BusinessModel.ACTIVE_DEVICES,
    ),
]

USERS: list[tuple[str, str | None, str, str]] = [
    # username, account slug (None = platform staff), role, note
    ("staff", None, "staff", "platform staff: sees every account, admin site, health"),
    ("dana", "northwind", Role.ADMIN, "distributor admin: sees both partners and their customers"),
    ("olivia", "globex", Role.OWNER, "aggregator owner: sees Globex and its tenants"),
    ("adam", "globex", Role.ADMIN, "aggregator admin"),
    ("fiona", "globex", Role.FINANCE, "aggregator finance"),
    ("mike", "globex", Role.MEMBER, "aggregator member (read-only)"),
    ("tom", "globex-metro", Role.OWNER, "tenant owner: sees only Metro Transit"),
    ("carla", "contoso", Role.OWNER, "customer owner: sees only Contoso Rendering"),
    ("hana", "proseware", Role.OWNER, "hosting tenant owner: Proseware Web's cloud usage"),
]


@transaction.atomic
def seed(stdout: object = None) -> list[DemoLogin]:
    for slug, name, kind, parent_slug, organization, model in ACCOUNTS:
        if Account.objects.filter(slug=slug).exists():
            continue
        parent = Account.objects.get(slug=parent_slug) if parent_slug else None
        account_create(
            actor=None,
            name=name,
            slug=slug,
            kind=kind,
            parent=parent,
            organization=organization,
            business_model=model,
            attributes={
                "demo": True,
                "region": "eu-west" if parent_slug == "globex" else "us-east",
            },
        )

    user_model = get_user_model()
    logins = []
    for username, slug, role, note in USERS:
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model(username=username, email=f"{username}@example.com")
            user.is_staff = user.is_superuser = slug is None
            user.set_password(DEMO_PASSWORD)
            user.save()
        if (
            slug is not None
            and not Membership.objects.filter(user=user, account__slug=slug).exists()
        ):
            membership_add(
                actor=None,
                account=Account.objects.get(slug=slug),
                username=username,
                email=user.email,
                role=role,
            )
        logins.append(DemoLogin(username, role, slug or "(all)", note))
    return logins
