"""Service packages, campaigns and the quota ledger: every event type and its effect on the
remaining quota, the refusals, renewal and expiry."""

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from quotas.models import (
    CampaignStatus,
    LedgerEventType,
    PackageStatus,
    QuotaLedgerEntry,
    ServicePackage,
)
from quotas.selectors.packages import quota_summary, remaining_tokens, reserved_tokens
from quotas.services.campaigns import (
    REFUSED_EXPIRED,
    REFUSED_NO_PACKAGE,
    REFUSED_NOT_STARTED,
    REFUSED_QUOTA,
    CampaignRefused,
    campaign_finish,
    campaign_start,
)
from quotas.services.packages import package_renew, packages_expire
from tests.base import BillingTestCase

from .factories import at, campaign, ingest, package, update


def ledger_rows(account) -> list[tuple[str, int, str | None]]:
    return [
        (e.event_type, e.tokens, e.campaign.name if e.campaign else None)
        for e in QuotaLedgerEntry.objects.filter(account=account).order_by("occurred_at", "id")
    ]


class LedgerTests(BillingTestCase):
    def test_creation_adds_the_quota_for_twelve_months(self) -> None:
        p = package(self.account, 100, "2026-01-15 09:30:00")
        self.assertEqual(p.expires_at, at("2027-01-15 09:30:00"))
        self.assertEqual(ledger_rows(self.account), [("package_creation", 100, None)])
        self.assertEqual(remaining_tokens(self.account), 100)

    def test_reservation_updates_and_release(self) -> None:
        package(self.account, 100, "2026-01-15 00:00:00")
        c = campaign(self.tenant, "Spring rollout", 30, "2026-02-01 10:00:00")
        self.assertEqual(remaining_tokens(self.account), 70)
        self.assertEqual(reserved_tokens(self.account), 30)
        ingest(
            [update(self.tenant, f"u-{i}", f"d-{i}", c, "2026-02-02 10:00:00") for i in range(12)]
        )
        self.assertEqual(reserved_tokens(self.account), 18)

        finished = campaign_finish(actor=None, campaign=c, now=at("2026-02-10 00:00:00"))
        self.assertEqual(finished.status, CampaignStatus.FINISHED)
        self.assertEqual((finished.updates, finished.returned), (12, 18))
        self.assertEqual(remaining_tokens(self.account), 88)
        self.assertEqual(reserved_tokens(self.account), 0)
        self.assertEqual(
            ledger_rows(self.account),
            [
                ("package_creation", 100, None),
                ("reservation", -30, "Spring rollout"),
                ("reservation_release", 18, "Spring rollout"),
            ],
        )
        # Finishing again changes nothing.
        again = campaign_finish(actor=None, campaign=c, now=at("2026-02-11 00:00:00"))
        self.assertEqual(again.ended_at, at("2026-02-10 00:00:00"))
        self.assertEqual(QuotaLedgerEntry.objects.count(), 3)

    def test_renewal_before_expiry_starts_now_and_carries_tokens_over(self) -> None:
        old = package(self.account, 100, "2026-01-15 00:00:00")
        running = campaign(self.account, "Long rollout", 40, "2026-03-01 00:00:00")
        new = package_renew(actor=None, package=old, tokens=500, now=at("2026-12-01 08:00:00"))
        old.refresh_from_db()
        running.refresh_from_db()
        self.assertEqual(
            (old.status, old.ended_at), (PackageStatus.RENEWED, at("2026-12-01 08:00:00"))
        )
        self.assertEqual(new.starts_at, at("2026-12-01 08:00:00"))
        self.assertEqual(new.expires_at, at("2027-12-01 08:00:00"))
        self.assertEqual((new.tokens, new.carried_over), (500, 60))
        self.assertEqual(running.package, new)
        self.assertEqual(remaining_tokens(self.account), 560)
        self.assertEqual(ledger_rows(self.account)[-1], ("package_renewal", 500, None))
        # The old package's expiry date passes without a termination: it was renewed.
        self.assertEqual(
            packages_expire(now=at("2027-02-01 00:00:00")), {"packages": 0, "campaigns": 0}
        )
        campaign_finish(actor=None, campaign=running, now=at("2027-02-01 00:00:00"))
        self.assertEqual(remaining_tokens(self.account), 600)

    def test_expiry_terminates_reservations_then_the_package(self) -> None:
        package(self.account, 100, "2025-06-01 00:00:00")
        c = campaign(self.tenant, "Late rollout", 50, "2026-05-01 00:00:00")
        ingest(
            [update(self.tenant, f"u-{i}", f"d-{i}", c, "2026-05-02 00:00:00") for i in range(20)]
        )
        self.assertEqual(remaining_tokens(self.account), 50)

        counts = packages_expire(now=at("2026-06-01 00:00:00"))
        self.assertEqual(counts, {"packages": 1, "campaigns": 1})
        c.refresh_from_db()
        self.assertEqual((c.status, c.updates, c.returned), (CampaignStatus.TERMINATED, 20, 30))
        self.assertEqual(
            ledger_rows(self.account),
            [
                ("package_creation", 100, None),
                ("reservation", -50, "Late rollout"),
                ("reservation_termination", 30, "Late rollout"),
                ("package_termination", -80, None),
            ],
        )
        terminations = QuotaLedgerEntry.objects.filter(
            event_type__in=[
                LedgerEventType.RESERVATION_TERMINATION,
                LedgerEventType.PACKAGE_TERMINATION,
            ]
        )
        self.assertEqual({e.occurred_at for e in terminations}, {at("2026-06-01 00:00:00")})
        self.assertEqual(remaining_tokens(self.account), 0)
        # Running the job again changes nothing.
        self.assertEqual(
            packages_expire(now=at("2026-06-02 00:00:00")), {"packages": 0, "campaigns": 0}
        )
        self.assertEqual(QuotaLedgerEntry.objects.count(), 4)

    def test_a_new_package_after_expiry(self) -> None:
        package(self.account, 100, "2025-01-01 00:00:00", now=at("2025-01-01 00:00:00"))
        # The expiry job has not run: creating the next package terminates the old one first.
        package(self.account, 300, "2026-02-01 00:00:00", now=at("2026-02-01 00:00:00"))
        self.assertEqual(
            ledger_rows(self.account),
            [
                ("package_creation", 100, None),
                ("package_termination", -100, None),
                ("package_creation", 300, None),
            ],
        )
        self.assertEqual(remaining_tokens(self.account), 300)

    def test_summary_warns_three_months_before_expiry(self) -> None:
        package(self.account, 100, "2026-01-15 00:00:00")
        early = quota_summary(self.tenant, now=at("2026-10-14 23:59:59"))
        warned = quota_summary(self.tenant, now=at("2026-10-15 00:00:00"))
        self.assertEqual((early.state, early.warning, early.remaining), ("active", False, 100))
        self.assertEqual((warned.state, warned.warning), ("active", True))
        self.assertEqual(warned.holder, self.account)
        expired = quota_summary(self.account, now=at("2027-01-15 00:00:00"))
        self.assertEqual((expired.state, expired.warning), ("expired", False))


