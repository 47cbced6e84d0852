"""The scheduled jobs run by a real Celery worker (in-process, on the configured broker), as beat
would start them."""

import time
from datetime import timedelta

from celery.contrib.testing.worker import start_worker
from django.test import TransactionTestCase
from django.utils import timezone

from accounts.models import Account, AccountKind, JobRun, JobStatus
from billing_site.celery import app
from billing_site.schedule import BEAT_SCHEDULE
from metering.models import DeviceMonth, UsageReportMonth
from metering.months import Month, last_reportable_month
from metering.tasks import ROLLUP_JOB, rollup_device_usage
from quotas.models import PackageStatus, ServicePackage
from quotas.services.packages import package_create
from quotas.tasks import EXPIRY_JOB, REPORT_JOB, expire_service_packages, generate_usage_reports

from .factories import connection as connect
from .factories import ingest


def wait_for_runs(names: set[str], seconds: float = 30) -> dict[str, JobRun]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        runs = {r.name: r for r in JobRun.objects.filter(name__in=names, finished_at__isnull=False)}
        if set(runs) == names:
            return runs
        time.sleep(0.2)
    raise AssertionError(f"The worker did not finish {names} in {seconds} s.")


class ScheduledJobTests(TransactionTestCase):
    def test_beat_runs_each_job_daily_or_more_often(self) -> None:
        tasks = {entry["task"]: entry["schedule"] for entry in BEAT_SCHEDULE.values()}
        report = tasks["quotas.tasks.generate_usage_reports"]
        self.assertEqual((report.hour, report.minute), ({0}, {10}))
        self.assertEqual(tasks["quotas.tasks.expire_service_packages"].minute, {1})
        self.assertEqual(len(tasks["metering.tasks.rollup_device_usage"].minute), 30)

    def test_a_worker_runs_rollup_expiry_and_the_report_job(self) -> None:
        account = Account.objects.create(name="Solo", slug="solo", kind=AccountKind.CUSTOMER)
        Account.objects.filter(pk=account.pk).update(created_at=timezone.now() - timedelta(days=90))
        month = last_reportable_month(timezone.now().date())
        started = month.start - timedelta(days=370)
        package_create(actor=None, account=account, tokens=5, starts_at=started, now=started)
        ingest(
            [connect(account, "c1", "d1", month.start.strftime("%Y-%m-%d 12:00:00"))],
            rollup=False,
        )
        with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
            rollup_device_usage.delay()
            expire_service_packages.delay()
            generate_usage_reports.delay()
            runs = wait_for_runs({ROLLUP_JOB, EXPIRY_JOB, REPORT_JOB})
        self.assertEqual(
            {name: run.status for name, run in runs.items()}, dict.fromkeys(runs, JobStatus.OK)
        )
        self.assertEqual(runs[EXPIRY_JOB].counts, {"packages": 1, "campaigns": 0})
        self.assertEqual(ServicePackage.objects.get().status, PackageStatus.EXPIRED)
        self.assertEqual(DeviceMonth.objects.get().month, month.first_day)
        generated = {Month.from_first_day(m.month) for m in UsageReportMonth.objects.all()}
        self.assertIn(month, generated)
        self.assertEqual(runs[REPORT_JOB].counts, {"months": len(generated)})
