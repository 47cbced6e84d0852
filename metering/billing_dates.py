"""Ranges of UTC days as the billing routes and pages take them: `start` and `end` written
`YYYY-MM-DD`, both included, each day the half-open window [00:00, next 00:00). One parser for
the read routes, the generate routes and the Billing page, and the one rule for the range a
summary compares with."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError

from .months import FIRST_YEAR, LAST_YEAR, Month

# A year and a day: a leap year's days, and no more, so a range is always readable at once.
MAX_RANGE_DAYS = 366
ERR_DATE = "Must be a date written YYYY-MM-DD, e.g. 2026-04-30."
ERR_DATE_RANGE = f"Must be a date from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31."
ERR_DATE_REQUIRED = "Required: a date written YYYY-MM-DD."
ERR_END_BEFORE_START = "Must be on or after the start date."
ERR_RANGE_TOO_LONG = f"A range covers at most {MAX_RANGE_DAYS} days."
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_day(text: object) -> date:
    """One `YYYY-MM-DD` day, or a ValidationError with the message to show for the field."""
    if text is None or (isinstance(text, str) and not text.strip()):
        raise ValidationError(ERR_DATE_REQUIRED)
    match = _DAY.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValidationError(ERR_DATE)
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as exc:
        raise ValidationError(ERR_DATE) from exc
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(ERR_DATE_RANGE)
    return day


def check_day_range(start: date, end: date, *, max_days: int = MAX_RANGE_DAYS) -> None:
    """A ValidationError on `end` when it is before `start` or the range is too long."""
    if end < start:
        raise ValidationError({"end": [ERR_END_BEFORE_START]})
    if (end - start).days + 1 > max_days:
        raise ValidationError({"end": [ERR_RANGE_TOO_LONG]})


def parse_day_range(
    start: object, end: object, *, max_days: int = MAX_RANGE_DAYS
) -> tuple[date, date]:
    """(start, end), both included. A ValidationError names each field that is wrong:
    `{"start": [...], "end": [...]}`, which the API answers as a 400 with those messages."""
    errors: dict[str, list[str]] = {}
    days: dict[str, date] = {}
    for field, text in (("start", start), ("end", end)):
        try:
            days[field] = parse_day(text)
        except ValidationError as exc:
            errors[field] = exc.messages
    if errors:
        raise ValidationError(errors)
    check_day_range(days["start"], days["end"], max_days=max_days)
    return days["start"], days["end"]


@dataclass(frozen=True)
class DayRange:
    """The days from `start` to `end`, both included."""

    start: date
    end: date

    @classmethod
    def of_month(cls, month: Month) -> "DayRange":
        return cls(month.first_day, month.last_day)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def whole_months(self) -> bool:
        """Does the range start on a 1st and end on a month's last day?"""
        return self.start.day == 1 and (self.end + timedelta(days=1)).day == 1

    def previous(self) -> "DayRange":
        """The comparable range just before: as many whole months when the range is whole
        months (April for May, Q1 for Q2: a month is compared with a month, not with 31 days
        that begin in March), else as many days, ending the day before `start`."""
        if self.whole_months:
            first, last = Month.of(self.start), Month.of(self.end)
            months = (last.year - first.year) * 12 + last.month - first.month + 1
            previous_start = first.shift(-months).first_day
        else:
            previous_start = self.start - timedelta(days=self.days)
        return DayRange(previous_start, self.start - timedelta(days=1))

    def __str__(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"
