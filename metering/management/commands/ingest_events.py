"""Load usage events from a JSON Lines or CSV file through the same service as the API."""

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from accounts.scoping import SYSTEM
from metering.readers import file_format
from metering.services.bulk import WORKERS_MAX, BulkIngestError, events_file_ingest
from metering.services.ingest import MAX_BATCH, IngestResult

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
        parser.add_argument(
            "--workers",
            type=int,
            default=min(os.cpu_count() or 1, WORKERS_MAX),
            help=f"processes for a large file (default: one per core, at most {WORKERS_MAX})",
        )
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        batch_size = max(1, min(options["batch_size"], MAX_BATCH))
        fmt = file_format(path, options["format"])
        hidden = options["no_progress"]
        with tqdm(
            # Counting lines reads the whole file, so only for a bar that is shown.
            total=None if hidden else _count_lines(path) - (1 if fmt == "csv" else 0),
            unit=" events",
            disable=hidden,
            file=self.stderr._out,
            desc=path.name,
        ) as progress:
            try:
                total, count = events_file_ingest(
                    path=path,
                    fmt=fmt,
                    actor=SYSTEM,
                    batch_size=batch_size,
                    workers=options["workers"],
                    progress=progress.update,
                )
            except BulkIngestError as exc:
                raise CommandError(
                    f"Ingest stopped: {exc}. The batches before the failing one are stored; "
                    "re-running the file stores the rest (stored events count as duplicates)."
                ) from exc
        self._summarise(total, count)

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
