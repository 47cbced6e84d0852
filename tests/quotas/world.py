"""A small world shared by the report, page and API tests: the aggregator Alpha with a
service package and two tenants, an outsider without one, and a month (April 2026) of usage
with edges on both sides."""

from accounts.models import Account, Role
from quotas.services.campaigns import campaign_finish
from tests.base import BillingTestCase
from tests.factories import AccountFactory, MembershipFactory, UserFactory

from .factories import at, call, campaign, ingest, package, update
from .factories import connection as connect

APRIL = "2026-04"


class UsageReportWorld(BillingTestCase):
    """Alpha (an aggregator with a package) with two tenants, an outsider without a package,
    and a month of usage with edges on both sides."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.sibling = AccountFactory(
            name="Beta Tenant", slug="beta-tenant", parent=cls.account, organization="=Beta Org"
        )
        Account.objects.update(created_at=at("2026-01-01 00:00:00"))
        package(cls.account, 100, "2026-01-10 00:00:00")
        cls.campaign = campaign(cls.tenant, "April rollout", 10, "2026-04-05 00:00:00")
        ingest(
            [
                connect(cls.account, "c1", "a-1", "2026-04-01 00:00:00"),
                connect(cls.account, "c2", "a-1", "2026-04-20 00:00:00"),
                connect(cls.account, "c3", "a-2", "2026-04-30 23:59:59"),
                connect(cls.account, "c4", "a-3", "2026-05-01 00:00:00"),
                connect(cls.account, "c5", "a-4", "2026-03-31 23:59:59"),
                connect(cls.tenant, "c1", "t-1", "2026-04-03 08:00:00", "ep-t1-first"),
                connect(cls.tenant, "c2", "t-1", "2026-04-04 08:00:00", "ep-t1-second"),
                connect(cls.sibling, "c1", "=cmd", "2026-04-09 00:00:00", "@ep"),
                connect(cls.outsider_account, "c1", "o-1", "2026-04-09 00:00:00"),
                update(cls.tenant, "u1", "t-1", cls.campaign, "2026-04-06 10:00:00"),
                update(cls.tenant, "u2", "t-2", cls.campaign, "2026-04-07 11:00:00"),
                call(
                    cls.account, "k1", "device_to_service", "notification", 5, "2026-04-02 00:00:00"
                ),
                call(
                    cls.account,
                    "k2",
                    "device_to_service",
                    "device_message_in",
                    3,
                    "2026-04-03 00:00:00",
                ),
                call(
                    cls.account,
                    "k3",
                    "service_to_device",
                    "device_message_out",
                    2,
                    "2026-04-03 00:00:00",
                ),
                call(cls.tenant, "k1", "integration", "/v3/devices", 4, "2026-04-03 00:00:00"),
                call(cls.tenant, "k2", "integration", "/v3/devices", 6, "2026-05-03 00:00:00"),
            ]
        )
        campaign_finish(actor=None, campaign=cls.campaign, now=at("2026-04-10 00:00:00"))
        # The sibling's campaign never updated anything: all 5 tokens come back.
        cls.sibling_campaign = campaign(cls.sibling, "Beta trial", 5, "2026-04-20 00:00:00")
        campaign_finish(actor=None, campaign=cls.sibling_campaign, now=at("2026-04-21 00:00:00"))
        # People of the tenants: each sees only its own account.
        cls.tenant_user = UserFactory(username="tenant-owner")
        MembershipFactory(user=cls.tenant_user, account=cls.tenant, role=Role.OWNER)
        cls.sibling_user = UserFactory(username="sibling-owner")
        MembershipFactory(user=cls.sibling_user, account=cls.sibling, role=Role.OWNER)
