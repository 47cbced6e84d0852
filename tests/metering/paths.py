"""One event through each way in: POST /api/v1/events, a JSON Lines file and a CSV file. Limits
and refusals must be the same on all three, so tests send the same event down each."""

import csv
import json
import tempfile
from pathlib import Path
from typing import Any

from django.urls import reverse

from accounts.models import ApiKeyRole
from accounts.scoping import SYSTEM
from metering.services.bulk import events_file_ingest
from tests.base import BillingTestCase

URL = reverse("api-events")
API, JSONL, CSV = "api", "jsonl", "csv"
# CSV cells are text, so events holding lists, objects or booleans travel only as JSON.
EVERY_PATH = (API, JSONL, CSV)
JSON_PATHS = (API, JSONL)


def session(license: Any, /, **overrides: Any) -> dict[str, Any]:
    return {
        "event_id": "s-1",
        "type": "machine_session",
        "license": str(license.uuid),
        "start": "2026-05-01T12:00:00Z",
        "duration_seconds": 5400,
        "machine_id": "i-0abc",
        "machine_type": "c5.xlarge",
        "region": "us-east",
        "pool": "render",
        "license_type": "standard",
        **overrides,
    }


def device_event(account: Any, event_type: str, /, **overrides: Any) -> dict[str, Any]:
    """A device connection, firmware update or API call that names its account (files are
    ingested for every account)."""
    fields: dict[str, Any] = {
        "device_connection": {"device_id": "dev-1", "endpoint_name": "ep-1"},
        "firmware_update": {
            "device_id": "dev-1",
            "endpoint_name": "ep-1",
            "campaign": "7d0b6e1e-8f5f-4a8e-9d8f-3f3c2a1b0c9d",
        },
        "api_call": {"category": "device_to_service", "event": "notification", "count": 3},
    }[event_type]
    return {
        "event_id": "d-1",
        "type": event_type,
        "account": str(account.uuid),
        "timestamp": "2026-05-01T12:00:00Z",
        **fields,
        **overrides,
    }


class IngestPathsTestCase(BillingTestCase):
    def setUp(self) -> None:
        _, self.key = self.make_key(ApiKeyRole.INGEST, self.account)
        self.dir = Path(tempfile.mkdtemp())

    def send(self, event: Any, path: str) -> dict[str, Any]:
        """The ingest answer for one event sent down `path`."""
        if path == API:
            response = self.api("post", URL, self.key, {"events": [event]})
            self.assertEqual(response.status_code, 200)
            return response.json()
        file = self.dir / f"events.{path}"
        if path == JSONL:
            file.write_text(json.dumps(event) + "\n", encoding="utf-8", errors="surrogatepass")
        else:
            with file.open("w", newline="", encoding="utf-8", errors="surrogatepass") as stream:
                writer = csv.writer(stream)
                writer.writerow(event)
                writer.writerow(event.values())
        result, _ = events_file_ingest(path=file, fmt=path, actor=SYSTEM)
        return result.as_dict()

    def errors(self, event: Any, path: str) -> dict[str, list[str]]:
        """The field messages of an event that must be refused."""
        answer = self.send(event, path)
        self.assertEqual((answer["accepted"], len(answer["rejected"])), (0, 1), answer)
        return answer["rejected"][0]["errors"]

    def assert_refused(
        self, event: Any, errors: dict[str, list[str]], paths: tuple[str, ...] = EVERY_PATH
    ) -> None:
        for path in paths:
            with self.subTest(path=path, event=event):
                self.assertEqual(self.errors(event, path), errors)

    def assert_accepted(self, event: dict[str, Any], paths: tuple[str, ...] = EVERY_PATH) -> None:
        for path in paths:
            with self.subTest(path=path, event=event):
                answer = self.send({**event, "event_id": f"{path}-{event['event_id']}"}, path)
                self.assertEqual(
                    answer, {"accepted": 1, "duplicates": 0, "conflicts": [], "rejected": []}
                )
