"""Device usage: active devices per UTC month (across month boundaries and repeats), firmware
updates against their campaign's reservation, API calls, and the live rollups."""

from datetime import date

from accounts.models import ApiKeyRole
from metering.models import DailyUsage, DeviceMonth, RollupCursor, UsageEvent
from metering.months import Month
from metering.selectors import active_devices, live_usage, transactions_in_window
from metering.services.ingest import ERR_CAMPAIGN
from metering.services.rollups import usage_rollup
from quotas.services.campaigns import UPDATE_FINISHED, UPDATE_USED_UP, campaign_finish
from tests.base import BillingTestCase
from tests.quotas.factories import at, call, campaign, connection, ingest, package, update

APRIL, MAY = Month(2026, 4), Month(2026, 5)


class ActiveDeviceTests(BillingTestCase):
    def test_a_device_counts_once_per_month_however_often_it_connects(self) -> None:
        ingest(
            [
                connection(self.account, "c1", "d-1", "2026-04-01 00:00:00"),
                connection(self.account, "c2", "d-1", "2026-04-15 12:00:00"),
                connection(self.account, "c3", "d-1", "2026-04-30 23:59:59"),
                connection(self.account, "c4", "d-2", "2026-04-30 23:59:59.999999"),
                # The first instant of May belongs to May.
                connection(self.account, "c5", "d-2", "2026-05-01 00:00:00"),
                connection(self.account, "c6", "d-3", "2026-05-31 23:00:00"),
                # The day before April starts belongs to March.
                connection(self.account, "c7", "d-4", "2026-03-31 23:59:59"),
            ]
        )
        april = live_usage([self.account.pk], APRIL)[self.account.pk]
        may = live_usage([self.account.pk], MAY)[self.account.pk]
        self.assertEqual((april.active_devices, may.active_devices), (2, 2))
        rows = {
            (r.device_id, str(r.month)): (r.connections, r.first_seen_at, r.last_seen_at)
            for r in DeviceMonth.objects.all()
        }
        self.assertEqual(
            rows,
            {
                ("d-1", "2026-04-01"): (3, at("2026-04-01 00:00:00"), at("2026-04-30 23:59:59")),
                ("d-2", "2026-04-01"): (
                    1,
                    at("2026-04-30 23:59:59.999999"),
                    at("2026-04-30 23:59:59.999999"),
                ),
                ("d-2", "2026-05-01"): (1, at("2026-05-01 00:00:00"), at("2026-05-01 00:00:00")),
                ("d-3", "2026-05-01"): (1, at("2026-05-31 23:00:00"), at("2026-05-31 23:00:00")),
                ("d-4", "2026-03-01"): (1, at("2026-03-31 23:59:59"), at("2026-03-31 23:59:59")),
            },
        )

    def test_same_device_id_in_two_accounts_is_two_devices(self) -> None:
        ingest(
            [
                connection(self.account, "c1", "d-1", "2026-04-01 00:00:00"),
                connection(self.tenant, "c1", "d-1", "2026-04-01 00:00:00"),
            ]
        )
        usage = live_usage([self.account.pk, self.tenant.pk], APRIL)
        self.assertEqual(usage[self.account.pk].active_devices, 1)
        self.assertEqual(usage[self.tenant.pk].active_devices, 1)

    def test_rollup_in_batches_with_late_events_and_reruns_equals_one_pass(self) -> None:
        # Events arrive out of order over three batches; the endpoint of the first connection
        # wins even when it arrives last.
        ingest([connection(self.account, "c1", "d-1", "2026-04-10 00:00:00", "ep-new")])
        ingest([connection(self.account, "c2", "d-1", "2026-04-20 00:00:00", "ep-new")])
        ingest([connection(self.account, "c3", "d-1", "2026-04-02 00:00:00", "ep-old")])
        row = DeviceMonth.objects.get()
        self.assertEqual(
            (row.endpoint_name, row.first_seen_at, row.last_seen_at, row.connections),
            ("ep-old", at("2026-04-02 00:00:00"), at("2026-04-20 00:00:00"), 3),
        )
        # Nothing new: a rerun changes nothing.
        self.assertEqual(usage_rollup(), {"events": 0, "device_rows": 0, "daily_rows": 0})
        self.assertEqual(DeviceMonth.objects.get().connections, 3)
        self.assertEqual(
            RollupCursor.objects.get().last_event_id, UsageEvent.objects.order_by("-id")[0].id
        )

    def test_rollup_chunks_count_each_event_once(self) -> None:
        ingest(
            [
                connection(self.account, f"c{i}", f"d-{i % 3}", f"2026-04-{1 + i:02d} 00:00:00")
                for i in range(10)
            ],
            rollup=False,
        )
        counts = usage_rollup(chunk=3)
        self.assertEqual(counts["events"], 10)
        self.assertEqual(
            sorted(DeviceMonth.objects.values_list("device_id", "connections")),
            [("d-0", 4), ("d-1", 3), ("d-2", 3)],
        )

    def test_api_calls_and_transactions_in_the_past_30_days(self) -> None:
        ingest(
            [
                call(
                    self.account,
                    "a1",
                    "device_to_service",
                    "notification",
                    5,
                    "2026-04-01 00:00:00",
                ),
                call(
                    self.account,
                    "a2",
                    "device_to_service",
                    "notification",
                    7,
                    "2026-04-02 00:00:00",
                ),
                call(
                    self.account,
                    "a3",
                    "service_to_device",
                    "device_message_out",
                    2,
                    "2026-04-30 10:00:00",
                ),
                call(self.account, "a4", "integration", "/v3/devices", 11, "2026-05-01 00:00:00"),
                call(self.tenant, "a5", "integration", "/v3/devices", 100, "2026-04-15 00:00:00"),
            ]
        )
        april = live_usage([self.account.pk], APRIL)[self.account.pk]
        self.assertEqual(
            april.api_calls_document(),
            {
                "device_to_service": {"total": 12, "events": {"notification": 12}},
                "service_to_device": {"total": 2, "events": {"device_message_out": 2}},
                "integration": {"total": 0, "events": {}},
            },
        )
        self.assertEqual(DailyUsage.objects.filter(account=self.account).count(), 4)
        # 30 days up to 30 April: 1 April .. 30 April; up to 1 May: 2 April .. 1 May.
        self.assertEqual(transactions_in_window([self.account.pk], date(2026, 4, 30)), 14)
        self.assertEqual(transactions_in_window([self.account.pk], date(2026, 5, 1)), 20)

    def test_active_devices_list(self) -> None:
        ingest(
            [
                connection(self.account, "c1", "d-b", "2026-04-03 00:00:00"),
                connection(self.tenant, "c2", "d-a", "2026-04-04 00:00:00"),
                connection(self.outsider_account, "c3", "d-x", "2026-04-04 00:00:00"),
            ]
        )
        listed = active_devices([self.account.pk, self.tenant.pk], APRIL).order_by("device_id")
        self.assertEqual([d.device_id for d in listed], ["d-a", "d-b"])


