"""Downloads of the detailed usage reports: an account's slice of its month's prebuilt gzipped
CSV files, streamed as it was written."""

from django.http import StreamingHttpResponse

from accounts.exports import attach, download_filename
from metering.exports import report_download
from metering.models import UsageReport


def report_file_name(report: UsageReport, kind: str) -> str:
    """What the download is called: active-devices-2026-04-globex.csv.gz."""
    return download_filename(kind, report.period, report.account.slug, extension="csv.gz")


def report_file_response(report: UsageReport, kind: str) -> StreamingHttpResponse:
    chunks, length = report_download(report, kind)
    response = StreamingHttpResponse(chunks, content_type="application/gzip")
    response["Content-Length"] = str(length)
    return attach(response, report_file_name(report, kind))
