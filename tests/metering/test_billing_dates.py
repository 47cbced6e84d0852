"""Ranges of days for the billing routes and the Billing page: the one parser and the
comparable previous range."""

from datetime import date

from django.core.exceptions import ValidationError
from django.test import SimpleTestCase

from metering.billing_dates import (
    ERR_DATE,
    ERR_DATE_RANGE,
    ERR_DATE_REQUIRED,
    ERR_END_BEFORE_START,
    ERR_RANGE_TOO_LONG,
    DayRange,
    parse_day_range,
)


def days(start: str, end: str) -> DayRange:
    return DayRange(date.fromisoformat(start), date.fromisoformat(end))


class ParseDayRangeTests(SimpleTestCase):
    def errors(self, start: object, end: object) -> dict[str, list[str]]:
        with self.assertRaises(ValidationError) as caught:
            parse_day_range(start, end)
        return caught.exception.message_dict

    def test_both_days_are_included(self) -> None:
        self.assertEqual(
            parse_day_range("2026-05-01", " 2026-05-31 "), (date(2026, 5, 1), date(2026, 5, 31))
        )
        self.assertEqual(
            parse_day_range("2024-01-01", "2024-12-31"), (date(2024, 1, 1), date(2024, 12, 31))
        )

    def test_each_wrong_field_has_its_message(self) -> None:
        cases = [
            (("2026-13-01", "2026-05-01"), {"start": [ERR_DATE]}),
            (("2026-02-29", "2026-03-01"), {"start": [ERR_DATE]}),
            (("20260501", "2026-5-1"), {"start": [ERR_DATE], "end": [ERR_DATE]}),
            ((None, ""), {"start": [ERR_DATE_REQUIRED], "end": [ERR_DATE_REQUIRED]}),
            ((["2026-05-01"], 5), {"start": [ERR_DATE], "end": [ERR_DATE]}),
            (("1969-12-31", "9999-01-01"), {"start": [ERR_DATE_RANGE], "end": [ERR_DATE_RANGE]}),
            (("2026-05-02", "2026-05-01"), {"end": [ERR_END_BEFORE_START]}),
            (("2025-01-01", "2026-01-02"), {"end": [ERR_RANGE_TOO_LONG]}),
        ]
        for (start, end), expected in cases:
            with self.subTest(start=start, end=end):
                self.assertEqual(self.errors(start, end), expected)


class PreviousRangeTests(SimpleTestCase):
    def test_whole_months_compare_with_as_many_months_before(self) -> None:
        cases = {
            ("2026-05-01", "2026-05-31"): "2026-04-01 to 2026-04-30",
            ("2026-03-01", "2026-03-31"): "2026-02-01 to 2026-02-28",
            ("2026-04-01", "2026-06-30"): "2026-01-01 to 2026-03-31",
            ("2026-01-01", "2026-12-31"): "2025-01-01 to 2025-12-31",
        }
        for (start, end), previous in cases.items():
            with self.subTest(start=start):
                self.assertEqual(str(days(start, end).previous()), previous)

    def test_other_ranges_compare_with_as_many_days_just_before(self) -> None:
        cases = {
            ("2026-05-01", "2026-05-20"): "2026-04-11 to 2026-04-30",
            ("2026-03-01", "2026-03-01"): "2026-02-28 to 2026-02-28",
            ("2026-05-10", "2026-06-09"): "2026-04-09 to 2026-05-09",
            ("2028-03-01", "2028-03-30"): "2028-01-31 to 2028-02-29",
        }
        for (start, end), previous in cases.items():
            with self.subTest(start=start):
                previous_range = days(start, end).previous()
                self.assertEqual(str(previous_range), previous)
                self.assertEqual(previous_range.days, days(start, end).days)
