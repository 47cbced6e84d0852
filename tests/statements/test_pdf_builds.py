"""The PDF of a large statement is built by a worker with its progress on a page, kept in
default storage until the statement changes; a small statement's renders on request."""

from unittest import mock

from django.core.files.storage import default_storage
from django.urls import reverse

from statements import tasks
from statements.models import PdfStatus, Statement, StatementPdf
from statements.services import pdf as pdf_service
from statements.services.poll import statements_poll
from tests.statements.factories import ingest, session
from tests.statements.world import IN_MAY, MAY, StatementWorld

FILENAME = 'attachment; filename="alpha-render-2026-05-statement.pdf"'


class LargeStatementPdfTests(StatementWorld):
    def setUp(self) -> None:
        # The world's May statement has 3 lines: make that "large".
        patcher = mock.patch("statements.views.PDF_DIRECT_LINES", 2)
        patcher.start()
        self.addCleanup(patcher.stop)
        args = [self.license.uuid, "2026-05"]
        self.download = reverse("statements:download_pdf", args=args)
        self.page = reverse("statements:pdf", args=args)
        self.status = reverse("statements:pdf_status", args=args)
        self.client = self.login(self.owner)

    def statement(self) -> Statement:
        return Statement.objects.get(license=self.license, period=MAY)

    def request_build(self) -> mock.MagicMock:
        with (
            mock.patch.object(tasks.build_statement_pdf, "delay") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.get(self.page)
        self.assertEqual(response.status_code, 200)
        return delay

    def test_the_download_leads_to_the_page_that_requests_the_build_once(self) -> None:
        self.assertRedirects(
            self.client.get(self.download), self.page, fetch_redirect_response=False
        )
        delay = self.request_build()
        version = pdf_service.statement_version(self.statement())
        delay.assert_called_once_with(self.statement().id, version)
        self.assertEqual(self.request_build().call_count, 0)
        response = self.client.get(self.page)
        self.assertContains(response, 'aria-valuenow="0"')
        self.assertContains(response, f'href="{self.page}" id="pdf-refresh">Refresh</a>')
        self.assertEqual(
            self.client.get(self.status).json(),
            {
                "status": "queued",
                "label": "Queued",
                "progress": 0,
                "ready": False,
                "failed": False,
                "download_url": self.download,
                "status_url": self.status,
            },
        )

    def test_the_worker_builds_it_and_the_download_serves_the_kept_file(self) -> None:
        delay = self.request_build()
        tasks.build_statement_pdf(*delay.call_args.args)
        pdf = StatementPdf.objects.get(statement=self.statement())
        self.assertEqual((pdf.status, pdf.progress), (PdfStatus.READY, 100))
        self.assertTrue(default_storage.exists(pdf.file))
        state = self.client.get(self.status).json()
        self.assertEqual((state["status"], state["ready"], state["progress"]), ("ready", True, 100))
        with mock.patch("statements.documents.statement_pdf") as render:
            response = self.client.get(self.download)
            render.assert_not_called()
        self.assertEqual(response["Content-Disposition"], FILENAME)
        self.assertTrue(b"".join(response.streaming_content).startswith(b"%PDF-"))

    def test_a_changed_statement_gets_a_new_build_and_the_old_file_goes(self) -> None:
        delay = self.request_build()
        tasks.build_statement_pdf(*delay.call_args.args)
        old_file = StatementPdf.objects.get(statement=self.statement()).file
        ingest([session(self.license, "new", "2026-05-09 08:00", 600)], now=IN_MAY)
        statements_poll(now=IN_MAY)
        self.assertRedirects(
            self.client.get(self.download), self.page, fetch_redirect_response=False
        )
        delay = self.request_build()
        delay.assert_called_once_with(
            self.statement().id, pdf_service.statement_version(self.statement())
        )
        self.assertFalse(default_storage.exists(old_file))
        self.assertEqual(StatementPdf.objects.get().status, PdfStatus.QUEUED)

    def test_a_build_is_claimed_once(self) -> None:
        statement_id, version = self.request_build().call_args.args
        build = pdf_service.statement_pdf_build
        self.assertTrue(build(statement_id=statement_id, version=version))
        self.assertFalse(build(statement_id=statement_id, version=version))

    def test_a_failed_build_is_shown_and_tried_again_on_request(self) -> None:
        delay = self.request_build()
        with (
            mock.patch.object(pdf_service, "statement_pdf", side_effect=RuntimeError("boom")),
            self.assertRaises(RuntimeError),
        ):
            tasks.build_statement_pdf(*delay.call_args.args)
        response = self.client.get(self.page)
        self.assertContains(response, "The PDF could not be built.")
        self.assertTrue(self.client.get(self.status).json()["failed"])
        with (
            mock.patch.object(tasks.build_statement_pdf, "delay") as again,
            self.captureOnCommitCallbacks(execute=True),
        ):
            self.assertRedirects(self.client.post(self.page), self.page)
        again.assert_called_once()
        self.assertEqual(StatementPdf.objects.get().status, PdfStatus.QUEUED)

    def test_outsiders_get_404_and_nothing_is_requested(self) -> None:
        client = self.login(self.outsider)
        for url in (self.page, self.status, self.download):
            self.assertEqual(client.get(url).status_code, 404, url)
        self.assertEqual(StatementPdf.objects.count(), 0)


class SmallStatementPdfTests(StatementWorld):
    def test_a_small_statement_renders_at_once_and_requests_no_build(self) -> None:
        url = reverse("statements:download_pdf", args=[self.license.uuid, "2026-05"])
        response = self.login(self.owner).get(url)
        self.assertEqual(response["Content-Disposition"], FILENAME)
        self.assertTrue(response.content.startswith(b"%PDF-"))
        self.assertEqual(StatementPdf.objects.count(), 0)
