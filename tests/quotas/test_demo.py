"""seed_demo builds the device-billing world, fast, through the ingest service; running it
again changes nothing."""

from io import StringIO

from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone

from accounts.models import Account
from metering.models import DeviceMonth, UsageEvent, UsageReportMonth
from metering.months import Month, last_reportable_month
from quotas.models import LedgerEventType, QuotaLedgerEntry, UpdateCampaign
from quotas.selectors.packages import quota_summary


class SeedDemoTests(TestCase):
    def test_the_demo_world_and_a_second_run_changes_nothing(self) -> None:
        call_command("seed_demo", stdout=StringIO())
        globex = Account.objects.get(slug="globex")
        self.assertEqual(globex.children.count(), 4)
        summary = quota_summary(globex, now=timezone.now())
        self.assertEqual((summary.state, summary.warning), ("active", True))
        self.assertEqual(
            set(QuotaLedgerEntry.objects.values_list("event_type", flat=True)),
            set(LedgerEventType.values),
        )
        self.assertEqual(UpdateCampaign.objects.filter(status="running").count(), 1)
        self.assertGreater(UsageEvent.objects.filter(type="firmware_update").count(), 3000)
        devices = DeviceMonth.objects.values("account", "device_id").distinct().count()
        self.assertGreater(devices, 4000)
        self.assertGreater(UsageEvent.objects.filter(type="api_call").count(), 5000)
        self.assertIn(
            last_reportable_month(timezone.now().date()),
            {
                Month.from_first_day(m)
                for m in UsageReportMonth.objects.values_list("month", flat=True)
            },
        )

        counts = (
            UsageEvent.objects.count(),
            QuotaLedgerEntry.objects.count(),
            UsageReportMonth.objects.count(),
        )
        out = StringIO()
        call_command("seed_demo", stdout=out)
        self.assertIn("0 new usage events", out.getvalue())
        self.assertEqual(
            (
                UsageEvent.objects.count(),
                QuotaLedgerEntry.objects.count(),
                UsageReportMonth.objects.count(),
            ),
            counts,
        )
