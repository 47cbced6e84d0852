"""Downloads of the detailed usage reports: the prebuilt gzipped CSV files of a generated month,
served as they were written."""

from django.core.files.storage import default_storage
from django.http import FileResponse

from metering.models import UsageReport

ACTIVE_DEVICES = "active-devices"
FIRMWARE_UPDATES = "firmware-updates"
REPORT_KINDS = (ACTIVE_DEVICES, FIRMWARE_UPDATES)


def report_file_name(report: UsageReport, kind: str) -> str:
    """What the download is called: active-devices-2026-04-globex.csv.gz."""
    return f"{kind}-{report.period}-{report.account.slug}.csv.gz"


def report_file_response(report: UsageReport, kind: str) -> FileResponse:
    stored = report.active_devices_file if kind == ACTIVE_DEVICES else report.firmware_updates_file
    return FileResponse(
        default_storage.open(stored, "rb"),
        as_attachment=True,
        filename=report_file_name(report, kind),
        content_type="application/gzip",
    )
