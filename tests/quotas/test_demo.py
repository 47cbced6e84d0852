"""The device-billing demo world as the README describes it, on any day: seed_demo at full size
on the 1st of a month (where nothing of the month has happened yet), and the rules that depend
on the seeding day, with smaller fleets, at each of the date edges in tests/moments.py. Running
it again the same day changes nothing."""

from dataclasses import replace
from datetime import datetime, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command

from accounts import demo as accounts_demo
from accounts.models import Account
from metering.models import DeviceMonth, UsageEvent, UsageReportMonth
from metering.months import Month, add_months, last_reportable_month
from quotas import demo as quotas_demo
from quotas.models import LedgerEventType, QuotaLedgerEntry, UpdateCampaign
from quotas.selectors.packages import quota_summary
from tests.moments import DATE_EDGES, FIRST_INSTANT_OF_A_MONTH

# A tenth of each Globex fleet: the date rules hold the same, and seeding takes a few seconds.
SMALL_FLEETS = tuple(replace(fleet, devices=fleet.devices // 10) for fleet in quotas_demo.FLEETS)
# Each fleet sends seven kinds of API call, one event of each a day.
API_EVENTS_A_DAY = 5 * 7
# Spent by the six finished campaigns (their share of the devices), and by the running one in
# the 3 days 15 hours since it started: the same on every seeding day.
FINISHED_UPDATES = 488 + 737 + 360 + 594 + 182 + 608
RUNNING_UPDATES = 133


def start_of(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def finished(started: datetime, updates: int, returned: int) -> tuple:
    """A campaign that ran nine days and released what it did not spend."""
    return ("finished", started, started + timedelta(days=9), updates, returned)


def months_of(first_days: object) -> set[Month]:
    return {Month.from_first_day(day) for day in first_days}


def counts() -> tuple[int, ...]:
    return (
        UsageEvent.objects.count(),
        QuotaLedgerEntry.objects.count(),
        UpdateCampaign.objects.count(),
        UsageReportMonth.objects.count(),
    )


@pytest.mark.django_db
def test_seed_demo_on_the_1st_builds_the_readme_world_and_a_second_run_changes_nothing(
    time_machine,
) -> None:
    # Given the clock at the first instant of December 2026
    time_machine.move_to(FIRST_INSTANT_OF_A_MONTH, tick=False)

    # When the demo is seeded
    call_command("seed_demo", stdout=StringIO())

    # Then Globex and its four tenants have their fleets of up to 4,490 devices, six full
    # months of API calls (Jun-Nov: 183 days) and every campaign's updates
    globex = Account.objects.get(slug="globex")
    assert globex.children.count() == 4
    devices = DeviceMonth.objects.values("account", "device_id").distinct().count()
    assert 4000 < devices <= 4490
    assert UsageEvent.objects.filter(type="api_call").count() == API_EVENTS_A_DAY * 183
    assert UsageEvent.objects.filter(type="firmware_update").count() == (
        FINISHED_UPDATES + RUNNING_UPDATES
    )
    assert set(QuotaLedgerEntry.objects.values_list("event_type", flat=True)) == set(
        LedgerEventType.values
    )
    # and November's reports are not due before 3 December: October's are the last
    assert UsageReportMonth.objects.order_by("month").last().month.isoformat() == "2026-10-01"

    # When it is seeded again the same day
    before = counts()
    out = StringIO()
    call_command("seed_demo", stdout=out)

    # Then nothing changes
    assert "  0 new usage events (0 firmware updates)" in out.getvalue()
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("moment", DATE_EDGES)
def test_the_device_demo_is_dated_from_the_seeding_day(time_machine, moment: datetime) -> None:
    # Given the clock at the moment and the demo accounts
    time_machine.move_to(moment, tick=False)
    day = start_of(moment)
    current = Month.of(day)
    accounts_demo.seed()

    # When the device-billing demo is seeded, with small fleets
    with mock.patch.object(quotas_demo, "FLEETS", SMALL_FLEETS):
        quotas_demo.seed(now=moment)

    # Then usage runs from the first of six months back to the start of the seeding day
    first_day = current.shift(-6).first_day
    assert UsageEvent.objects.filter(type="api_call").count() == API_EVENTS_A_DAY * (
        (day.date() - first_day).days
    )
    assert months_of(DeviceMonth.objects.values_list("month", flat=True)) == set(
        current.shift(-6).until(Month.of(day - timedelta(days=1)))
    )
    assert not DeviceMonth.objects.filter(last_seen_at__gte=day).exists()

    # and Globex's package, renewed nine months and ten days before, expires within three
    # months, holding the 10,000 tokens less what the campaigns spent and still reserve
    globex = Account.objects.get(slug="globex")
    renewed = add_months(day, -9) + timedelta(hours=10) - timedelta(days=10)
    summary = quota_summary(globex, now=moment)
    assert (summary.state, summary.warning, summary.expires_at) == (
        "active",
        True,
        add_months(renewed, 12),
    )
    assert (summary.remaining, summary.reserved) == (
        10_000 - FINISHED_UPDATES - 820,
        820 - RUNNING_UPDATES,
    )

    # and the campaigns are a month apart, the latest started four days before at 09:00 and
    # still running; Contoso's ended with its package, which expired two months before
    latest = day + timedelta(days=-4, hours=9)
    contoso_package = add_months(day, -14) + timedelta(hours=8)
    contoso_campaign = add_months(contoso_package, 11) + timedelta(days=20)
    campaigns = {
        c.name: (c.status, c.started_at, c.ended_at, c.updates, c.returned)
        for c in UpdateCampaign.objects.all()
    }
    assert campaigns == {
        "Metro bus gateways 3.1.0": finished(add_months(latest, -6), 488, 32),
        "Streetlight controller 2.4.2": finished(add_months(latest, -5), 737, 23),
        "Soil probe 1.9.0": finished(add_months(latest, -4), 360, 50),
        "Water meter security patch 5.0.1": finished(add_months(latest, -3), 594, 6),
        "Gateway base image 2026.2": finished(add_months(latest, -2), 182, 18),
        "Metro bus gateways 3.2.0": finished(add_months(latest, -1), 608, 32),
        "Streetlight controller 2.5.0": ("running", latest, None, None, None),
        "Render node BIOS 1.7": (
            "terminated",
            contoso_campaign,
            add_months(contoso_package, 12),
            0,
            120,
        ),
    }
    running = UpdateCampaign.objects.get(status="running")
    assert UsageEvent.objects.filter(campaign=running.uuid).count() == RUNNING_UPDATES

    # and every month whose third business day has come has its reports, from the month the
    # first package started
    assert months_of(UsageReportMonth.objects.values_list("month", flat=True)) == set(
        Month.of(add_months(day, -21)).until(last_reportable_month(day.date()))
    )

    # When it is seeded again the same day
    before = counts()
    with mock.patch.object(quotas_demo, "FLEETS", SMALL_FLEETS):
        quotas_demo.seed(now=moment)

    # Then nothing changes
    assert counts() == before
