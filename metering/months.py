"""Calendar months, the one month type of every app: `YYYY-MM`, half-open UTC ranges, and the
third business day of a month, when the previous month's usage reports are generated. Tables
store a month as its first day (a `date`); `Month.of(day)` and `.first_day` go between the two."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import ValidationError

ERR_MONTH = "Must be a month written YYYY-MM, e.g. 2026-04."
# A month is used as a range, so its end (the next month's start) must exist: 9999-12 has none.
FIRST_YEAR, LAST_YEAR = 1970, 9998
ERR_MONTH_RANGE = f"Must be a month from {FIRST_YEAR}-01 to {LAST_YEAR}-12."
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")

# Business days are Monday to Friday whatever the local holidays (the seed says so).
BUSINESS_DAYS_BEFORE_REPORTS = 3
# Reports are generated shortly after midnight UTC and are ready by this time of day.
REPORTS_READY_BY = "02:00 UTC"


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9999:
            raise ValidationError(ERR_MONTH)

    @classmethod
    def parse(cls, text: str) -> "Month":
        """The one parser of months that pages, commands and the API read: ValidationError with
        ERR_MONTH for anything but `YYYY-MM`, ERR_MONTH_RANGE outside FIRST_YEAR..LAST_YEAR."""
        match = _MONTH.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ValidationError(ERR_MONTH)
        month = cls(int(match.group(1)), int(match.group(2)))
        if not FIRST_YEAR <= month.year <= LAST_YEAR:
            raise ValidationError(ERR_MONTH_RANGE)
        return month

    @classmethod
    def of(cls, moment: date | datetime) -> "Month":
        """The UTC month containing a date or an aware datetime."""
        if isinstance(moment, datetime):
            moment = moment.astimezone(UTC)
        return cls(moment.year, moment.month)

    @classmethod
    def from_first_day(cls, day: date) -> "Month":
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """ "April 2026"."""
        return self.first_day.strftime("%B %Y")

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    @property
    def start(self) -> datetime:
        """The first instant of the month, UTC (inclusive)."""
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant of the next month, UTC (exclusive)."""
        return self.next().start

    def next(self) -> "Month":
        return self.shift(1)

    def previous(self) -> "Month":
        return self.shift(-1)

    def shift(self, months: int) -> "Month":
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def until(self, last: "Month") -> list["Month"]:
        """This month and every month after it up to and including `last`."""
        months, current = [], self
        while current <= last:
            months.append(current)
            current = current.next()
        return months


def business_day(month: Month, n: int) -> date:
    """The n-th Monday-to-Friday day of the month (holidays are not taken into account)."""
    day, seen = month.first_day, 0
    while True:
        if day.weekday() < 5:
            seen += 1
            if seen == n:
                return day
        day += timedelta(days=1)


def report_available_on(month: Month) -> date:
    """The day the usage reports of `month` are generated: the third business day after it."""
    return business_day(month.next(), BUSINESS_DAYS_BEFORE_REPORTS)


def last_reportable_month(today: date) -> Month:
    """The latest month whose reports are due on `today` (on or after its availability day)."""
    previous = Month.of(today).previous()
    return previous if report_available_on(previous) <= today else previous.previous()


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later, clamped to the end of shorter months (a package
    starting on 29 February 2028 expires on 28 February 2029)."""
    target = Month(moment.year, moment.month).shift(months)
    day = min(moment.day, target.last_day.day)
    return moment.replace(year=target.year, month=target.month, day=day)
