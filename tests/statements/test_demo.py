"""The license-statement demo world as the README describes it, at each of the date edges in
tests/moments.py: six months of usage and the current month up to the seeding moment, a credit
early each month, closed past months, an open current one with late-usage adjustments, a
session waiting for a price; seeding again changes nothing; the feed adds fresh sessions that
the next poll prices onto the open statements."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from accounts import demo as accounts_demo
from accounts.models import JobRun
from licenses import demo as licenses_demo
from licenses.models import MachineRate
from metering.models import Charge, UnratedEvent, UsageEvent
from metering.months import Month
from statements import demo as statements_demo
from statements import tasks
from statements.models import Credit, Statement
from statements.services.poll import statements_poll
from tests.moments import DATE_EDGES

LICENSES = 6


def seed(moment: datetime) -> None:
    """The parts of seed_demo the statements stand on."""
    accounts_demo.seed()
    licenses_demo.seed(now=moment)
    statements_demo.seed(now=moment)


def counts() -> tuple[int, ...]:
    return (UsageEvent.objects.count(), Credit.objects.count(), Statement.objects.count())


@pytest.mark.django_db
@pytest.mark.parametrize("moment", DATE_EDGES)
def test_the_statements_demo_is_dated_from_the_seeding_moment(
    time_machine, moment: datetime
) -> None:
    # Given the clock at the moment
    time_machine.move_to(moment, tick=False)
    current = Month.of(moment)
    past = [month.first_day for month in current.shift(-6).until(current.shift(-1))]
    last_month = past[-1]

    # When the statements demo is seeded
    seed(moment)

    # Then each license has a closed statement for each of the six months before the current
    # one, and an open one for the current month
    assert Counter(Statement.objects.values_list("period", "status")) == {
        **{(period, "closed"): LICENSES for period in past},
        (current.first_day, "open"): LICENSES,
    }
    # and a credit with an invoice number early in each of those months (days 2 to 5), the
    # current month's at the seeding moment when that comes first
    credited = list(
        Credit.objects.filter(invoice_number__startswith="INV-").values_list(
            "credited_at", flat=True
        )
    )
    assert Counter(Month.of(at).first_day for at in credited) == dict.fromkeys(
        [*past, current.first_day], LICENSES
    )
    assert all(2 <= at.day <= 5 or at == moment for at in credited)
    assert max(credited) <= moment
    # and the usage runs up to the seeding moment
    sessions = UsageEvent.objects.filter(type="machine_session")
    spans = sessions.values_list("occurred_at", "duration_seconds")
    assert max(start + timedelta(seconds=seconds) for start, seconds in spans) <= moment
    assert sessions.count() > 10_000
    # and three sessions of last month arrived late: adjustments on the open statements
    adjustments = Charge.objects.filter(billed_period=current.first_day).exclude(
        period=current.first_day
    )
    assert list(adjustments.values_list("period", flat=True)) == [last_month] * 3
    # and one session waits for a price
    assert UnratedEvent.objects.count() == 1
    # and the c5.xlarge default rate rose on the 15th of the month three months back
    rise = MachineRate.objects.get(machine_type__name="c5.xlarge", hourly_rate=Decimal("0.18"))
    three_back = past[-3]
    assert rise.effective_from == datetime(three_back.year, three_back.month, 15, tzinfo=UTC)
    # and the usage spreads over three regions, and some balances are below zero
    regions = set(Charge.objects.values_list("region", flat=True).distinct())
    assert regions == {"us-east", "eu-west", "ap-south"}
    assert Statement.objects.filter(ending_balance__lt=0).exists()

    # When it is seeded again the same moment
    before = counts()
    seed(moment)

    # Then nothing changes
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("moment", DATE_EDGES)
def test_the_feed_moves_the_open_statements_only_when_turned_on(
    time_machine, moment: datetime
) -> None:
    # Given the statements demo seeded at the moment
    time_machine.move_to(moment, tick=False)
    seed(moment)
    current = Month.of(moment).first_day
    open_statements = Statement.objects.filter(period=current)
    events = UsageEvent.objects.count()
    lines_before = sum(open_statements.values_list("line_count", flat=True))

    # When the feed runs while DEMO_FEED is off
    with override_settings(DEMO_FEED=False):
        tasks.demo_feed()

    # Then it adds nothing
    assert UsageEvent.objects.count() == events

    # When it runs while DEMO_FEED is on, and the poll follows
    with override_settings(DEMO_FEED=True):
        tasks.demo_feed()
    statements_poll()

    # Then one to three sessions that just ended on each of three licenses are one line each
    # on the open statements; seeded at midnight on the 1st, they ran in the closed last
    # month, so they are its adjustments
    fed = UsageEvent.objects.filter(event_id__startswith="feed-")
    added = fed.count()
    assert 3 <= added <= 9
    assert JobRun.objects.get(name="demo_feed").counts == {"sessions": added}
    lines = Charge.objects.filter(usage_event__in=fed)
    ran_in = Month.of(moment - timedelta(microseconds=1)).first_day
    assert Counter(lines.values_list("billed_period", "period")) == {(current, ran_in): added}
    assert sum(open_statements.values_list("line_count", flat=True)) == lines_before + added
