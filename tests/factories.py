"""factory-boy factories shared by every app's tests."""

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import factory
from django.contrib.auth import get_user_model

from accounts.models import Account, AccountKind, Membership, Role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("test-password")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    slug = factory.Sequence(lambda n: f"account-{n}")
    kind = AccountKind.CUSTOMER
    currency = "USD"
    organization = factory.LazyAttribute(lambda a: f"{a.name} Org")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AccountFactory)
    role = Role.MEMBER


class LicenseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "licenses.License"

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"License {n}")


class MeterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "metering.Meter"
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"meter_{n}")
    name = factory.LazyAttribute(lambda m: m.code.replace("_", " ").title())
    unit = "unit"
    aggregation = "sum"


class PricePlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "metering.PricePlan"

    name = factory.Sequence(lambda n: f"Plan {n}")
    currency = "EUR"


class MeterPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "metering.MeterPrice"

    plan = factory.SubFactory(PricePlanFactory)
    meter = factory.SubFactory(MeterFactory)
    region = ""
    unit_price = Decimal("0.010000")
    effective_from = datetime(2000, 1, 1, tzinfo=UTC)


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "metering.Subscription"

    external_id = factory.Sequence(lambda n: f"sub-{n:04d}")
    name = factory.Sequence(lambda n: f"Subscription {n}")
    account = factory.SubFactory(AccountFactory)
    region = "west"
    platform = "azure_stack"


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "metering.Asset"

    account = factory.SubFactory(AccountFactory)
    asset_id = factory.Sequence(lambda n: f"vm-{n:04d}")
    client = factory.SelfAttribute("account")
    first_seen_at = datetime(2026, 1, 1, tzinfo=UTC)
    last_seen_at = datetime(2026, 1, 1, tzinfo=UTC)


class BillingRowFactory(factory.django.DjangoModelFactory):
    """A priced row as the rating would store it: cost = quantity x unit price, in cents."""

    class Meta:
        model = "metering.BillingRow"

    account = factory.SubFactory(AccountFactory)
    sender = factory.SelfAttribute("account")
    subscription = None
    asset = factory.SubFactory(
        AssetFactory,
        account=factory.SelfAttribute("..sender"),
        client=factory.SelfAttribute("..account"),
    )
    price = factory.SubFactory(MeterPriceFactory)
    meter = factory.SelfAttribute("price.meter")
    plan = factory.SelfAttribute("price.plan")
    region = "west"
    day = date(2026, 5, 1)
    quantity = Decimal("10")
    unit_price = factory.SelfAttribute("price.unit_price")
    currency = factory.SelfAttribute("plan.currency")
    cost = factory.LazyAttribute(
        lambda r: (r.quantity * r.unit_price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    )
    events = 1
