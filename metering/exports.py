"""The detailed usage report files: gzipped CSV built from gzip members.

A gzip file may hold several members one after another, and every reader (gunzip, zcat,
Python's gzip) returns their contents joined. A month's file is the header member followed by
one member per account, in tree order, so the rows of an account and of every account below
it are one byte range. An account's download is the header member and that range, streamed
from storage as it was written, without compressing anything again.
"""

import csv
import gzip
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.core.files.storage import default_storage

from accounts.exports import csv_safe

from .models import UsageReport

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
    """One gzip member holding the rows as CSV; b"" for no rows. The caller neutralises
    formulas in the text cells it does not control (csv_safe). mtime is fixed so generating
    the same rows twice gives the same bytes."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    text = buffer.getvalue()
    if not text:
        return b""
    return gzip.compress(text.encode("utf-8"), compresslevel=COMPRESS_LEVEL, mtime=0)


def header_member(header: Iterable[str]) -> bytes:
    return gzip_csv_member([[csv_safe(name) for name in header]])


ACTIVE_DEVICES = "active-devices"
FIRMWARE_UPDATES = "firmware-updates"
REPORT_KINDS = (ACTIVE_DEVICES, FIRMWARE_UPDATES)
_CHUNK = 256 * 1024


def report_download(report: UsageReport, kind: str) -> tuple[Iterator[bytes], int]:
    """The gzipped CSV of an account's report (its rows and its tenants'), as chunks and the
    total length in bytes. `report.report_month` should be loaded with it."""
    month = report.report_month
    if kind == ACTIVE_DEVICES:
        name, header = month.active_devices_file, header_member(ACTIVE_DEVICES_HEADER)
        start, length = report.active_devices_start, report.active_devices_length
    else:
        name, header = month.firmware_updates_file, header_member(FIRMWARE_UPDATES_HEADER)
        start, length = report.firmware_updates_start, report.firmware_updates_length

    def chunks() -> Iterator[bytes]:
        yield header
        left = length
        with default_storage.open(name, "rb") as stream:
            stream.seek(start)
            while left > 0:
                data = stream.read(min(_CHUNK, left))
                if not data:
                    raise OSError(f"{name} ends before byte {start + length}.")
                left -= len(data)
                yield data

    return chunks(), len(header) + length
