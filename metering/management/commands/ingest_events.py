"""Load usage events from a JSON Lines or CSV file through the same service as the API."""

from itertools import islice
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from accounts.scoping import SYSTEM
from metering.readers import UnreadableLine, file_format, read_csv, read_jsonl
from metering.services import MAX_BATCH, IngestResult, events_ingest

SHOWN_PROBLEMS = 20


def _count_lines(path: Path) -> int:
    """Non-empty lines, for the progress bar's total."""
    with path.open("rb") as stream:
        return sum(1 for line in stream if line.strip())


class Command(BaseCommand):
    help = (
        "Ingest usage events from a JSON Lines (.jsonl) or CSV (.csv) file with the API's field "
        "names. Idempotent: re-running a file reports its events as duplicates."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=["jsonl", "csv"], help="default: by extension")
        parser.add_argument("--batch-size", type=int, default=MAX_BATCH)
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        batch_size = max(1, min(options["batch_size"], MAX_BATCH))
        fmt = file_format(path, options["format"])
        total = IngestResult()
        with path.open(encoding="utf-8", newline="") as stream:
            events = read_csv(stream) if fmt == "csv" else read_jsonl(stream)
            offset = 0
            with tqdm(
                total=_count_lines(path) - (1 if fmt == "csv" else 0),
                unit=" events",
                disable=options["no_progress"],
                file=self.stderr._out,
                desc=path.name,
            ) as progress:
                while batch := list(islice(events, batch_size)):
                    total.add(self._ingest(batch), offset)
                    offset += len(batch)
                    progress.update(len(batch))
        self._summarise(total, offset)

    def _ingest(self, batch: list[Any]) -> IngestResult:
        unreadable = {i: e for i, e in enumerate(batch) if isinstance(e, UnreadableLine)}
        readable = [e for e in batch if not isinstance(e, UnreadableLine)]
        result = IngestResult()
        stored = events_ingest(actor=SYSTEM, events=readable)
        # Map indexes back to the batch, around the unreadable lines.
        positions = [i for i in range(len(batch)) if i not in unreadable]
        result.accepted, result.duplicates = stored.accepted, stored.duplicates
        result.conflicts = [{**c, "index": positions[c["index"]]} for c in stored.conflicts]
        result.rejected = [{**r, "index": positions[r["index"]]} for r in stored.rejected] + [
            {"index": i, "event_id": None, "errors": {"non_field_errors": [str(e)]}}
            for i, e in unreadable.items()
        ]
        return result

    def _summarise(self, total: IngestResult, count: int) -> None:
        self.stdout.write(
            f"{count} events read: {total.accepted} accepted, {total.duplicates} duplicates, "
            f"{len(total.conflicts)} conflicts, {len(total.rejected)} rejected."
        )
        problems = sorted(total.rejected + total.conflicts, key=lambda p: p["index"])
        for problem in problems[:SHOWN_PROBLEMS]:
            detail = problem.get("errors") or problem.get("detail")
            self.stdout.write(f"  event {problem['index'] + 1} ({problem['event_id']}): {detail}")
        if len(problems) > SHOWN_PROBLEMS:
            self.stdout.write(f"  … and {len(problems) - SHOWN_PROBLEMS} more.")
        if problems:
            raise CommandError(
                f"{len(total.rejected)} events were rejected and {len(total.conflicts)} "
                "conflicted; the other events were stored."
            )
