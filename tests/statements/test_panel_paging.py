"""The statement panel's machine-usage pages: any ?per_page= and ?page= shows a page."""

from urllib.parse import urlencode

from django.urls import reverse

from statements.services.poll import statements_poll
from tests.statements.factories import ingest, session
from tests.statements.world import IN_MAY, StatementWorld

PANEL = reverse("statements:panel")


class PanelPagingTests(StatementWorld):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        # 33 lines in May: two pages of 25.
        ingest(
            [session(cls.license, f"p{n}", "2026-05-10 00:00", 60 + n) for n in range(30)],
            now=IN_MAY,
        )
        statements_poll(now=IN_MAY)

    def table(self, **params: str) -> object:
        query = urlencode({"license": self.license.uuid, "month": "2026-05", **params})
        response = self.login(self.owner).get(f"{PANEL}?{query}")
        self.assertEqual(response.status_code, 200)
        return response.context["table"]

    def test_rows_per_page_outside_the_choices_are_clamped(self) -> None:
        for per_page, rows in [("-1", 25), ("0", 25), ("99999999999999999999", 250)]:
            with self.subTest(per_page=per_page):
                self.assertEqual(self.table(per_page=per_page).paginator.per_page, rows)

    def test_a_page_past_the_last_shows_the_last(self) -> None:
        table = self.table(page="99999")
        self.assertEqual((table.page.number, len(table.page.object_list)), (2, 8))

    def test_a_page_before_the_first_shows_the_first(self) -> None:
        for page in ["0", "-3"]:
            with self.subTest(page=page):
                table = self.table(page=page)
                self.assertEqual((table.page.number, len(table.page.object_list)), (1, 25))
