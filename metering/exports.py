"""The detailed usage report files: gzipped CSV built from gzip members.

A gzip file may hold several members one after another, and every reader (gunzip, zcat,
Python's gzip) returns their contents joined. Each account's rows are compressed once into a
member; the file of an account with tenants is the header member followed by the members of
every account in its tree, joined without compressing anything again.
"""

import csv
import gzip
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from accounts.exports import csv_safe

ACTIVE_DEVICES_HEADER = ("account_id", "timestamp", "device_id", "endpoint_name")
FIRMWARE_UPDATES_HEADER = (
    "account_id",
    "timestamp",
    "campaign_name",
    "device_id",
    "endpoint_name",
)
# zlib's default level: most of level 9's ratio at a fraction of its time.
COMPRESS_LEVEL = 6


def iso_utc(moment: datetime) -> str:
    """2026-04-03T10:15:00Z (microseconds only when present)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def gzip_csv_member(rows: Iterable[Iterable[Any]]) -> bytes:
    """One gzip member holding the rows as CSV with formulas neutralised; b"" for no rows.
    mtime is fixed so generating the same rows twice gives the same bytes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([csv_safe(value) for value in row])
    text = buffer.getvalue()
    if not text:
        return b""
    return gzip.compress(text.encode("utf-8"), compresslevel=COMPRESS_LEVEL, mtime=0)


def header_member(header: Iterable[str]) -> bytes:
    return gzip_csv_member([list(header)])
