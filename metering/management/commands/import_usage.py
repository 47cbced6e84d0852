"""Import one platform usage file through the ingest (what the collect-usage job does per file)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from metering.imports import READERS
from metering.imports.runner import ImportFailed, usage_import
from metering.models import NAME_MAX, ImportStatus, UsageImport

SHOWN_PROBLEMS = 20


class Command(BaseCommand):
    help = (
        "Import a platform's usage file (Azure Stack usage aggregates JSON, Azure Local "
        "allocation CSV, Public Azure cost export CSV, CloudStack listUsageRecords JSON) as "
        "usage events. Idempotent: importing a file again adds nothing (duplicates)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--platform", required=True, help=", ".join(READERS))
        parser.add_argument(
            "--region", default="", help="region of the usage (default: each record's location)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        platform: str = options["platform"]
        region: str = options["region"].strip()
        if platform not in READERS:
            raise CommandError(
                f"Unknown platform {platform!r}; choose one of: {', '.join(READERS)}."
            )
        if len(region) > NAME_MAX or not region.isprintable():
            raise CommandError(f"--region must be printable text of at most {NAME_MAX} characters.")
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        stream = self.stderr._out
        with tqdm(unit=" records", desc=path.name, file=stream, disable=None) as bar:

            def progress(done: int, total: int | None) -> None:
                if bar.disable:
                    self.stderr.write(
                        f"{path.name}: {done}/{total if total is not None else '?'} records"
                    )
                    return
                bar.total = total
                bar.update(done - bar.n)

            try:
                record = usage_import(
                    platform=platform, region=region, path=path, progress=progress
                )
            except ImportFailed as exc:
                raise CommandError(str(exc)) from exc
        self._summarise(record)
        if record.status == ImportStatus.FAILED:
            raise CommandError(f"{path} was not imported: {record.failure}")

    def _summarise(self, record: UsageImport) -> None:
        self.stdout.write(
            f"{record.records} records: {record.events} events, {record.accepted} accepted, "
            f"{record.duplicates} duplicates; {record.rejected} records rejected."
        )
        for problem in record.errors[:SHOWN_PROBLEMS]:
            self.stdout.write(f"  record {problem['record']}: {problem['reason']}")
        if record.rejected > SHOWN_PROBLEMS:
            self.stdout.write(
                f"  … and {record.rejected - SHOWN_PROBLEMS} more (the import record in the "
                "admin keeps the first 100)."
            )
