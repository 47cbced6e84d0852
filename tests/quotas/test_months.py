"""One rule for which months an account's billing pages and API can be about: what each
month's report is (live, generated, pending, late, absent, future) and why there is none, the
months the picker offers, and the message a page shows for a month it cannot show."""

from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from metering.months import ERR_MONTH_RANGE, Month
from quotas.selectors.months import (
    ERR_MONTH_MALFORMED,
    ERR_MONTH_NOT_SHOWN,
    ERR_REPORT_ABSENT,
    ERR_REPORT_BEFORE,
    ERR_REPORT_FUTURE,
    ERR_REPORT_LATE,
    ERR_REPORT_NOT_OVER,
    ERR_REPORT_NOT_READY,
    ReportState,
    billing_months,
    first_billing_month,
    month_choice,
    report_period,
)
from quotas.services.reports import usage_reports_run
from tests.factories import AccountFactory

from .factories import at, package
from .pages import table_rows
from .world import UsageReportWorld

NOW = at("2026-05-10 12:00:00")
PAGES = {
    "My billing": reverse("quotas:my_billing"),
    "Active devices": reverse("quotas:active_devices"),
    "Service package history": reverse("quotas:package_history"),
    "Usage reports": reverse("quotas:usage_reports"),
}


class MonthWorld(UsageReportWorld):
    """Alpha (created 2026-01-01, a package from 2026-01-10) with its reports up to April 2026
    generated on 2026-05-05."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        usage_reports_run(now=at("2026-05-05 00:10:00"))
        for account in [cls.account, cls.tenant]:
            account.refresh_from_db()  # the world moved their creation to 2026-01-01


class ReportPeriodTests(MonthWorld):
    def state(self, account: Account, month: str, now=NOW) -> tuple[str, str]:
        period = report_period(account, Month.parse(month), now=now)
        return period.state, period.reason

    def test_a_generated_month_has_its_report_and_no_reason(self) -> None:
        period = report_period(self.account, Month(2026, 4), now=NOW)
        self.assertEqual((period.state, period.reason), (ReportState.GENERATED, ""))
        self.assertEqual(period.report.account_id, self.account.pk)
        self.assertEqual(period.generated_at, at("2026-05-05 00:10:00"))

    def test_each_month_without_a_report_says_why(self) -> None:
        self.assertEqual(
            self.state(self.account, "2026-05"),
            (
                ReportState.LIVE,
                ERR_REPORT_NOT_OVER.format(month="2026-05", day=at("2026-06-03 00:00:00")),
            ),
        )
        self.assertEqual(
            self.state(self.account, "2026-06"),
            (
                ReportState.FUTURE,
                ERR_REPORT_FUTURE.format(month="2026-06", day=at("2026-07-03 00:00:00")),
            ),
        )
        self.assertEqual(
            self.state(self.account, "2026-05", now=at("2026-06-02 23:59:59")),
            (
                ReportState.PENDING,
                ERR_REPORT_NOT_READY.format(month="2026-05", day=at("2026-06-03 00:00:00")),
            ),
        )
        self.assertEqual(
            self.state(self.account, "2026-05", now=at("2026-06-03 00:00:00")),
            (
                ReportState.LATE,
                ERR_REPORT_LATE.format(month="2026-05", day=at("2026-06-03 00:00:00")),
            ),
        )

    def test_a_month_before_the_account_existed_has_no_report_ever(self) -> None:
        before = ERR_REPORT_BEFORE.format(
            account="Alpha Devices", month="1990-01", created=at("2026-01-01 00:00:00")
        )
        self.assertEqual(self.state(self.account, "1990-01"), (ReportState.ABSENT, before))
        self.assertEqual(
            self.state(self.account, "2025-12")[1],
            before.replace("1990-01", "2025-12"),
        )
        newcomer = AccountFactory(name="Newcomer", slug="newcomer")
        Account.objects.filter(pk=newcomer.pk).update(created_at=at("2026-05-07 00:00:00"))
        newcomer.refresh_from_db()
        self.assertEqual(
            self.state(newcomer, "2026-04"),
            (
                ReportState.ABSENT,
                ERR_REPORT_ABSENT.format(
                    account="Newcomer", month="2026-04", generated=at("2026-05-05 00:10:00")
                ),
            ),
        )


class BillingMonthsTests(MonthWorld):
    def test_from_the_creation_month_to_the_current_month_newest_first(self) -> None:
        self.assertEqual(first_billing_month(self.tenant), Month(2026, 1))
        self.assertEqual(
            [str(m) for m in billing_months(self.account, NOW.date())],
            ["2026-05", "2026-04", "2026-03", "2026-02", "2026-01"],
        )

    def test_a_package_that_started_before_the_account_was_created_opens_its_month(
        self,
    ) -> None:
        late = AccountFactory(name="Latecomer", slug="latecomer")
        late_tenant = AccountFactory(name="Late Tenant", slug="late-tenant", parent=late)
        Account.objects.filter(pk=late.pk).update(created_at=at("2026-03-01 00:00:00"))
        Account.objects.filter(pk=late_tenant.pk).update(created_at=at("2026-04-20 00:00:00"))
        late.refresh_from_db()
        late_tenant.refresh_from_db()
        package(late, 10, "2026-02-15 00:00:00")
        self.assertEqual(first_billing_month(late), Month(2026, 2))
        self.assertEqual(first_billing_month(late_tenant), Month(2026, 2))
        # Its package ran, but the tenant did not exist yet: no report for it.
        self.assertEqual(
            report_period(late_tenant, Month(2026, 3), now=NOW).state, ReportState.ABSENT
        )


class MonthChoiceTests(MonthWorld):
    def test_no_month_asked_is_the_previous_month_without_a_message(self) -> None:
        choice = month_choice(self.account, None, NOW)
        self.assertEqual((choice.month, choice.error), (Month(2026, 4), ""))
        self.assertEqual(choice.months, billing_months(self.account, NOW.date()))

    def test_a_month_that_cannot_be_shown_says_why_and_which_month_is_shown(self) -> None:
        before = ERR_REPORT_BEFORE.format(
            account="Alpha Devices", month="1990-01", created=at("2026-01-01 00:00:00")
        )
        future = ERR_REPORT_FUTURE.format(month="2026-07", day=at("2026-08-05 00:00:00"))
        for raw, reason in [
            ("1990-01", before),
            ("2026-07", future),
            ("2026-4", "Month: Must be a month written YYYY-MM, e.g. 2026-04."),
            ("1990-13", "Month: Must be a month written YYYY-MM, e.g. 2026-04."),
        ]:
            with self.subTest(month=raw):
                choice = month_choice(self.account, raw, NOW)
                self.assertEqual(choice.month, Month(2026, 4))
                self.assertEqual(
                    choice.error, ERR_MONTH_NOT_SHOWN.format(reason=reason, shown="April 2026")
                )

    def test_a_month_the_picker_offers_is_shown_as_asked(self) -> None:
        for raw in ["2026-01", "2026-03", "2026-05"]:
            with self.subTest(month=raw):
                choice = month_choice(self.account, raw, NOW)
                self.assertEqual((str(choice.month), choice.error), (raw, ""))

    def test_an_account_created_this_month_starts_on_the_live_month(self) -> None:
        newcomer = AccountFactory(name="Newcomer", slug="newcomer")
        Account.objects.filter(pk=newcomer.pk).update(created_at=at("2026-05-07 00:00:00"))
        newcomer.refresh_from_db()
        choice = month_choice(newcomer, None, NOW)
        self.assertEqual(
            (choice.month, choice.months, choice.error), (Month(2026, 5), [Month(2026, 5)], "")
        )


class PagesMonthTests(MonthWorld):
    """Every billing page offers only the months that can have a report and says plainly why
    it does not show a month asked for."""

    def offered(self, response) -> list[str]:
        form = response.content.decode().split('name="month"', 1)[1].split("</select>", 1)[0]
        return [part.split('"', 1)[0] for part in form.split('<option value="')[1:]]

    def test_every_page_offers_the_months_since_the_account_was_created(self) -> None:
        current = Month.of(timezone.now())
        expected = [str(m) for m in reversed(Month(2026, 1).until(current))]
        self.login(self.owner)
        for name, url in PAGES.items():
            with self.subTest(page=name):
                response = self.client.get(url)
                self.assertEqual(self.offered(response), expected)

    def test_every_page_says_why_a_month_is_not_shown_and_shows_the_default(self) -> None:
        previous = Month.of(timezone.now()).previous()
        reason = ERR_REPORT_BEFORE.format(
            account="Alpha Devices", month="1990-01", created=at("2026-01-01 00:00:00")
        )
        message = ERR_MONTH_NOT_SHOWN.format(reason=reason, shown=previous.label)
        self.login(self.owner)
        for name, url in PAGES.items():
            with self.subTest(page=name):
                response = self.client.get(url, {"month": "1990-01"})
                self.assertEqual(response.status_code, 200)
                self.assertContains(
                    response,
                    f'<div class="alert alert-warning month-error" role="alert">{message}</div>',
                    html=True,
                )
                self.assertContains(response, f'<option value="{previous}" selected>', html=False)
                self.assertNotIn("1990-01", self.offered(response))

    def test_a_malformed_month_gets_the_same_kind_of_message(self) -> None:
        previous = Month.of(timezone.now()).previous()
        message = ERR_MONTH_NOT_SHOWN.format(
            reason="Month: Must be a month written YYYY-MM, e.g. 2026-04.", shown=previous.label
        )
        self.login(self.owner)
        for name, url in PAGES.items():
            with self.subTest(page=name):
                response = self.client.get(url, {"month": "April"})
                self.assertContains(response, message)

    def test_a_month_without_an_end_gets_the_same_kind_of_message(self) -> None:
        previous = Month.of(timezone.now()).previous()
        reason = ERR_MONTH_MALFORMED.format(problem=ERR_MONTH_RANGE)
        message = ERR_MONTH_NOT_SHOWN.format(reason=reason, shown=previous.label)
        self.login(self.owner)
        for name, url in PAGES.items():
            with self.subTest(page=name):
                response = self.client.get(url, {"month": "9999-12"})
                self.assertContains(response, message)

    def test_a_month_shown_as_asked_has_no_message(self) -> None:
        self.login(self.owner)
        for name, url in PAGES.items():
            with self.subTest(page=name):
                response = self.client.get(url, {"month": "2026-04"})
                self.assertNotContains(response, "month-error")
                self.assertContains(response, '<option value="2026-04" selected>', html=False)

    def test_a_tenant_created_after_the_month_was_generated_has_no_report_for_it(self) -> None:
        late = AccountFactory(name="Late Tenant", slug="late-tenant", parent=self.account)
        Account.objects.filter(pk=late.pk).update(created_at=at("2026-05-07 00:00:00"))
        self.login(self.owner)
        self.switch_to(late)
        response = self.client.get(PAGES["My billing"], {"month": "2026-04"})
        self.assertContains(
            response,
            "There is no usage report of Late Tenant for <strong>April 2026</strong>: the "
            "month's reports were generated on 2026-05-05 00:10 UTC, before this account "
            "existed.",
        )
        reports = self.client.get(PAGES["Usage reports"], {"month": "2026-04"})
        self.assertEqual(
            table_rows(reports, "usage-reports"), [["No account matches these filters."]]
        )