class FirmwareUpdateIngestTests(BillingTestCase):
    def setUp(self) -> None:
        package(self.account, 100, "2026-01-01 00:00:00")
        self.campaign = campaign(self.tenant, "Rollout", 3, "2026-04-01 00:00:00")

    def test_updates_spend_the_reservation_and_the_rest_are_refused(self) -> None:
        events = [
            update(self.tenant, f"u{i}", f"d-{i}", self.campaign, "2026-04-02 00:00:00")
            for i in range(5)
        ]
        result = ingest(events)
        self.assertEqual(result.accepted, 3)
        self.assertEqual(
            [(r["index"], r["errors"]) for r in result.rejected],
            [
                (3, {"campaign": [UPDATE_USED_UP.format(devices=3)]}),
                (4, {"campaign": [UPDATE_USED_UP.format(devices=3)]}),
            ],
        )
        # Re-sending an accepted update is a duplicate, not a refusal.
        again = ingest(events[:1])
        self.assertEqual((again.accepted, again.duplicates, again.rejected), (0, 1, []))
        self.assertEqual(live_usage([self.tenant.pk], APRIL)[self.tenant.pk].firmware_updates, 3)

    def test_updates_dated_outside_the_campaign_or_after_it_finished(self) -> None:
        early = ingest([update(self.tenant, "u0", "d-0", self.campaign, "2026-03-31 23:59:59")])
        self.assertEqual(list(early.rejected[0]["errors"]), ["timestamp"])
        campaign_finish(actor=None, campaign=self.campaign, now=at("2026-04-05 00:00:00"))
        late = ingest([update(self.tenant, "u1", "d-1", self.campaign, "2026-04-03 00:00:00")])
        self.assertEqual(
            late.rejected[0]["errors"],
            {"campaign": [UPDATE_FINISHED.format(ended=at("2026-04-05 00:00:00"))]},
        )
        self.assertEqual(UsageEvent.objects.count(), 0)

    def test_a_signed_in_outsider_cannot_spend_another_accounts_reservation(self) -> None:
        event = update(self.tenant, "u1", "d-1", self.campaign, "2026-04-02 00:00:00")
        del event["account"]
        self.login(self.outsider)
        body = self.api("post", "/api/v1/events", None, {"events": [event]}).json()
        self.assertEqual(body["rejected"][0]["errors"], {"campaign": [ERR_CAMPAIGN]})
        self.assertEqual(UsageEvent.objects.count(), 0)
        # The aggregator's owner sees the tenant, so the same event is recorded for the tenant.
        self.login(self.owner)
        body = self.api("post", "/api/v1/events", None, {"events": [event]}).json()
        self.assertEqual(body["accepted"], 1)
        self.assertEqual(UsageEvent.objects.get().account_id, self.tenant.id)

    def test_a_campaign_of_another_account_is_unknown(self) -> None:
        _, key = self.make_key(ApiKeyRole.INGEST, self.outsider_account)
        event = update(self.tenant, "u1", "d-1", self.campaign, "2026-04-02 00:00:00")
        del event["account"]
        body = self.api("post", "/api/v1/events", key, {"events": [event]}).json()
        self.assertEqual(body["rejected"][0]["errors"], {"campaign": [ERR_CAMPAIGN]})
