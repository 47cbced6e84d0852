"""Ingest takes only plausible usage: timestamps from 2000 to five minutes ahead, sessions of at
most MAX_SESSION_SECONDS that have ended, counts that fit their column. The same limits hold for
every event type, through the API and through CSV and JSON Lines files."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.test import SimpleTestCase, override_settings

from billing_site.settings.env import ERR_ABOVE_MAXIMUM
from metering.models import UsageEvent
from metering.validation import (
    ERR_COUNT,
    ERR_DURATION,
    ERR_FUTURE,
    ERR_NOT_ENDED,
    ERR_TOO_EARLY,
)
from tests.factories import LicenseFactory
from tests.metering.paths import JSON_PATHS, IngestPathsTestCase, device_event, session

DEVICE_TYPES = ("device_connection", "firmware_update", "api_call")
TOO_EARLY = ("1999-12-31T23:59:59Z", "2000-01-01T00:30:00+01:00", "0001-01-01T00:00:00+01:00")


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class SessionLimitTests(IngestPathsTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.license = LicenseFactory(account=cls.account)

    def test_the_longest_session_is_31_days_by_default(self) -> None:
        self.assertEqual(settings.MAX_SESSION_SECONDS, 31 * 86400)
        self.assert_accepted(session(self.license, duration_seconds=31 * 86400))
        refused = {"duration_seconds": [ERR_DURATION.format(max=31 * 86400)]}
        for seconds in (31 * 86400 + 1, 2**31, 10**15, 2**63):
            self.assert_refused(session(self.license, duration_seconds=seconds), refused)
        self.assertEqual(UsageEvent.objects.count(), 3)

    @override_settings(MAX_SESSION_SECONDS=3600)
    def test_the_longest_session_is_a_setting(self) -> None:
        self.assert_accepted(session(self.license, duration_seconds=3600))
        self.assert_refused(
            session(self.license, duration_seconds=3601),
            {"duration_seconds": [ERR_DURATION.format(max=3600)]},
        )

    def test_a_session_is_sent_once_it_has_ended(self) -> None:
        hour_ago = iso(datetime.now(UTC) - timedelta(hours=1))
        self.assert_accepted(session(self.license, start=hour_ago, duration_seconds=3600))
        self.assert_refused(
            session(self.license, start=hour_ago, duration_seconds=2 * 3600),
            {"duration_seconds": [ERR_NOT_ENDED]},
        )

    def test_a_session_starts_in_2000_or_later(self) -> None:
        self.assert_accepted(session(self.license, start="2000-01-01T00:00:00Z"))
        for start in TOO_EARLY:
            self.assert_refused(session(self.license, start=start), {"start": [ERR_TOO_EARLY]})

    def test_a_session_starts_at_most_five_minutes_ahead(self) -> None:
        later = iso(datetime.now(UTC) + timedelta(minutes=6))
        for start in (later, "9999-12-31T23:59:59-01:00"):
            self.assert_refused(session(self.license, start=start), {"start": [ERR_FUTURE]})


class DeviceEventLimitTests(IngestPathsTestCase):
    def test_every_device_event_is_dated_from_2000_on(self) -> None:
        for event_type in ("device_connection", "api_call"):
            self.assert_accepted(
                device_event(
                    self.account,
                    event_type,
                    event_id=f"{event_type}-2000",
                    timestamp="2000-01-01T00:00:00+00:00",
                )
            )
        for event_type in DEVICE_TYPES:
            for timestamp in TOO_EARLY:
                self.assert_refused(
                    device_event(self.account, event_type, timestamp=timestamp),
                    {"timestamp": [ERR_TOO_EARLY]},
                )

    def test_every_device_event_is_dated_at_most_five_minutes_ahead(self) -> None:
        later = iso(datetime.now(UTC) + timedelta(minutes=6))
        for event_type in DEVICE_TYPES:
            for timestamp in (later, "9999-12-31T23:59:59-01:00"):
                self.assert_refused(
                    device_event(self.account, event_type, timestamp=timestamp),
                    {"timestamp": [ERR_FUTURE]},
                )

    def test_an_api_call_count_fits_its_column(self) -> None:
        self.assert_accepted(device_event(self.account, "api_call", count=2_147_483_647))
        for count in (0, -1, 2_147_483_648, 2**63):
            self.assert_refused(
                device_event(self.account, "api_call", count=count), {"count": [ERR_COUNT]}
            )
        for count in (1.5, "3", True):
            self.assert_refused(
                device_event(self.account, "api_call", count=count),
                {"count": [ERR_COUNT]},
                JSON_PATHS,
            )
        self.assertEqual(
            sorted(UsageEvent.objects.values_list("count", flat=True)), [2_147_483_647] * 3
        )


class MaxSessionSettingTests(SimpleTestCase):
    def settings_value(self, value: str) -> subprocess.CompletedProcess:
        """Load the settings in a fresh interpreter, as a server start would."""
        return subprocess.run(
            [
                sys.executable,
                "-c",
                "from billing_site.settings import base; print(base.MAX_SESSION_SECONDS)",
            ],
            cwd=settings.BASE_DIR,
            env={**os.environ, "MAX_SESSION_SECONDS": value},
            capture_output=True,
            text=True,
            check=False,
        )

    def test_the_environment_sets_it_up_to_a_year(self) -> None:
        self.assertEqual(self.settings_value("86400").stdout, "86400\n")
        self.assertEqual(self.settings_value(str(366 * 86400)).stdout, f"{366 * 86400}\n")
        too_long = self.settings_value(str(366 * 86400 + 1))
        self.assertNotEqual(too_long.returncode, 0)
        message = ERR_ABOVE_MAXIMUM.format(
            name="MAX_SESSION_SECONDS", maximum=366 * 86400, number=366 * 86400 + 1
        )
        self.assertIn(message, too_long.stderr)
