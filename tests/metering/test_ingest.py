"""Usage ingest through POST /api/v1/events and the service behind it."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.api_errors import ERR_BODY_TOO_LARGE
from accounts.models import ApiKeyRole
from metering.models import UsageEvent
from metering.services.ingest import CONFLICT_DETAIL, ERR_ACCOUNT_REQUIRED, ERR_LICENSE, MAX_BATCH
from metering.validation import ERR_DURATION, ERR_FUTURE, ERR_REQUIRED, ERR_TIME, ERR_TYPE
from tests.base import BillingTestCase
from tests.factories import LicenseFactory

URL = reverse("api-events")


def session(license_uuid: object, event_id: str = "s-1", **overrides: object) -> dict:
    event = {
        "event_id": event_id,
        "type": "machine_session",
        "license": str(license_uuid),
        "start": "2026-05-01T12:00:00Z",
        "duration_seconds": 5400,
        "machine_id": "i-0abc",
        "machine_type": "c5.xlarge",
        "region": "us-east",
        "pool": "render",
        "license_type": "standard",
    }
    event.update(overrides)
    return event


class IngestApiTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.license = LicenseFactory(account=cls.account)
        cls.tenant_license = LicenseFactory(account=cls.tenant)
        cls.outsider_license = LicenseFactory(account=cls.outsider_account)

    def setUp(self) -> None:
        _, self.ingest_key = self.make_key(ApiKeyRole.INGEST, self.account)

    def post(self, events: object, key: str | None = None) -> object:
        return self.api("post", URL, key or self.ingest_key, {"events": events})

    def test_accepts_a_session_and_stores_it_normalised(self) -> None:
        response = self.post([session(self.license.uuid, start="2026-05-01T14:00:00+02:00")])
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.json(), {"accepted": 1, "duplicates": 0, "conflicts": [], "rejected": []}
        )
        event = UsageEvent.objects.get()
        self.assertEqual(event.account_id, self.account.id)
        self.assertEqual(event.license_id, self.license.id)
        self.assertEqual(event.occurred_at, datetime(2026, 5, 1, 12, tzinfo=UTC))
        self.assertEqual(event.duration_seconds, 5400)

    def test_tenant_license_is_accepted_from_the_aggregator_key(self) -> None:
        response = self.post([session(self.tenant_license.uuid)])
        self.assertEqual(response.json()["accepted"], 1)
        self.assertEqual(UsageEvent.objects.get().account_id, self.tenant.id)

    def test_resending_is_a_duplicate_and_changes_nothing(self) -> None:
        self.post([session(self.license.uuid)])
        before = list(UsageEvent.objects.values())
        # Same content, written another way (offset instead of Z): still the same event.
        response = self.post([session(self.license.uuid, start="2026-05-01T12:00:00+00:00")])
        self.assertEqual(response.json()["duplicates"], 1)
        self.assertEqual(response.json()["accepted"], 0)
        self.assertEqual(list(UsageEvent.objects.values()), before)

    def test_same_id_other_content_is_a_conflict_and_the_stored_event_stays(self) -> None:
        self.post([session(self.license.uuid)])
        response = self.post([session(self.license.uuid, duration_seconds=60)])
        self.assertEqual(
            response.json()["conflicts"],
            [{"index": 0, "event_id": "s-1", "detail": CONFLICT_DETAIL}],
        )
        self.assertEqual(UsageEvent.objects.get().duration_seconds, 5400)

    def test_duplicates_and_conflicts_inside_one_batch(self) -> None:
        events = [
            session(self.license.uuid, "a"),
            session(self.license.uuid, "a"),
            session(self.license.uuid, "a", pool="other"),
            session(self.license.uuid, "b"),
        ]
        body = self.post(events).json()
        self.assertEqual((body["accepted"], body["duplicates"]), (2, 1))
        self.assertEqual([c["index"] for c in body["conflicts"]], [2])
        self.assertEqual(UsageEvent.objects.get(event_id="a").pool, "render")

    def test_mixed_batch_keeps_good_events_and_explains_each_rejection(self) -> None:
        future = (datetime.now(UTC) + timedelta(minutes=6)).isoformat()
        events = [
            session(self.license.uuid, "ok"),
            session(self.license.uuid, "future", start=future),
            session(self.license.uuid, "negative", duration_seconds=-1),
            session(self.outsider_license.uuid, "outsider"),
            session(self.license.uuid, "naive", start="2026-05-01T12:00:00"),
            {"event_id": "x", "type": "teleport"},
            {"type": "machine_session"},
            "not an object",
        ]
        body = self.post(events).json()
        self.assertEqual(body["accepted"], 1)
        rejected = {r["index"]: r for r in body["rejected"]}
        self.assertEqual(sorted(rejected), [1, 2, 3, 4, 5, 6, 7])
        self.assertEqual(rejected[1]["errors"], {"start": [ERR_FUTURE]})
        self.assertEqual(
            rejected[2]["errors"], {"duration_seconds": [ERR_DURATION.format(max=31 * 86400)]}
        )
        self.assertEqual(rejected[3]["errors"], {"license": [ERR_LICENSE]})
        self.assertEqual(rejected[4]["errors"], {"start": [ERR_TIME]})
        self.assertEqual(rejected[5]["errors"], {"type": [ERR_TYPE]})
        self.assertIn(ERR_REQUIRED, rejected[6]["errors"]["event_id"])
        self.assertEqual(rejected[3]["event_id"], "outsider")
        self.assertEqual(UsageEvent.objects.count(), 1)

    def test_malformed_bodies_are_400s(self) -> None:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.ingest_key}"}
        raw = self.client.post(URL, data="{not json", content_type="application/json", **headers)
        self.assertEqual(raw.status_code, 400)
        self.assertEqual(self.api("post", URL, self.ingest_key, {"event": []}).status_code, 400)
        self.assertEqual(self.api("post", URL, self.ingest_key, [1, 2]).status_code, 400)
        too_many = self.post([{}] * (MAX_BATCH + 1))
        self.assertEqual(too_many.status_code, 400)
        self.assertEqual(UsageEvent.objects.count(), 0)

    def test_the_documented_maximum_batch_fits(self) -> None:
        events = [session(self.license.uuid, f"session-{n:05d}") for n in range(MAX_BATCH)]
        body = json.dumps({"events": events})
        # Over what Django lets every other endpoint receive.
        self.assertGreater(len(body), settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        response = self.client.post(
            URL,
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.ingest_key}",
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["accepted"], MAX_BATCH)
        self.assertEqual(UsageEvent.objects.count(), MAX_BATCH)

    def test_a_body_over_the_ingest_limit_is_a_json_413(self) -> None:
        limit = settings.INGEST_MAX_BODY_SIZE
        self.assertEqual(limit, 8 * 2**20)
        events = json.dumps({"events": [session(self.license.uuid)]})
        response = self.client.post(
            URL,
            data=events + " " * (limit + 1 - len(events)),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.ingest_key}",
        )
        self.assertEqual(response.status_code, 413)
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertEqual(response.json(), {"detail": ERR_BODY_TOO_LARGE.format(limit=limit)})
        self.assertEqual(UsageEvent.objects.count(), 0)

    def test_a_body_at_the_ingest_limit_is_read(self) -> None:
        events = json.dumps({"events": [session(self.license.uuid)]})
        response = self.client.post(
            URL,
            data=events + " " * (settings.INGEST_MAX_BODY_SIZE - len(events)),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.ingest_key}",
        )
        self.assertEqual(response.json()["accepted"], 1)

    def test_who_may_send(self) -> None:
        events = [session(self.license.uuid)]
        self.assertEqual(self.api("post", URL, None, {"events": events}).status_code, 401)
        _, read_key = self.make_key(ApiKeyRole.READ, self.account)
        self.assertEqual(self.post(events, read_key).status_code, 403)
        _, finance_key = self.make_key(ApiKeyRole.FINANCE, self.account)
        self.assertEqual(self.post(events, finance_key).json()["accepted"], 1)

    def test_device_events_take_the_key_account_or_a_visible_one(self) -> None:
        events = [
            {
                "event_id": "c-1",
                "type": "device_connection",
                "device_id": "dev-1",
                "endpoint_name": "ep-1",
                "timestamp": "2026-05-02T00:00:00Z",
            },
            {
                "event_id": "c-2",
                "type": "api_call",
                "category": "device_to_service",
                "event": "notification",
                "count": 3,
                "timestamp": "2026-05-02T00:00:00Z",
                "account": str(self.tenant.uuid),
            },
            {
                "event_id": "c-3",
                "type": "api_call",
                "category": "integration",
                "event": "/v3/devices",
                "count": 1,
                "timestamp": "2026-05-02T00:00:00Z",
                "account": str(self.outsider_account.uuid),
            },
        ]
        body = self.post(events).json()
        self.assertEqual(body["accepted"], 2)
        self.assertEqual([r["index"] for r in body["rejected"]], [2])
        stored = dict(UsageEvent.objects.values_list("event_id", "account_id"))
        self.assertEqual(stored, {"c-1": self.account.id, "c-2": self.tenant.id})

    def test_admin_key_must_name_the_account_of_device_events(self) -> None:
        _, admin_key = self.make_key(ApiKeyRole.ADMIN)
        event = {
            "event_id": "c-1",
            "type": "device_connection",
            "device_id": "dev-1",
            "endpoint_name": "ep-1",
            "timestamp": "2026-05-02T00:00:00Z",
        }
        body = self.post([event], admin_key).json()
        self.assertEqual(body["rejected"][0]["errors"], {"account": [ERR_ACCOUNT_REQUIRED]})
        body = self.post([{**event, "account": str(self.outsider_account.uuid)}], admin_key).json()
        self.assertEqual(body["accepted"], 1)


class IngestCommandTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.license = LicenseFactory(account=cls.account)

    def write(self, name: str, text: str) -> Path:
        path = Path(self.tmp) / name
        path.write_text(text)
        return path

    def setUp(self) -> None:
        import tempfile

        self.tmp = tempfile.mkdtemp()

    def test_jsonl_then_again_is_all_duplicates(self) -> None:
        lines = "\n".join(json.dumps(session(self.license.uuid, f"s-{i}")) for i in range(25))
        path = self.write("events.jsonl", lines + "\n")
        call_command("ingest_events", str(path), "--batch-size", "10", "--no-progress")
        self.assertEqual(UsageEvent.objects.count(), 25)
        call_command("ingest_events", str(path), "--no-progress")
        self.assertEqual(UsageEvent.objects.count(), 25)

    def test_csv_with_a_bad_row_stores_the_rest_and_exits_non_zero(self) -> None:
        header = (
            "event_id,type,license,start,duration_seconds,"
            "machine_id,machine_type,region,pool,license_type"
        )
        good = f"s-1,machine_session,{self.license.uuid},2026-05-01T12:00:00Z,60,m,c5,us,p,std"
        bad = f"s-2,machine_session,{self.license.uuid},yesterday,60,m,c5,us,p,std"
        path = self.write("events.csv", f"{header}\n{good}\n{bad}\n")
        with self.assertRaisesMessage(CommandError, "1 events were rejected"):
            call_command("ingest_events", str(path), "--no-progress")
        self.assertEqual(list(UsageEvent.objects.values_list("event_id", flat=True)), ["s-1"])
        self.assertEqual(UsageEvent.objects.get().duration_seconds, 60)

    def test_unreadable_json_line_is_rejected_not_fatal(self) -> None:
        path = self.write("e.jsonl", json.dumps(session(self.license.uuid)) + "\n{oops\n")
        with self.assertRaises(CommandError):
            call_command("ingest_events", str(path), "--no-progress")
        self.assertEqual(UsageEvent.objects.count(), 1)
