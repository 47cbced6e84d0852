"""Downloads of the detailed usage reports: an account's slice of its month's prebuilt gzipped
CSV files, streamed as it was written."""

from django.http import StreamingHttpResponse

from metering.exports import report_download
from metering.models import UsageReport


def report_file_name(report: UsageReport, kind: str) -> str:
    """What the download is called: active-devices-2026-04-globex.csv.gz."""
    return f"{kind}-{report.period}-{report.account.slug}.csv.gz"


def report_file_response(report: UsageReport, kind: str) -> StreamingHttpResponse:
    chunks, length = report_download(report, kind)
    response = StreamingHttpResponse(chunks, content_type="application/gzip")
    response["Content-Length"] = str(length)
    response["Content-Disposition"] = f'attachment; filename="{report_file_name(report, kind)}"'
    return response
