"""PDFs of large statements, built in the background and kept until the statement changes.

A statement of up to PDF_DIRECT_LINES lines renders on request (about 1.5 s). A larger one
would hold a web worker for up to a minute (a PDF lists up to 5,000 lines), so its download page
requests a build, a worker builds it (statements.tasks.build_statement_pdf) and records its
progress on the StatementPdf row that the page polls, and the file stays in default storage for
that version of the statement (its revision and last update): any change gets a new build.
"""

import logging
import traceback

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from ..documents import statement_pdf
from ..models import PdfStatus, Statement, StatementPdf

logger = logging.getLogger(__name__)

# Up to this many lines the PDF renders on request: about 1.5 s of WeasyPrint on one core.
PDF_DIRECT_LINES = 1000


def statement_version(statement: Statement) -> str:
    """What a built PDF is valid for: lines bump the revision, credits and balances the update."""
    return f"{statement.revision}-{statement.updated_at:%Y%m%dT%H%M%S%f}"


def statement_pdf_request(*, statement: Statement, retry: bool = False) -> StatementPdf:
    """The build of the statement's PDF for its current version: queued for a worker unless it is
    queued, running or built already (a failed build only when `retry`)."""
    version = statement_version(statement)
    with transaction.atomic():
        pdf, created = StatementPdf.objects.select_for_update().get_or_create(
            statement=statement, defaults={"version": version}
        )
        stale = (
            pdf.version != version
            or (retry and pdf.status == PdfStatus.FAILED)
            or (pdf.status == PdfStatus.READY and not default_storage.exists(pdf.file))
        )
        if not (created or stale):
            return pdf
        outdated = pdf.file
        pdf.version, pdf.status, pdf.progress = version, PdfStatus.QUEUED, 0
        pdf.file, pdf.error, pdf.requested_at, pdf.finished_at = "", "", timezone.now(), None
        pdf.save()
        transaction.on_commit(lambda: _queue(statement.id, version, outdated), robust=True)
    return pdf


def _queue(statement_id: int, version: str, outdated: str) -> None:
    # Imported here: the tasks module imports the services.
    from ..tasks import build_statement_pdf

    if outdated:
        default_storage.delete(outdated)
    build_statement_pdf.delay(statement_id, version)


def statement_pdf_build(*, statement_id: int, version: str) -> bool:
    """Build the PDF requested for that version of the statement, recording progress as it
    goes. Claimed with a conditional update, so two workers never build the same request; a
    request replaced meanwhile by a newer version is left to its own build. Returns whether
    this call built it."""
    claimed = StatementPdf.objects.filter(
        statement_id=statement_id, version=version, status=PdfStatus.QUEUED
    ).update(status=PdfStatus.RUNNING, progress=5)
    if not claimed:
        return False
    mine = StatementPdf.objects.filter(statement_id=statement_id, version=version)
    statement = Statement.objects.select_related("license", "account").get(pk=statement_id)
    try:
        data = statement_pdf(statement, progress=lambda percent: mine.update(progress=percent))
        name = default_storage.save(
            f"statements/pdf/{statement.uuid}-{version}.pdf", ContentFile(data)
        )
    except Exception:
        failed_at = timezone.now()
        mine.update(
            status=PdfStatus.FAILED, error=traceback.format_exc()[-5000:], finished_at=failed_at
        )
        raise
    if not mine.update(status=PdfStatus.READY, progress=100, file=name, finished_at=timezone.now()):
        default_storage.delete(name)  # a newer version was requested while this one was built
    return True


def statement_pdf_ready(statement: Statement) -> StatementPdf | None:
    """The built PDF of the statement as it is now, or None."""
    pdf = StatementPdf.objects.filter(
        statement=statement, version=statement_version(statement), status=PdfStatus.READY
    ).first()
    if pdf is not None and not default_storage.exists(pdf.file):
        logger.warning("The PDF file %s of statement %s is gone", pdf.file, statement.id)
        return None
    return pdf
