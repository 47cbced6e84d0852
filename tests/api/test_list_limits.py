"""Every limit/offset list takes any ?limit= and ?offset=: a limit over the ceiling reads as
the ceiling, a negative or non-numeric one as the default, an offset past the end is empty."""

from accounts.pagination import MAX_LIMIT
from tests.base import BillingTestCase

HUGE = "99999999999999999999"


class ListLimitTests(BillingTestCase):
    def setUp(self) -> None:
        _, self.admin = self.make_key("admin")

    def lists(self) -> list[str]:
        return [
            "/api/v1/accounts",
            f"/api/v1/accounts/{self.account.uuid}/members",
            "/api/v1/license-types",
            "/api/v1/machine-types",
            "/api/v1/licenses",
            "/api/v1/transactions",
            "/api/v1/balances",
        ]

    def page(self, path: str, query: str) -> dict:
        response = self.api("get", f"{path}?{query}", self.admin)
        self.assertEqual(response.status_code, 200)
        return response.json()

    def test_a_huge_limit_reads_as_the_ceiling(self) -> None:
        for path in self.lists():
            with self.subTest(path=path):
                body = self.page(path, f"limit={HUGE}&offset=1")
                # The link back to the first page carries the limit actually used.
                self.assertEqual(body["previous"], f"http://testserver{path}?limit={MAX_LIMIT}")

    def test_a_negative_limit_reads_as_the_default(self) -> None:
        for path in self.lists():
            with self.subTest(path=path):
                body = self.page(path, "limit=-1&offset=1")
                self.assertEqual(body["previous"], f"http://testserver{path}?limit=100")

    def test_an_offset_past_the_end_is_empty_and_a_negative_one_is_the_start(self) -> None:
        for path in self.lists():
            with self.subTest(path=path):
                first = self.page(path, "")
                self.assertEqual(self.page(path, f"offset={HUGE}")["results"], [])
                self.assertEqual(self.page(path, "offset=-5")["results"], first["results"])
