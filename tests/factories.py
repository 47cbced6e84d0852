"""factory-boy factories shared by every app's tests."""

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