class RefusalTests(BillingTestCase):
    def refused(self, account, devices: int, when: str) -> CampaignRefused:
        with self.assertRaises(CampaignRefused) as caught:
            campaign(account, "Rollout", devices, when)
        return caught.exception

    def test_no_package(self) -> None:
        refusal = self.refused(self.tenant, 1, "2026-02-01 00:00:00")
        self.assertEqual(refusal.message, REFUSED_NO_PACKAGE.format(holder="Alpha Devices"))
        self.assertEqual(refusal.code, "no_package")

    def test_not_started_yet(self) -> None:
        package(self.account, 10, "2026-03-01 00:00:00", now=at("2026-02-01 00:00:00"))
        refusal = self.refused(self.account, 1, "2026-02-15 00:00:00")
        self.assertEqual(refusal.code, "not_started")
        self.assertEqual(
            refusal.message,
            REFUSED_NOT_STARTED.format(holder="Alpha Devices", starts=at("2026-03-01 00:00:00")),
        )

    def test_expired_even_with_tokens_left(self) -> None:
        package(self.account, 10, "2025-01-01 00:00:00", now=at("2025-01-01 00:00:00"))
        refusal = self.refused(self.tenant, 1, "2026-01-01 00:00:00")
        self.assertEqual(refusal.code, "expired")
        self.assertEqual(
            refusal.message,
            REFUSED_EXPIRED.format(holder="Alpha Devices", expires=at("2026-01-01 00:00:00")),
        )

    def test_more_devices_than_the_remaining_quota(self) -> None:
        package(self.account, 10, "2026-01-01 00:00:00")
        campaign(self.account, "First", 7, "2026-02-01 00:00:00")
        refusal = self.refused(self.tenant, 4, "2026-02-02 00:00:00")
        self.assertEqual(refusal.message, REFUSED_QUOTA.format(devices=4, remaining=3))
        self.assertEqual(refusal.code, "not_enough_quota")
        campaign(self.tenant, "Exactly the rest", 3, "2026-02-02 00:00:00")
        self.assertEqual(remaining_tokens(self.account), 0)

    def test_bad_input_is_a_validation_error_and_writes_nothing(self) -> None:
        package(self.account, 10, "2026-01-01 00:00:00")
        for name, devices in [("", 1), ("Rollout", 0), ("Rollout", "5"), ("x" * 201, 1)]:
            with self.subTest(name=name, devices=devices), self.assertRaises(ValidationError):
                campaign_start(actor=None, account=self.account, name=name, devices=devices)
        self.assertEqual(QuotaLedgerEntry.objects.count(), 1)

    def test_tenants_use_the_aggregator_package_and_cannot_have_their_own(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            package(self.tenant, 10, "2026-01-01 00:00:00")
        self.assertIn("uses the service package of Alpha Devices", str(caught.exception))
        package(self.account, 10, "2026-01-01 00:00:00")
        with self.assertRaises(ValidationError):
            package(self.account, 10, "2026-02-01 00:00:00")
        self.assertEqual(ServicePackage.objects.count(), 1)

    def test_the_ledger_refuses_changes_in_the_database(self) -> None:
        package(self.account, 10, "2026-01-01 00:00:00")
        entry = QuotaLedgerEntry.objects.get()
        with self.assertRaises(TypeError):
            entry.save()
        with self.assertRaises(TypeError):
            QuotaLedgerEntry.objects.all().delete()
        from django.db import connection

        for statement in [
            "UPDATE quotas_quotaledgerentry SET tokens = 1000",
            "DELETE FROM quotas_quotaledgerentry",
        ]:
            with (
                self.subTest(statement=statement),
                self.assertRaises(DatabaseError),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(statement)
        self.assertEqual(remaining_tokens(self.account), 10)
