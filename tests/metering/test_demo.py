"""The metered-usage demo: every platform's files import cleanly and rate into rows for every
hosting tenant, mid-month, and a second run the same day adds nothing."""

import pytest
import time_machine
from django.db.models import Count, Sum

from accounts import demo as accounts_demo
from metering import demo as metering_demo
from metering.models import BillingRow, Platform, WaitingUsage
from metering.models.imports import UsageImport
from tests.moments import A_SATURDAY

HOSTING_TENANTS = {"adatum", "proseware", "relecloud", "woodgrove"}


@pytest.mark.django_db
def test_the_demo_bills_every_hosting_tenant_from_every_platform() -> None:
    # On the 1st (no current-month files) seed_demo runs it in tests/accounts/test_commands.py.
    moment = A_SATURDAY
    with time_machine.travel(moment, tick=False):
        accounts_demo.seed()
        metering_demo.seed(now=moment)
        imports = UsageImport.objects.values("platform").annotate(
            rejected=Sum("rejected"), accepted=Sum("accepted")
        )
        assert {i["platform"] for i in imports} == {
            Platform.AZURE_STACK,
            Platform.AZURE_LOCAL,
            Platform.PUBLIC_AZURE,
            Platform.CLOUDSTACK,
        }
        assert all(i["rejected"] == 0 and i["accepted"] > 0 for i in imports)
        assert not WaitingUsage.objects.exists()
        per_tenant = dict(BillingRow.objects.values_list("account__slug").annotate(n=Count("id")))
        assert set(per_tenant) == HOSTING_TENANTS
        first_day = moment.date().replace(day=1)
        latest = BillingRow.objects.order_by("-day").values_list("day", flat=True).first()
        assert first_day <= latest < moment.date()
        before = list(BillingRow.objects.order_by("id").values_list("id", "cost", "updated_at"))
        counts = UsageImport.objects.count()
        metering_demo.seed(now=moment)
        assert UsageImport.objects.count() == counts
        assert (
            list(BillingRow.objects.order_by("id").values_list("id", "cost", "updated_at"))
            == before
        )
