"""The hourly collect-usage job: import every new file under USAGE_IMPORT_DIR/<platform>/<region>/
and move it to `done/` beside it, or to `failed/` (with `<name>.reason.txt`) when it cannot be
read. A folder seen for the first time registers its region (enabled); a disabled region is
left alone. Whatever is waiting is imported, so the job catches up after any pause; a file
whose import was interrupted stays in place and the next run completes it (its stored
events count as duplicates)."""

import logging
import os
from collections.abc import Collection
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from ..models import NAME_MAX, CollectionRegion, ImportStatus
from . import READERS
from .runner import platform_root, usage_import

DONE = "done"
FAILED = "failed"

logger = logging.getLogger(__name__)


def _discover(root: Path) -> None:
    """Register every <platform>/<region> folder that has no region row yet."""
    for platform in READERS:
        folder = root / platform
        if not folder.is_dir():
            continue
        for child in folder.iterdir():
            name = child.name
            usable = name.isprintable() and len(name) <= NAME_MAX and not name.startswith(".")
            if child.is_dir() and usable:
                CollectionRegion.objects.get_or_create(platform=platform, region=name)


def _waiting(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _move(path: Path, into: str, now: datetime) -> Path:
    """Move a file into `into/` beside it; a name already there gets the time appended."""
    target_dir = path.parent / into
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        target = target_dir / f"{path.stem}.{now:%Y%m%dT%H%M%S}{path.suffix}"
    os.replace(path, target)
    return target


def usage_collect(
    *, region_ids: Collection[int] | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Import the waiting files of every enabled region (or of the regions named)."""
    now = now or timezone.now()
    root = Path(settings.USAGE_IMPORT_DIR)
    platform_root()
    _discover(root)
    regions = CollectionRegion.objects.filter(enabled=True)
    if region_ids is not None:
        regions = regions.filter(id__in=region_ids)
    counts = {"regions": 0, "files": 0, "imported": 0, "failed": 0, "errors": 0, "events": 0}
    for region in regions:
        counts["regions"] += 1
        for path in _waiting(root / region.platform / region.region):
            counts["files"] += 1
            try:
                record = usage_import(platform=region.platform, region=region.region, path=path)
            except Exception:
                # The database or the disk, not the file: leave it for the next run.
                logger.exception("Importing %s stopped; it stays for the next run.", path)
                counts["errors"] += 1
                continue
            counts["events"] += record.accepted
            if record.status == ImportStatus.OK:
                counts["imported"] += 1
                _move(path, DONE, now)
            else:
                counts["failed"] += 1
                moved = _move(path, FAILED, now)
                moved.with_name(moved.name + ".reason.txt").write_text(record.failure + "\n")
        region.last_collected_at = now
        region.save(update_fields=["last_collected_at"])
    return counts
