"""A machine session the rating cannot price safely (stored before ingest checked it, or written
straight into the table) is set aside with its reason and retried by every poll; the poll, the
close and every other license and tenant go on."""

import io
from datetime import date, timedelta
from decimal import Decimal

import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import TestCase, override_settings

from metering.models import Charge, RatingCursor, UnratedEvent, UsageEvent
from metering.rating import (
    CURSOR,
    REASON_BAD_DURATION,
    REASON_BAD_START,
    REASON_NO_DURATION,
    REASON_NOT_ENDED,
)
from statements.models import Statement, StatementStatus
from statements.services.poll import statements_poll
from tests.factories import AccountFactory, LicenseFactory
from tests.statements.factories import at, catalog, ingest, session

MAX = 31 * 86400


def plant(license: object, event_id: str, start: object, seconds: int | None) -> UsageEvent:
    """A session stored without going through ingest."""
    return UsageEvent.objects.create(
        account_id=license.account_id,
        license=license,
        event_id=event_id,
        type="machine_session",
        occurred_at=start,
        duration_seconds=seconds,
        machine_id=f"m-{event_id}",
        machine_type="c5.xlarge",
        region="us-east",
        pool="render",
        license_type="standard",
        fingerprint="planted",
    )


def priced() -> list[tuple]:
    return sorted(
        Charge.objects.values_list(
            "usage_event__event_id", "billed_period", "duration", "cost", "license_cost"
        )
    )


def waiting() -> dict[str, str]:
    return dict(UnratedEvent.objects.values_list("usage_event__event_id", "reason"))


# The commands read the clock: mid-June, so the close takes May.
@time_machine.travel(at("2026-06-15 12:00"), tick=False)
class PoisonSessionTests(TestCase):
    def setUp(self) -> None:
        catalog({"c5.xlarge": "1.000000"}, {"standard": "0.500000"})
        self.license = LicenseFactory(account=AccountFactory())
        self.other_tenant_license = LicenseFactory(account=AccountFactory())

    def test_the_poll_and_the_close_bill_everyone_else_and_the_cursor_moves(self) -> None:
        ingest([session(self.license, "good-1", "2026-05-01 10:00", 3600)])
        plant(self.license, "forever", at("2026-05-01 10:00"), 10**15)
        plant(self.other_tenant_license, "68-years", at("2026-05-01 10:00"), 2**31)
        plant(self.license, "no-duration", at("2026-05-01 10:00"), None)
        plant(self.license, "1970", at("1970-01-01"), 60)
        plant(self.other_tenant_license, "2090", at("2090-01-01"), 60)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO metering_usageevent (account_id, license_id, event_id, type, "
                "occurred_at, received_at, duration_seconds, machine_id, machine_type, region, "
                "pool, license_type, device_id, endpoint_name, category, event_name, fingerprint) "
                "SELECT account_id, license_id, 'infinity', type, 'infinity', received_at, 60, "
                "machine_id, machine_type, region, pool, license_type, '', '', '', '', '' "
                "FROM metering_usageevent WHERE event_id = 'forever'"
            )
        ingest([session(self.other_tenant_license, "good-2", "2026-05-02 10:00", 1800)])
        last = UsageEvent.objects.order_by("-id").values_list("id", flat=True).first()

        call_command("poll_events", stdout=io.StringIO())

        may = date(2026, 5, 1)
        self.assertEqual(
            priced(),
            [
                ("good-1", may, timedelta(hours=1), Decimal("1.0000"), Decimal("0.5000")),
                ("good-2", may, timedelta(minutes=30), Decimal("0.5000"), Decimal("0.2500")),
            ],
        )
        self.assertEqual(
            waiting(),
            {
                "forever": REASON_BAD_DURATION.format(seconds=10**15, max=MAX),
                "68-years": REASON_BAD_DURATION.format(seconds=2**31, max=MAX),
                "no-duration": REASON_NO_DURATION,
                "1970": REASON_BAD_START.format(at="1970-01-01 00:00:00Z"),
                "2090": REASON_BAD_START.format(at="2090-01-01 00:00:00Z"),
                "infinity": REASON_BAD_START.format(at="infinity"),
            },
        )
        self.assertEqual(RatingCursor.objects.get(name=CURSOR).last_event_id, last)

        call_command("close_statements", stdout=io.StringIO())

        june = date(2026, 6, 1)
        closed, open_ = StatementStatus.CLOSED, StatementStatus.OPEN
        self.assertEqual(
            sorted(
                Statement.objects.values_list("license_id", "period", "status", "machine_charges")
            ),
            [
                (self.license.id, may, closed, Decimal("1.00")),
                (self.license.id, june, open_, Decimal("0.00")),
                (self.other_tenant_license.id, may, closed, Decimal("0.50")),
                (self.other_tenant_license.id, june, open_, Decimal("0.00")),
            ],
        )
        self.assertEqual(len(waiting()), 6)


class RetryTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        catalog({"c5.xlarge": "1.000000"}, {"standard": "0.500000"})
        cls.license = LicenseFactory(account=AccountFactory())

    def test_a_set_aside_session_is_priced_once_the_limit_allows_it(self) -> None:
        plant(self.license, "long", at("2026-04-20"), 40 * 86400)
        statements_poll(now=at("2026-06-15"))
        self.assertEqual(
            waiting(), {"long": REASON_BAD_DURATION.format(seconds=40 * 86400, max=MAX)}
        )
        self.assertEqual(priced(), [])

        with override_settings(MAX_SESSION_SECONDS=60 * 86400):
            statements_poll(now=at("2026-06-15"))
        self.assertEqual(waiting(), {})
        self.assertEqual(
            priced(),
            [
                (
                    "long",
                    date(2026, 4, 1),
                    timedelta(days=11),
                    Decimal("264.0000"),
                    Decimal("132.0000"),
                ),
                (
                    "long",
                    date(2026, 5, 1),
                    timedelta(days=29),
                    Decimal("696.0000"),
                    Decimal("348.0000"),
                ),
            ],
        )

    def test_a_session_that_has_not_ended_waits_until_it_has(self) -> None:
        plant(self.license, "running", at("2026-05-20 11:00"), 2 * 3600)
        statements_poll(now=at("2026-05-20 12:00"))
        self.assertEqual(waiting(), {"running": REASON_NOT_ENDED.format(at="2026-05-20 13:00:00Z")})

        statements_poll(now=at("2026-05-20 13:00"))
        self.assertEqual(waiting(), {})
        self.assertEqual(
            priced(),
            [
                (
                    "running",
                    date(2026, 5, 1),
                    timedelta(hours=2),
                    Decimal("2.0000"),
                    Decimal("1.0000"),
                )
            ],
        )
