"""Fixed moments for the tests whose outcome depends on the date. A test pins the clock to one
with time-machine and derives what it expects from that moment, so the suite gives the same
result whatever day it runs on. The clock stands still (tick=False): every reading in the code
under test agrees with the moment, so expectations can be exact and no test straddles midnight
or a month's end between two readings.

time-machine moves Python's clock only, never PostgreSQL's now(); the code takes its time from
Python (`django.utils.timezone.now()`, passed down as `now`), so that is the one clock."""

from datetime import UTC, datetime

import pytest

# Nothing of the month has happened yet.
FIRST_INSTANT_OF_A_MONTH = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
LAST_SECOND_OF_A_MONTH = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
A_SATURDAY = datetime(2026, 11, 14, 12, 0, tzinfo=UTC)
LEAP_DAY = datetime(2028, 2, 29, 12, 0, tzinfo=UTC)

DATE_EDGES = [
    pytest.param(FIRST_INSTANT_OF_A_MONTH, id="first-of-month-midnight"),
    pytest.param(LAST_SECOND_OF_A_MONTH, id="last-second-of-month"),
    pytest.param(A_SATURDAY, id="saturday"),
    pytest.param(LEAP_DAY, id="29-february"),
]
