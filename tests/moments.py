"""Fixed moments for the tests whose outcome depends on the date. A test pins the clock to each
with time-machine and derives what it expects from that moment, so the suite gives the same
result whatever day it runs on. The clock stands still (tick=False): every reading in the code
under test agrees with the moment, so expectations can be exact.

time-machine moves Python's clock only, never PostgreSQL's now(); the code takes its time from
Python (`django.utils.timezone.now()`, passed down as `now`), so that is the one clock."""

from datetime import UTC, datetime

import pytest

# The first instant of a month (nothing of it has happened yet), the last second of a month,
# a Saturday, and 29 February.
DATE_EDGES = [
    pytest.param(datetime(2026, 12, 1, 0, 0, tzinfo=UTC), id="first-of-month-midnight"),
    pytest.param(datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC), id="last-second-of-month"),
    pytest.param(datetime(2026, 11, 14, 12, 0, tzinfo=UTC), id="saturday"),
    pytest.param(datetime(2028, 2, 29, 12, 0, tzinfo=UTC), id="29-february"),
]
