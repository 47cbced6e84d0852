"""The statements API: statement reads, machine-usage pages, credits, transactions, balances;
every endpoint answers an outsider with 404 and a wrong role with 403."""

from django.urls import reverse

from accounts.models import ApiKeyRole
from metering.months import ERR_MONTH
from statements.api import ERR_FINANCE
from statements.models import Credit, Statement
from statements.services.credits import ERR_INVOICE_REUSED, ERR_PERIOD_CLOSED
from tests.statements.world import FORMULA, StatementWorld


def statement_url(license: object, month: str = "2026-05") -> str:
    return reverse("api-statement", args=[license.uuid, month])


def usage_url(license: object, month: str = "2026-05") -> str:
    return reverse("api-machine-usage", args=[license.uuid, month])


def credits_url(license: object) -> str:
    return reverse("api-license-credits", args=[license.uuid])


class ApiWorld(StatementWorld):
    def setUp(self) -> None:
        _, self.read_key = self.make_key(ApiKeyRole.READ, self.account)
        _, self.finance_key = self.make_key(ApiKeyRole.FINANCE, self.account)
        _, self.ingest_key = self.make_key(ApiKeyRole.INGEST, self.account)
        _, self.outsider_key = self.make_key(ApiKeyRole.FINANCE, self.outsider_account)


class StatementReadTests(ApiWorld):
    def test_the_statement_with_its_sections_credits_and_adjustments(self) -> None:
        response = self.api("get", statement_url(self.license), self.read_key)
        self.assertEqual(response.status_code, 200)
        body = response.json()
        statement = Statement.objects.get(license=self.license, period="2026-05-01")
        self.assertEqual(
            body.pop("updated_at"), statement.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        )
        self.assertEqual(
            body,
            {
                "id": str(statement.uuid),
                "license": str(self.license.uuid),
                "period": "2026-05",
                "status": "open",
                "currency": "USD",
                "starting_balance": "47.00",
                "total_credits": "0.00",
                "license_charges": "1.25",
                "machine_charges": "2.50",
                "ending_balance": "43.25",
                "line_count": 3,
                "closed_at": None,
                "by_license_type": [{"license_type": "standard", "hours": "2.50", "cost": "1.25"}],
                "by_pool": [
                    {
                        "pool": "render",
                        "hours": "1.50",
                        "cost": "2.25",
                        "machine_cost": "1.50",
                        "license_cost": "0.75",
                    },
                    {
                        "pool": "sim",
                        "hours": "1.00",
                        "cost": "1.50",
                        "machine_cost": "1.00",
                        "license_cost": "0.50",
                    },
                ],
                "credits": [],
                "adjustments": [
                    {
                        "period": "2026-04",
                        "lines": 1,
                        "hours": "1.00",
                        "machine_cost": "1.00",
                        "license_cost": "0.50",
                    }
                ],
            },
        )

    def test_a_closed_statement_lists_its_credits(self) -> None:
        body = self.api("get", statement_url(self.license, "2026-04"), self.read_key).json()
        self.assertEqual((body["status"], body["closed_at"]), ("closed", "2026-05-20T12:00:00Z"))
        credit = Credit.objects.get()
        self.assertEqual(
            body["credits"],
            [
                {
                    "id": str(credit.uuid),
                    "license": str(self.license.uuid),
                    "amount": "50.00",
                    "credited_at": "2026-04-05T10:00:00Z",
                    "invoice_number": "INV-1",
                    "invoice_date": "2026-04-01",
                    "period": "2026-04",
                }
            ],
        )

    def test_bad_and_missing_months(self) -> None:
        bad = self.api("get", statement_url(self.license, "2026-5"), self.read_key)
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(bad.json(), {"period": [ERR_MONTH]})
        missing = self.api("get", statement_url(self.license, "2025-01"), self.read_key)
        self.assertEqual(missing.status_code, 404)
        self.assertEqual(missing.json(), {"detail": "No statement for this license in 2025-01."})

    def test_machine_usage_pages_through_the_lines(self) -> None:
        first = self.api("get", usage_url(self.license) + "?page_size=2", self.read_key).json()
        self.assertEqual(
            [(line["start"], line["adjustment"]) for line in first["results"]],
            [("2026-04-28T09:00:00Z", True), ("2026-05-02T08:00:00Z", False)],
        )
        second = self.api("get", first["next"], self.read_key).json()
        self.assertEqual(
            second["results"],
            [
                {
                    "start": "2026-05-03T08:00:00Z",
                    "duration_seconds": "1800",
                    "machine_id": FORMULA,
                    "region": "us-east",
                    "pool": "render",
                    "machine_type": "c5.xlarge",
                    "license_type": "standard",
                    "cost": "0.50",
                    "license_cost": "0.25",
                    "usage_month": "2026-05",
                    "adjustment": False,
                }
            ],
        )
        self.assertIsNone(second["next"])

    def test_outsiders_get_404_and_ingest_keys_403(self) -> None:
        for url in (
            statement_url(self.license),
            usage_url(self.license),
            credits_url(self.license),
        ):
            self.assertEqual(self.api("get", url, self.outsider_key).status_code, 404, url)
            self.assertEqual(self.api("get", url, self.ingest_key).status_code, 403, url)
            self.assertEqual(self.api("get", url).status_code, 401, url)

    def test_a_session_user_reads_too(self) -> None:
        self.login(self.teammate)
        self.assertEqual(self.client.get(statement_url(self.tenant_license)).status_code, 200)


