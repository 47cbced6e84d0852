"""Bulk ingest of a file in worker processes: the same outcome as reading it in one process,
whatever block each event lands in, and a clear stop when a worker fails."""

import json
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

from django.core.management import CommandError, call_command
from django.test import TransactionTestCase

from accounts.scoping import SYSTEM
from metering.models import UsageEvent
from metering.services import bulk
from metering.services.ingest import CONFLICT_DETAIL, IngestResult
from metering.validation import ERR_DURATION
from tests.factories import AccountFactory, LicenseFactory

HEADER = (
    "event_id,type,license,start,duration_seconds,machine_id,machine_type,region,pool,license_type"
)


def event(license: Any, event_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "machine_session",
        "license": str(license.uuid),
        "start": "2026-05-01T12:00:00Z",
        "duration_seconds": 60,
        "machine_id": "m-1",
        "machine_type": "c5.xlarge",
        "region": "us-east",
        "pool": "render",
        "license_type": "standard",
        **overrides,
    }


def csv_line(e: dict[str, Any]) -> str:
    return ",".join(str(e[name]) for name in HEADER.split(","))


# Every file is cut into blocks of a few lines, so a handful of events spans many blocks.
@mock.patch.object(bulk, "PARALLEL_MIN_BYTES", 0)
class WorkersTests(TransactionTestCase):
    def setUp(self) -> None:
        self.license = LicenseFactory(account=AccountFactory())
        self.dir = Path(tempfile.mkdtemp())

    def write(self, name: str, lines: list[str]) -> Path:
        path = self.dir / name
        path.write_text("".join(f"{line}\n" for line in lines))
        return path

    def ingest(self, path: Path, fmt: str, workers: int) -> tuple[IngestResult, int]:
        return bulk.events_file_ingest(
            path=path, fmt=fmt, actor=SYSTEM, batch_size=3, workers=workers
        )

    def stored(self) -> list[tuple]:
        return sorted(UsageEvent.objects.values_list("event_id", "duration_seconds", "machine_id"))

    def events(self) -> list[dict[str, Any]]:
        """Repeats across blocks: the same content (a duplicate), other content (a conflict:
        the first one in the file stays), and a rejection late in the file."""
        events = [event(self.license, f"e-{n}", machine_id=f"m-{n}") for n in range(40)]
        events[25] = events[2]
        events[33] = {**events[5], "duration_seconds": 999}
        events[38] = {**events[38], "duration_seconds": -1}
        return events

    def test_a_jsonl_file_gives_what_one_process_gives(self) -> None:
        lines = [json.dumps(e) for e in self.events()]
        lines[10:10] = ["", "{not json"]  # a blank line and an unreadable one
        path = self.write("events.jsonl", lines)
        self.assertGreater(len(bulk._plan(path, "jsonl", 3).blocks), 5)

        with mock.patch.object(bulk, "_ingest_in_process", side_effect=AssertionError):
            result, count = self.ingest(path, "jsonl", workers=2)
        stored = self.stored()
        self.assertEqual(count, 41)
        self.assertEqual((result.accepted, result.duplicates), (37, 1))
        self.assertEqual(
            result.conflicts, [{"index": 34, "event_id": "e-5", "detail": CONFLICT_DETAIL}]
        )
        unreadable = "line 12: Expecting property name enclosed in double quotes"
        self.assertEqual(
            [(r["index"], r["event_id"], r["errors"]) for r in result.rejected],
            [
                (10, None, {"non_field_errors": [unreadable]}),
                (39, "e-38", {"duration_seconds": [ERR_DURATION.format(max=31 * 86400)]}),
            ],
        )
        self.assertIn(("e-5", 60, "m-5"), stored)

        UsageEvent.objects.all().delete()
        alone = self.ingest(path, "jsonl", workers=1)
        self.assertEqual(alone, (result, count))
        self.assertEqual(self.stored(), stored)

    def test_a_csv_file_gives_what_one_process_gives(self) -> None:
        path = self.write("events.csv", [HEADER, *map(csv_line, self.events())])
        with mock.patch.object(bulk, "_ingest_in_process", side_effect=AssertionError):
            result, count = self.ingest(path, "csv", workers=2)
        stored = self.stored()
        self.assertEqual((count, result.accepted, result.duplicates), (40, 37, 1))
        self.assertEqual([c["index"] for c in result.conflicts], [33])
        self.assertEqual([r["index"] for r in result.rejected], [38])

        UsageEvent.objects.all().delete()
        self.assertEqual(self.ingest(path, "csv", workers=1), (result, count))
        self.assertEqual(self.stored(), stored)

    def test_a_csv_file_with_quotes_is_read_in_one_process(self) -> None:
        # A quoted cell may hold a line break, so a line end is not always the end of a row.
        lines = [HEADER, *map(csv_line, self.events()[:10])]
        lines[3] = lines[3].replace("m-2", '"m-2"')
        path = self.write("quoted.csv", lines)
        self.assertIsNone(bulk._plan(path, "csv", 3))
        result, count = self.ingest(path, "csv", workers=2)
        self.assertEqual((count, result.accepted), (10, 10))

    def test_a_worker_failure_stops_the_file_and_keeps_the_blocks_before_it(self) -> None:
        path = self.write("events.jsonl", [json.dumps(e) for e in self.events()[:30]])
        store = bulk.events_store

        def failing(*, batch: Any) -> IngestResult:
            if any(row.key[1] == "e-20" for row in batch.rows):
                raise RuntimeError("the disk is full")
            return store(batch=batch)

        with (
            mock.patch.object(bulk, "events_store", failing),
            self.assertRaisesMessage(CommandError, "RuntimeError: the disk is full"),
        ):
            call_command(
                "ingest_events", str(path), "--workers", "2", "--batch-size", "3", "--no-progress"
            )
        # Every batch before the one holding e-20 is stored, and nothing after it.
        stored = {event_id for event_id, *_ in self.stored()}
        self.assertEqual(stored, {f"e-{n}" for n in range(len(stored))})
        self.assertGreaterEqual(len(stored), 17)
        self.assertNotIn("e-20", stored)
