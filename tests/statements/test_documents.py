"""The statement documents: rows written in SQL read exactly as the Python formatting writes
them, and the PDF states the machine-usage total once, after the last line."""

import re
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test import TestCase

from accounts.money import display_money
from statements import documents
from statements.formatting import format_duration
from statements.models import Statement
from tests.base import BillingTestCase
from tests.factories import LicenseFactory
from tests.statements.factories import at, catalog, ingest_and_poll, session
from tests.statements.world import MAY

AMOUNTS = ["0", "0.004", "0.005", "-0.5", "1234567.891", "-3", "12.3456", "999.995"]
DURATIONS = [
    timedelta(0),
    timedelta(seconds=59, microseconds=500_000),
    timedelta(hours=26, seconds=5),
    timedelta(seconds=1, microseconds=1),
    timedelta(days=40, minutes=3),
]


class SqlFormattingTests(TestCase):
    def test_amounts_read_as_display_money_writes_them(self) -> None:
        for currency in ("USD", "EUR", "JPY", "KWD", "CHF"):
            with self.subTest(currency=currency), connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {documents.money_sql('v')} FROM unnest(%(values)s::numeric[]) v",  # noqa: S608 - our SQL
                    {**documents.money_params(currency), "values": AMOUNTS},
                )
                self.assertEqual(
                    [row[0] for row in cursor.fetchall()],
                    [display_money(Decimal(a), currency) for a in AMOUNTS],
                )

    def test_durations_read_as_format_duration_writes_them(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {documents.duration_sql('v')} FROM unnest(%(values)s::interval[]) v",  # noqa: S608 - our SQL
                {"values": DURATIONS},
            )
            self.assertEqual(
                [row[0] for row in cursor.fetchall()], [format_duration(d) for d in DURATIONS]
            )


def page_texts(html: str) -> list[str]:
    """The text of each page WeasyPrint lays out for the document."""
    from weasyprint import HTML

    texts = []
    for page in HTML(string=html).render().pages:
        boxes = [page._page_box]
        words = []
        while boxes:
            box = boxes.pop()
            words.append(getattr(box, "text", ""))
            boxes.extend(reversed(getattr(box, "children", [])))
        texts.append(re.sub(r"\s+", " ", " ".join(w for w in words if w)))
    return texts


class PdfTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        catalog({"c5.xlarge": "1.000000"}, {"standard": "0.500000"})
        cls.license = LicenseFactory(account=cls.account, name="Long", created_at=at("2026-05-01"))
        start = at("2026-05-01")
        events = [
            session(cls.license, f"s{n}", start + timedelta(minutes=n), 3600, machine_id="a\\b<c")
            for n in range(240)
        ]
        ingest_and_poll(events, now=at("2026-05-20"))
        cls.statement = Statement.objects.get(license=cls.license, period=MAY)

    def test_the_machine_usage_total_is_stated_once_after_the_last_line(self) -> None:
        pages = page_texts(documents.statement_pdf_html(self.statement))
        totals = [n for n, text in enumerate(pages) if "$240.00 $120.00" in text]
        self.assertGreater(len(pages), 2)
        self.assertEqual(totals, [len(pages) - 1])

    def test_the_licenses_and_pools_tables_have_totals(self) -> None:
        first_page = page_texts(documents.statement_pdf_html(self.statement))[0]
        self.assertIn("standard 240.00 $120.00 Total 240.00 $120.00", first_page)
        self.assertIn("render 240.00 $360.00 Total 240.00 $360.00", first_page)

    def test_each_line_is_one_preformatted_line_with_its_text_escaped(self) -> None:
        html = documents.statement_pdf_html(self.statement)
        self.assertIn(
            "<div>2026-05-01 00:00:00      1:00:00 a&#92;b&lt;c          us-east   render     "
            "c5.xlarge   standard       $1.00        $0.50</div>",
            html,
        )
        self.assertEqual(html.count("<div>2026-05-01 0"), 240)