class CreditApiTests(ApiWorld):
    def credit(self, key: str, **data: object) -> object:
        payload = {"amount": "20.00", "invoice_number": "INV-9", "invoice_date": "2026-05-01"}
        payload.update(data)
        return self.api("post", credits_url(self.license), key, payload)

    def test_finance_adds_a_credit_and_a_retry_changes_nothing(self) -> None:
        created = self.credit(self.finance_key, credited_at="2026-05-06T10:00:00Z")
        self.assertEqual(created.status_code, 201)
        self.assertEqual(
            {k: v for k, v in created.json().items() if k != "id"},
            {
                "license": str(self.license.uuid),
                "amount": "20.00",
                "credited_at": "2026-05-06T10:00:00Z",
                "invoice_number": "INV-9",
                "invoice_date": "2026-05-01",
                "period": "2026-05",
            },
        )
        again = self.credit(self.finance_key, credited_at="2026-05-06T10:00:00Z")
        self.assertEqual((again.status_code, again.json()["id"]), (200, created.json()["id"]))
        may = Statement.objects.get(license=self.license, period="2026-05-01")
        self.assertEqual((str(may.total_credits), str(may.ending_balance)), ("20.0000", "63.2500"))
        listed = self.api("get", credits_url(self.license), self.read_key).json()
        self.assertEqual([c["invoice_number"] for c in listed], ["INV-9", "INV-1"])

    def test_every_refusal(self) -> None:
        cases = [
            ({"amount": "0"}, "amount"),
            ({"amount": "-5"}, "amount"),
            ({"amount": "1.001"}, "amount"),
            ({"amount": "ten"}, "amount"),
            ({"invoice_number": ""}, "invoice_number"),
            ({"invoice_date": "yesterday"}, "invoice_date"),
            ({"credited_at": "2099-01-01T00:00:00Z"}, "credited_at"),
            ({"credited_at": "2026-04-10T00:00:00Z"}, "credited_at"),
        ]
        for data, field in cases:
            with self.subTest(data):
                response = self.credit(self.finance_key, **data)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(list(response.json()), [field])
        closed = self.credit(self.finance_key, credited_at="2026-04-10T00:00:00Z")
        self.assertEqual(
            closed.json(), {"credited_at": [ERR_PERIOD_CLOSED.format(period="2026-04")]}
        )
        self.credit(self.finance_key, credited_at="2026-05-06T10:00:00Z")
        reused = self.credit(self.finance_key, amount="21.00", credited_at="2026-05-06T10:00:00Z")
        self.assertEqual(
            reused.json(), {"invoice_number": [ERR_INVOICE_REUSED.format(number="INV-9")]}
        )
        malformed = self.client.post(
            credits_url(self.license),
            data="{nope",
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.finance_key}",
        )
        self.assertEqual(malformed.status_code, 400)
        self.assertEqual(Credit.objects.count(), 2)

    def test_wrong_roles_and_outsiders(self) -> None:
        self.assertEqual(self.credit(self.read_key).status_code, 403)
        self.assertEqual(self.credit(self.read_key).json(), {"detail": ERR_FINANCE})
        self.assertEqual(self.credit(self.ingest_key).status_code, 403)
        self.assertEqual(self.credit(self.outsider_key).status_code, 404)
        self.login(self.teammate)
        response = self.client.post(
            credits_url(self.license),
            data={"amount": "1.00", "invoice_number": "X", "invoice_date": "2026-05-01"},
            content_type="application/json",
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(Credit.objects.count(), 1)


class ListApiTests(ApiWorld):
    def test_transactions_filter_by_license_and_time(self) -> None:
        url = reverse("api-transactions")
        body = self.api("get", url, self.read_key).json()
        self.assertEqual([c["invoice_number"] for c in body["results"]], ["INV-1"])
        window = (
            f"{url}?license={self.license.uuid}&start=2026-04-05T10:00:00Z&end=2026-04-06T00:00:00Z"
        )
        self.assertEqual(self.api("get", window, self.read_key).json()["count"], 1)
        after = f"{url}?start=2026-04-05T10:00:01Z"
        self.assertEqual(self.api("get", after, self.read_key).json()["count"], 0)
        bad = self.api("get", f"{url}?start=soon", self.read_key)
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(list(bad.json()), ["start"])
        outsider = self.api("get", f"{url}?license={self.license.uuid}", self.outsider_key)
        self.assertEqual(outsider.status_code, 400)
        self.assertEqual(self.api("get", url, self.outsider_key).json()["count"], 0)
        self.assertEqual(self.api("get", url, self.ingest_key).status_code, 403)

    def test_balances_filter_by_license_and_months(self) -> None:
        url = reverse("api-balances")
        body = self.api(
            "get", f"{url}?license={self.license.uuid}&from=2026-04&to=2026-04", self.read_key
        )
        self.assertEqual(
            body.json()["results"],
            [
                {
                    "license": str(self.license.uuid),
                    "license_name": "Alpha Render",
                    "period": "2026-04",
                    "status": "closed",
                    "currency": "USD",
                    "starting_balance": "0.00",
                    "total_credits": "50.00",
                    "total_charges": "3.00",
                    "ending_balance": "47.00",
                }
            ],
        )
        everything = self.api("get", url, self.read_key).json()
        self.assertEqual(
            [(b["license_name"], b["period"]) for b in everything["results"]],
            [
                ("Alpha Render", "2026-05"),
                ("Tenant Sim", "2026-05"),
                ("Alpha Render", "2026-04"),
                ("Tenant Sim", "2026-04"),
            ],
        )
        bad = self.api("get", f"{url}?from=April", self.read_key)
        self.assertEqual((bad.status_code, bad.json()), (400, {"from": [ERR_MONTH]}))
        self.assertEqual(self.api("get", url, self.outsider_key).json()["count"], 2)
        self.assertEqual(self.api("get", url, self.ingest_key).status_code, 403)


class SchemaTests(ApiWorld):
    def test_every_statement_endpoint_is_in_the_openapi_schema(self) -> None:
        self.login(self.staff)
        schema = self.client.get(reverse("api-schema"), HTTP_ACCEPT="application/json").json()
        for path in (
            "/api/v1/licenses/{license_id}/statements/{month}",
            "/api/v1/licenses/{license_id}/statements/{month}/machine-usage",
            "/api/v1/licenses/{license_id}/credits",
            "/api/v1/transactions",
            "/api/v1/balances",
            "/api/v1/license-types",
            "/api/v1/machine-types/{machine_type_id}/rates",
            "/api/v1/licenses",
        ):
            self.assertIn(path, schema["paths"])
