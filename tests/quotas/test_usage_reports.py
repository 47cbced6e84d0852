"""Monthly usage reports: one scan per month, exact figures per account and per tree, gzipped
CSV files, snapshots that never change, and the third-business-day job that catches up."""

import gzip
from datetime import date
from io import StringIO

import time_machine
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from accounts.models import JobRun, JobStatus
from metering.exports import ACTIVE_DEVICES, FIRMWARE_UPDATES, report_download
from metering.models import UsageReport, UsageReportMonth
from metering.months import Month
from metering.selectors import Usage, reports_in_tree, total_usage
from quotas.services.reports import months_due, usage_reports_run
from quotas.tasks import REPORT_JOB
from tests.moments import LAST_SECOND_OF_A_MONTH

from .factories import at, ingest
from .factories import connection as connect
from .world import UsageReportWorld

APRIL = Month(2026, 4)


def unzip(report: UsageReport, kind: str) -> str:
    """The account's download, unzipped (the gzip members of its slice joined)."""
    report = UsageReport.objects.select_related("report_month").get(pk=report.pk)
    chunks, length = report_download(report, kind)
    data = b"".join(chunks)
    assert len(data) == length
    return gzip.decompress(data).decode()


class GenerationTests(UsageReportWorld):
    def generate(self) -> None:
        result = usage_reports_run(now=at("2026-05-05 00:10:00"))
        self.assertIn(APRIL, result.generated)

    def test_each_account_reports_its_own_usage(self) -> None:
        self.generate()
        reports = {
            r.account.slug: (r.active_devices, r.firmware_updates, r.api_calls_total, r.had_package)
            for r in UsageReport.objects.filter(month=APRIL.first_day).select_related("account")
        }
        self.assertEqual(
            reports,
            {
                "platform": (0, 0, 0, False),
                "alpha": (2, 0, 10, True),
                "alpha-tenant": (1, 2, 4, True),
                "beta-tenant": (1, 0, 0, True),
                "outsider": (1, 0, 0, False),
            },
        )
        alpha = UsageReport.objects.get(month=APRIL.first_day, account=self.account)
        self.assertEqual(
            alpha.api_calls,
            {
                "device_to_service": {
                    "total": 8,
                    "events": {"device_message_in": 3, "notification": 5},
                },
                "service_to_device": {"total": 2, "events": {"device_message_out": 2}},
                "integration": {"total": 0, "events": {}},
            },
        )
        total = total_usage(reports_in_tree(alpha))
        self.assertEqual((total.active_devices, total.firmware_updates), (4, 2))
        self.assertEqual(total.api_calls_total, 14)
        header = UsageReportMonth.objects.get(month=APRIL.first_day)
        self.assertEqual(
            (header.accounts, header.active_devices, header.firmware_updates, header.api_calls),
            (5, 5, 2, 14),
        )

    def test_the_month_file_holds_everyone_and_each_slice_its_tree(self) -> None:
        self.generate()
        month = UsageReportMonth.objects.get(month=APRIL.first_day)
        with default_storage.open(month.active_devices_file) as stream:
            whole = gzip.decompress(stream.read()).decode().splitlines()
        platform = UsageReport.objects.get(month=APRIL.first_day, account=self.platform)
        self.assertEqual(unzip(platform, ACTIVE_DEVICES).splitlines(), whole)
        # Tree order: the platform, Alpha, Alpha's tenants by name, then the outsider.
        accounts = [line.split(",")[0] for line in whole[1:]]
        a, t, s, o = (
            str(x.uuid) for x in [self.account, self.tenant, self.sibling, self.outsider_account]
        )
        self.assertEqual(accounts, [a, a, t, s, o])

    def test_gzipped_csv_files_cover_the_account_and_its_tenants(self) -> None:
        self.generate()
        alpha = UsageReport.objects.get(month=APRIL.first_day, account=self.account)
        tenant = UsageReport.objects.get(month=APRIL.first_day, account=self.tenant)
        a, t, s = self.account.uuid, self.tenant.uuid, self.sibling.uuid
        self.assertEqual(
            unzip(alpha, ACTIVE_DEVICES),
            "account_id,timestamp,device_id,endpoint_name\r\n"
            f"{a},2026-04-01T00:00:00Z,a-1,ep-a-1\r\n"
            f"{a},2026-04-30T23:59:59Z,a-2,ep-a-2\r\n"
            f"{t},2026-04-03T08:00:00Z,t-1,ep-t1-first\r\n"
            # Formulas are neutralised.
            f"{s},2026-04-09T00:00:00Z,'=cmd,'@ep\r\n",
        )
        self.assertEqual(
            unzip(alpha, FIRMWARE_UPDATES),
            "account_id,timestamp,campaign_name,device_id,endpoint_name\r\n"
            f"{t},2026-04-06T10:00:00Z,April rollout,t-1,ep-t-1\r\n"
            f"{t},2026-04-07T11:00:00Z,April rollout,t-2,ep-t-2\r\n",
        )
        self.assertEqual(
            unzip(tenant, ACTIVE_DEVICES),
            "account_id,timestamp,device_id,endpoint_name\r\n"
            f"{t},2026-04-03T08:00:00Z,t-1,ep-t1-first\r\n",
        )
        outsider = UsageReport.objects.get(month=APRIL.first_day, account=self.outsider_account)
        self.assertEqual(
            unzip(outsider, FIRMWARE_UPDATES),
            "account_id,timestamp,campaign_name,device_id,endpoint_name\r\n",
        )

    def test_timestamps_are_utc_with_microseconds_only_when_there_are_some(self) -> None:
        ingest(
            [
                connect(self.outsider_account, "c2", "o-2", "2026-04-30 23:59:59.5"),
                connect(self.outsider_account, "c3", "o-3", "2026-04-02 00:00:00.000001"),
            ]
        )
        self.generate()
        outsider = UsageReport.objects.get(month=APRIL.first_day, account=self.outsider_account)
        o = self.outsider_account.uuid
        self.assertEqual(
            unzip(outsider, ACTIVE_DEVICES).splitlines()[1:],
            [
                f"{o},2026-04-09T00:00:00Z,o-1,ep-o-1",
                f"{o},2026-04-30T23:59:59.500000Z,o-2,ep-o-2",
                f"{o},2026-04-02T00:00:00.000001Z,o-3,ep-o-3",
            ],
        )

    def test_a_generated_report_never_changes(self) -> None:
        self.generate()
        before = list(UsageReport.objects.values())
        alpha = UsageReport.objects.get(month=APRIL.first_day, account=self.account)
        files = unzip(alpha, ACTIVE_DEVICES)
        # More April usage arrives late and the job runs again: the snapshot stays.
        ingest([connect(self.account, "late", "a-9", "2026-04-15 00:00:00")])
        usage_reports_run(now=at("2026-05-06 00:10:00"))
        self.assertEqual(list(UsageReport.objects.values()), before)
        self.assertEqual(unzip(alpha, ACTIVE_DEVICES), files)
        for statement in [
            "UPDATE metering_usagereport SET active_devices = 0",
            "DELETE FROM metering_usagereportmonth",
        ]:
            with (
                self.subTest(statement=statement),
                self.assertRaises(DatabaseError),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(statement)

    def test_usage_from_the_report_equals_the_live_rollup(self) -> None:
        from metering.selectors import live_usage

        self.generate()
        for account in [self.account, self.tenant, self.sibling, self.outsider_account]:
            report = UsageReport.objects.get(month=APRIL.first_day, account=account)
            with self.subTest(account=account.slug):
                self.assertEqual(
                    Usage.from_report(report), live_usage([account.pk], APRIL)[account.pk]
                )


class JobTests(UsageReportWorld):
    def test_nothing_is_due_before_the_third_business_day(self) -> None:
        # 1 May 2026 is a Friday: Mon 4th is the 2nd business day, Tue 5th the 3rd.
        self.assertEqual(
            months_due(date(2026, 5, 4)), [Month(2026, 1), Month(2026, 2), Month(2026, 3)]
        )
        self.assertEqual(months_due(date(2026, 5, 5))[-1], APRIL)

    def test_the_job_catches_up_on_missed_months_and_a_second_run_changes_nothing(self) -> None:
        first = usage_reports_run(now=at("2026-07-03 00:10:00"))
        self.assertEqual(first.generated, [Month(2026, m) for m in range(1, 7)])
        self.assertEqual(months_due(date(2026, 7, 3)), [])
        count = UsageReport.objects.count()
        second = usage_reports_run(now=at("2026-07-04 00:10:00"))
        self.assertEqual((second.generated, second.already), ([], []))
        self.assertEqual(UsageReport.objects.count(), count)

    def test_a_gap_is_filled(self) -> None:
        call_command("generate_usage_reports", "--period", "2026-04", stdout=StringIO())
        self.assertEqual(months_due(date(2026, 6, 3)), [Month(2026, 5)])
        self.assertEqual(months_due(date(2026, 5, 5)), [])

    # The command reads the clock to refuse the current month: November 2026 on the still
    # clock, whatever day the suite runs.
    @time_machine.travel(LAST_SECOND_OF_A_MONTH, tick=False)
    def test_command_for_one_month_and_its_refusals(self) -> None:
        out = StringIO()
        call_command("generate_usage_reports", "--period", "2026-04", stdout=out)
        call_command("generate_usage_reports", "--period", "2026-04", stdout=out)
        self.assertEqual(
            out.getvalue(),
            "Generated the usage reports for 2026-04.\n"
            "The usage reports for 2026-04 already exist; nothing changed.\n",
        )
        with self.assertRaisesMessage(CommandError, "2026-11 is not over yet"):
            call_command("generate_usage_reports", "--period", "2026-11")
        with self.assertRaisesMessage(CommandError, "Must be a month written YYYY-MM"):
            call_command("generate_usage_reports", "--period", "April")
        self.assertEqual(UsageReportMonth.objects.count(), 1)

    # On 30 November 2026 the months due are those up to October (due on 4 November).
    @time_machine.travel(LAST_SECOND_OF_A_MONTH, tick=False)
    def test_command_runs_the_job_and_records_it(self) -> None:
        out = StringIO()
        call_command("generate_usage_reports", stdout=out)
        run = JobRun.objects.get(name=REPORT_JOB)
        self.assertEqual(run.status, JobStatus.OK)
        self.assertEqual(run.counts, {"months": 10})
        self.assertEqual(UsageReportMonth.objects.count(), 10)
        self.assertEqual(
            out.getvalue(),
            "Generated usage reports for: 2026-01, 2026-02, 2026-03, 2026-04, 2026-05, 2026-06, "
            "2026-07, 2026-08, 2026-09, 2026-10.\n",
        )
