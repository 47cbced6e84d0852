"""The demo world: six months of usage, credits, closed past months, an open current one with
late-usage adjustments, a session waiting for a price; seeding twice changes nothing; the feed
adds fresh sessions that the next poll prices onto the open statements."""

from io import StringIO

from django.core.management import call_command
from django.test import TestCase, override_settings
from django.utils import timezone

from accounts.models import JobRun
from metering.models import Charge, UnratedEvent, UsageEvent
from metering.months import Month
from statements import tasks
from statements.models import Credit, Statement
from statements.services.poll import statements_poll


class DemoTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        call_command("seed_demo", stdout=StringIO())

    def test_the_demo_world(self) -> None:
        current = Month.of(timezone.now()).first_day
        statements = Statement.objects.all()
        self.assertEqual(statements.values("license").distinct().count(), 6)
        self.assertEqual(statements.filter(period__lt=current, status="open").count(), 0)
        self.assertEqual(statements.filter(period=current, status="open").count(), 6)
        self.assertEqual(statements.filter(status="closed").count(), 36)
        self.assertEqual(Credit.objects.filter(invoice_number__startswith="INV-").count(), 42)
        adjustments = Charge.objects.filter(billed_period=current).exclude(period=current)
        self.assertEqual(adjustments.count(), 3)
        self.assertEqual(UnratedEvent.objects.count(), 1)
        self.assertGreater(UsageEvent.objects.count(), 10_000)
        regions = set(Charge.objects.values_list("region", flat=True).distinct())
        self.assertEqual(regions, {"us-east", "eu-west", "ap-south"})
        self.assertTrue(statements.filter(ending_balance__lt=0).exists())

    def test_seeding_twice_changes_nothing(self) -> None:
        before = (UsageEvent.objects.count(), Credit.objects.count(), Statement.objects.count())
        call_command("seed_demo", stdout=StringIO())
        after = (UsageEvent.objects.count(), Credit.objects.count(), Statement.objects.count())
        self.assertEqual(after, before)

    def test_the_feed_moves_the_open_statements_only_when_turned_on(self) -> None:
        events = UsageEvent.objects.count()
        with override_settings(DEMO_FEED=False):
            tasks.demo_feed()
        self.assertEqual(UsageEvent.objects.count(), events)
        current = Statement.objects.filter(period=Month.of(timezone.now()).first_day)
        lines_before = sum(current.values_list("line_count", flat=True))
        with override_settings(DEMO_FEED=True):
            tasks.demo_feed()
        added = UsageEvent.objects.count() - events
        self.assertGreaterEqual(added, 3)
        self.assertEqual(JobRun.objects.get(name="demo_feed").counts, {"sessions": added})
        statements_poll()
        # Each session is one line on an open statement (two if it began last month).
        self.assertGreaterEqual(
            sum(current.values_list("line_count", flat=True)), lines_before + added
        )
