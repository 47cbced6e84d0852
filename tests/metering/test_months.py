"""Months as billing periods and the third business day the reports are generated on."""

from datetime import UTC, date, datetime

from django.core.exceptions import ValidationError
from django.test import SimpleTestCase

from metering.months import (
    ERR_MONTH_RANGE,
    Month,
    add_months,
    business_day,
    last_reportable_month,
    report_available_on,
)

# The third Monday-to-Friday day of every month of 2026 and 2027, read off a calendar. Months
# starting on a Saturday (Aug 2026, May 2027) or a Sunday (Feb, Mar, Nov 2026, Aug 2027) are in.
THIRD_BUSINESS_DAYS = {
    "2026-01": date(2026, 1, 5),  # Thursday 1st
    "2026-02": date(2026, 2, 4),  # Sunday 1st
    "2026-03": date(2026, 3, 4),  # Sunday 1st
    "2026-04": date(2026, 4, 3),  # Wednesday 1st
    "2026-05": date(2026, 5, 5),  # Friday 1st
    "2026-06": date(2026, 6, 3),  # Monday 1st
    "2026-07": date(2026, 7, 3),  # Wednesday 1st
    "2026-08": date(2026, 8, 5),  # Saturday 1st
    "2026-09": date(2026, 9, 3),  # Tuesday 1st
    "2026-10": date(2026, 10, 5),  # Thursday 1st
    "2026-11": date(2026, 11, 4),  # Sunday 1st
    "2026-12": date(2026, 12, 3),  # Tuesday 1st
    "2027-01": date(2027, 1, 5),  # Friday 1st
    "2027-02": date(2027, 2, 3),  # Monday 1st
    "2027-03": date(2027, 3, 3),  # Monday 1st
    "2027-04": date(2027, 4, 5),  # Thursday 1st
    "2027-05": date(2027, 5, 5),  # Saturday 1st
    "2027-06": date(2027, 6, 3),  # Tuesday 1st
    "2027-07": date(2027, 7, 5),  # Thursday 1st
    "2027-08": date(2027, 8, 4),  # Sunday 1st
    "2027-09": date(2027, 9, 3),  # Wednesday 1st
    "2027-10": date(2027, 10, 5),  # Friday 1st
    "2027-11": date(2027, 11, 3),  # Monday 1st
    "2027-12": date(2027, 12, 3),  # Wednesday 1st
}


class ThirdBusinessDayTests(SimpleTestCase):
    def test_every_month_of_two_years(self) -> None:
        for text, expected in THIRD_BUSINESS_DAYS.items():
            with self.subTest(month=text):
                self.assertEqual(business_day(Month.parse(text), 3), expected)
                self.assertLess(expected.weekday(), 5)

    def test_a_month_is_available_on_the_third_business_day_of_the_next(self) -> None:
        for text, expected in THIRD_BUSINESS_DAYS.items():
            with self.subTest(month=text):
                self.assertEqual(report_available_on(Month.parse(text).previous()), expected)

    def test_the_last_reportable_month_turns_over_on_that_day(self) -> None:
        # October 2026's reports are due on Wednesday 4 November (1 November is a Sunday).
        self.assertEqual(last_reportable_month(date(2026, 11, 3)), Month(2026, 9))
        self.assertEqual(last_reportable_month(date(2026, 11, 4)), Month(2026, 10))
        self.assertEqual(last_reportable_month(date(2026, 11, 30)), Month(2026, 10))
        # July 2026's are due on Wednesday 5 August (1 August is a Saturday).
        self.assertEqual(last_reportable_month(date(2026, 8, 4)), Month(2026, 6))
        self.assertEqual(last_reportable_month(date(2026, 8, 5)), Month(2026, 7))
        # Across a year: December's reports on Tuesday 5 January.
        self.assertEqual(last_reportable_month(date(2027, 1, 4)), Month(2026, 11))
        self.assertEqual(last_reportable_month(date(2027, 1, 5)), Month(2026, 12))


class MonthTests(SimpleTestCase):
    def test_parse_and_format(self) -> None:
        self.assertEqual(Month.parse("2026-04"), Month(2026, 4))
        self.assertEqual(str(Month(2026, 4)), "2026-04")
        self.assertEqual(Month(2026, 4).label, "April 2026")
        for bad in ["2026-13", "2026-00", "2026-4", "April", "", "2026-04-01"]:
            with self.subTest(bad=bad), self.assertRaises(ValidationError):
                Month.parse(bad)

    def test_parse_refuses_months_outside_the_years_billing_uses(self) -> None:
        self.assertEqual(Month.parse("9998-12").end, datetime(9999, 1, 1, tzinfo=UTC))
        self.assertEqual(Month.parse("1970-01").start, datetime(1970, 1, 1, tzinfo=UTC))
        for text in ["9999-12", "9999-01", "1969-12", "0001-01"]:
            with (
                self.subTest(text=text),
                self.assertRaisesMessage(ValidationError, ERR_MONTH_RANGE),
            ):
                Month.parse(text)

    def test_half_open_utc_range(self) -> None:
        month = Month(2026, 12)
        self.assertEqual(month.start, datetime(2026, 12, 1, tzinfo=UTC))
        self.assertEqual(month.end, datetime(2027, 1, 1, tzinfo=UTC))
        self.assertEqual(month.last_day, date(2026, 12, 31))
        self.assertEqual(Month(2028, 2).last_day, date(2028, 2, 29))

    def test_shift_and_until(self) -> None:
        self.assertEqual(Month(2026, 1).previous(), Month(2025, 12))
        self.assertEqual(Month(2026, 11).shift(14), Month(2028, 1))
        self.assertEqual(
            Month(2026, 11).until(Month(2027, 2)),
            [Month(2026, 11), Month(2026, 12), Month(2027, 1), Month(2027, 2)],
        )
        self.assertEqual(Month(2026, 5).until(Month(2026, 4)), [])

    def test_of_a_datetime_is_its_utc_month(self) -> None:
        from zoneinfo import ZoneInfo

        late_evening = datetime(2026, 4, 30, 22, 30, tzinfo=ZoneInfo("America/New_York"))
        self.assertEqual(Month.of(late_evening), Month(2026, 5))

    def test_add_months_clamps_to_shorter_months(self) -> None:
        start = datetime(2028, 2, 29, 10, tzinfo=UTC)
        self.assertEqual(add_months(start, 12), datetime(2029, 2, 28, 10, tzinfo=UTC))
        self.assertEqual(
            add_months(datetime(2026, 8, 31, tzinfo=UTC), -3), datetime(2026, 5, 31, tzinfo=UTC)
        )
        self.assertEqual(
            add_months(datetime(2026, 11, 30, tzinfo=UTC), 3), datetime(2027, 2, 28, tzinfo=UTC)
        )
