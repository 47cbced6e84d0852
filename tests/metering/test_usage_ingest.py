"""`usage` events through every way in: the API's answer, files, and what is refused."""

import tempfile
from pathlib import Path

from django.core.management import call_command

from metering.models import UsageEvent
from metering.services.ingest import ERR_CLIENT
from metering.validation import ERR_DECIMAL, ERR_WINDOW_LONG, ERR_WINDOW_OR_POINT, ERR_WINDOW_ORDER
from tests.base import BillingTestCase

URL = "/api/v1/events"


def usage(event_id: str = "u-1", **fields: object) -> dict:
    return {
        "event_id": event_id,
        "type": "usage",
        "meter": "cpu_hours",
        "quantity": "2.5",
        "start": "2026-05-01T10:00:00Z",
        "end": "2026-05-01T11:00:00Z",
        "asset": "vm-1",
        **fields,
    }


class UsageIngestApiTests(BillingTestCase):
    def setUp(self) -> None:
        _, self.key = self.make_key("ingest", self.account)

    def post(self, events: list[dict]) -> dict:
        response = self.api("post", URL, self.key, {"events": events})
        self.assertEqual(response.status_code, 200, response.content)
        return response.json()

    def test_a_window_and_a_point_are_stored_with_six_decimal_quantities(self) -> None:
        body = self.post(
            [
                usage(subscription="sub-1", region="west", service="vm", source="azure_stack"),
                usage("u-2", quantity=0.1, start=None, end=None, timestamp="2026-05-01T10:00:00Z"),
            ]
        )
        self.assertEqual(body["accepted"], 2)
        window, point = UsageEvent.objects.order_by("event_id")
        self.assertEqual((str(window.quantity), window.subscription), ("2.500000", "sub-1"))
        self.assertEqual((window.account, window.ends_at.hour), (self.account, 11))
        self.assertEqual((str(point.quantity), point.ends_at), ("0.100000", None))

    def test_the_same_amount_written_otherwise_is_a_duplicate_other_content_a_conflict(
        self,
    ) -> None:
        self.post([usage(quantity="2.5")])
        body = self.post([usage(quantity=2.5), usage(quantity="2.50")])
        self.assertEqual(body["duplicates"], 2)
        body = self.post([usage(quantity="3")])
        self.assertEqual(len(body["conflicts"]), 1)

    def test_bad_values_are_refused_with_a_message_per_field(self) -> None:
        cases = [
            ({"quantity": "-1"}, "quantity", ERR_DECIMAL),
            ({"quantity": "1.0000001"}, "quantity", ERR_DECIMAL),
            ({"quantity": "1e3"}, "quantity", ERR_DECIMAL),
            ({"quantity": True}, "quantity", ERR_DECIMAL),
            ({"cost": "abc"}, "cost", ERR_DECIMAL),
            ({"end": "2026-05-01T09:00:00Z"}, "end", ERR_WINDOW_ORDER),
            ({"end": "2026-06-05T10:00:00Z"}, "end", ERR_WINDOW_LONG.format(days=31)),
            ({"timestamp": "2026-05-01T10:00:00Z"}, "timestamp", ERR_WINDOW_OR_POINT),
            ({"asset": "x" * 201}, "asset", "Must be a non-empty string of at most 200"),
            ({"meter": None}, "meter", "This field is required."),
        ]
        for change, field, message in cases:
            with self.subTest(change=change):
                body = self.post([usage(**change)])
                self.assertEqual(body["accepted"], 0)
                self.assertIn(message, " ".join(body["rejected"][0]["errors"][field]))
        self.assertFalse(UsageEvent.objects.exists())

    def test_a_client_the_key_may_not_see_is_refused_like_an_unknown_one(self) -> None:
        for client in (str(self.outsider_account.uuid), "00000000-0000-0000-0000-000000000000"):
            with self.subTest(client=client):
                body = self.post([usage(client=client)])
                self.assertEqual(body["rejected"][0]["errors"], {"client": [ERR_CLIENT]})
        body = self.post([usage(client=str(self.tenant.uuid))])
        self.assertEqual(body["accepted"], 1)


class UsageFileIngestTests(BillingTestCase):
    def test_a_csv_file_of_usage_is_stored_and_again_adds_nothing(self) -> None:
        folder = Path(tempfile.mkdtemp())
        path = folder / "usage.csv"
        path.write_text(
            "event_id,type,account,meter,quantity,timestamp,asset,subscription\n"
            f"f-1,usage,{self.tenant.uuid},storage_gb,120.5,2026-05-01T00:00:00Z,disk-1,sub-1\n"
            f"f-2,usage,{self.tenant.uuid},storage_gb,7,2026-05-02T00:00:00Z,disk-1,\n"
        )
        call_command("ingest_events", str(path), "--no-progress")
        call_command("ingest_events", str(path), "--no-progress")
        stored = UsageEvent.objects.order_by("event_id").values_list(
            "event_id", "quantity", "subscription"
        )
        self.assertEqual(
            [(e, str(q), s) for e, q, s in stored],
            [("f-1", "120.500000", "sub-1"), ("f-2", "7.000000", "")],
        )
