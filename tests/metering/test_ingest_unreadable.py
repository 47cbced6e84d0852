"""Input Python cannot read as it stands never stops ingest: JSON nested thousands deep, numbers
of thousands of digits, bytes that are not UTF-8. A request gets a JSON 400; a file line or
event a rejection with its message, whether the file is read in one process or in workers; the
rest is stored."""

import io
import json
import tempfile
from pathlib import Path
from unittest import mock

from django.core.management import CommandError, call_command
from django.test import TransactionTestCase

from accounts.parsers import ERR_JSON_TOO_DEEP
from accounts.scoping import SYSTEM
from metering.models import UsageEvent
from metering.readers import ERR_LINE_NUMBER_TOO_LONG, ERR_LINE_TOO_DEEP
from metering.services import bulk
from metering.validation import ERR_DURATION, ERR_UNICODE
from tests.factories import AccountFactory, LicenseFactory
from tests.metering.paths import CSV, JSONL, URL, IngestPathsTestCase, device_event, session

DEEP = 5_000
SURROGATE = "a\ud800b"
MACHINE_SESSION_TEXT = ("event_id", "machine_id", "machine_type", "region", "pool", "license_type")


class UnreadableInputTests(IngestPathsTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.license = LicenseFactory(account=cls.account)

    def test_a_request_nested_too_deeply_is_a_json_400(self) -> None:
        for body in (
            "[" * DEEP + "]" * DEEP,
            '{"events": [' + "{" + '"a":{' * DEEP + "}" * DEEP + "}]}",
        ):
            with self.subTest(body=body[:20]):
                response = self.client.post(
                    URL,
                    data=body,
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {self.key}",
                )
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json(), {"detail": ERR_JSON_TOO_DEEP})
        self.assertEqual(UsageEvent.objects.count(), 0)

    def test_a_file_line_nested_too_deeply_or_with_a_huge_number_is_rejected(self) -> None:
        good = json.dumps(session(self.license, event_id="good"))
        huge = good.replace('"duration_seconds": 5400', '"duration_seconds": ' + "9" * 5_000)
        path = self.dir / "hostile.jsonl"
        path.write_text("\n".join([good, "[" * DEEP + "]" * DEEP, huge]) + "\n")
        result, count = bulk.events_file_ingest(path=path, fmt=JSONL, actor=SYSTEM)
        self.assertEqual((count, result.accepted), (3, 1))
        self.assertEqual(
            result.rejected,
            [
                {
                    "index": 1,
                    "event_id": None,
                    "errors": {"non_field_errors": [ERR_LINE_TOO_DEEP.format(number=2)]},
                },
                {
                    "index": 2,
                    "event_id": None,
                    "errors": {"non_field_errors": [ERR_LINE_NUMBER_TOO_LONG.format(number=3)]},
                },
            ],
        )

    def test_a_csv_cell_with_a_huge_number_is_refused(self) -> None:
        self.assert_refused(
            session(self.license, duration_seconds="9" * 5_000),
            {"duration_seconds": [ERR_DURATION.format(max=31 * 86400)]},
            (CSV,),
        )

    def test_the_command_reports_hostile_lines_and_exits_1(self) -> None:
        lines = [
            json.dumps(session(self.license, event_id="good")),
            json.dumps(session(self.license, event_id=SURROGATE)),
            json.dumps(device_event(self.account, "api_call", type=["api_call"])),
            "[" * DEEP + "]" * DEEP,
        ]
        path = self.dir / "hostile.jsonl"
        path.write_text("\n".join(lines) + "\n")
        with self.assertRaisesMessage(CommandError, "3 events were rejected"):
            call_command("ingest_events", str(path), "--no-progress", stdout=io.StringIO())
        self.assertEqual(list(UsageEvent.objects.values_list("event_id", flat=True)), ["good"])

    def test_bytes_that_are_not_utf8_in_a_file_are_refused_like_a_surrogate(self) -> None:
        # Written with surrogatepass, a lone surrogate becomes three bytes no UTF-8 reader takes.
        for field in MACHINE_SESSION_TEXT:
            self.assert_refused(
                session(self.license, **{field: SURROGATE}), {field: [ERR_UNICODE]}, (CSV,)
            )
        path = self.dir / "latin1.jsonl"
        good = json.dumps(session(self.license, event_id="good"))
        path.write_bytes(good.encode() + b"\n" + good.replace("good", "caf\xe9").encode("latin-1"))
        result, count = bulk.events_file_ingest(path=path, fmt=JSONL, actor=SYSTEM)
        self.assertEqual((count, result.accepted), (2, 1))
        self.assertEqual(
            result.rejected, [{"index": 1, "event_id": None, "errors": {"event_id": [ERR_UNICODE]}}]
        )


@mock.patch.object(bulk, "PARALLEL_MIN_BYTES", 0)
class HostileFilesInWorkersTests(TransactionTestCase):
    """A large file is read in worker processes, block by block: the same outcome."""

    def test_bad_bytes_deep_nesting_and_huge_numbers(self) -> None:
        license = LicenseFactory(account=AccountFactory())
        raw = [json.dumps(session(license, event_id=f"e-{n}")).encode() for n in range(9)]
        raw[2] = raw[2].replace(b'"machine_id": "i-0abc"', b'"machine_id": "caf\xe9"')
        raw[4] = b"[" * DEEP + b"]" * DEEP
        raw[6] = raw[6].replace(b'"duration_seconds": 5400', b'"duration_seconds": ' + b"9" * 5_000)
        path = Path(tempfile.mkdtemp()) / "hostile.jsonl"
        path.write_bytes(b"\n".join(raw) + b"\n")
        self.assertGreater(len(bulk._plan(path, JSONL, 2).blocks), 2)
        with mock.patch.object(bulk, "_ingest_in_process", side_effect=AssertionError):
            result, count = bulk.events_file_ingest(
                path=path, fmt=JSONL, actor=SYSTEM, batch_size=2, workers=2
            )
        self.assertEqual((count, result.accepted), (9, 6))
        self.assertEqual(
            [(r["index"], r["errors"]) for r in result.rejected],
            [
                (2, {"machine_id": [ERR_UNICODE]}),
                (4, {"non_field_errors": [ERR_LINE_TOO_DEEP.format(number=5)]}),
                (6, {"non_field_errors": [ERR_LINE_NUMBER_TOO_LONG.format(number=7)]}),
            ],
        )
