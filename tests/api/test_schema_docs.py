"""The OpenAPI schema documents every answer an operation can give: the errors (with their
body), months with their pattern, and values that may be null."""

from datetime import timedelta

from django.utils import timezone

from accounts.schema import MONTH_PATTERN
from tests.base import BillingTestCase

SCHEMA = "/api/schema/?format=json"


class SchemaDocsTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.admin_key, cls.admin = cls.make_key("admin")

    def schema(self) -> dict:
        response = self.api("get", SCHEMA, self.admin)
        self.assertEqual(response.status_code, 200)
        return response.json()

    def test_the_statuses_each_kind_of_operation_documents(self) -> None:
        paths = self.schema()["paths"]
        for method, path, statuses in [
            ("get", "/api/v1/me", ["200", "401", "403", "429"]),
            ("get", "/api/v1/accounts", ["200", "401", "403", "429"]),
            ("get", "/api/v1/accounts/{account_id}", ["200", "401", "403", "404", "429"]),
            ("post", "/api/v1/license-types", ["201", "400", "401", "403", "413", "429"]),
            ("post", "/api/v1/licenses", ["201", "400", "401", "403", "404", "413", "429"]),
            (
                "get",
                "/api/v1/licenses/{license_id}/statements/{month}",
                ["200", "400", "401", "403", "404", "429"],
            ),
            ("get", "/api/v1/transactions", ["200", "400", "401", "403", "429"]),
            (
                "post",
                "/api/v1/campaigns",
                ["201", "400", "401", "403", "404", "409", "413", "429"],
            ),
        ]:
            with self.subTest(method=method, path=path):
                self.assertEqual(sorted(paths[path][method]["responses"]), statuses)

    def test_an_error_body_is_a_detail_and_a_400_one_has_field_messages(self) -> None:
        schema = self.schema()
        self.assertEqual(
            schema["components"]["schemas"]["Error"],
            {
                "type": "object",
                "properties": {"detail": {"type": "string"}},
                "required": ["detail"],
            },
        )
        refused = schema["paths"]["/api/v1/licenses"]["post"]["responses"]
        self.assertEqual(
            refused["404"]["content"]["application/json"]["schema"],
            {"$ref": "#/components/schemas/Error"},
        )
        field_errors = refused["400"]["content"]["application/json"]["schema"]
        self.assertEqual(
            (field_errors["type"], field_errors["additionalProperties"]), ("object", {})
        )

    def test_every_month_parameter_has_the_pattern(self) -> None:
        paths = self.schema()["paths"]
        for path, name in [
            ("/api/v1/balances", "from"),
            ("/api/v1/balances", "to"),
            ("/api/v1/billing-report", "month"),
            ("/api/v1/service-packages/quota-history", "month"),
            ("/api/v1/licenses/{license_id}/statements/{month}", "month"),
            ("/api/v1/licenses/{license_id}/statements/{month}/machine-usage", "month"),
        ]:
            with self.subTest(path=path, name=name):
                parameters = {p["name"]: p for p in paths[path]["get"]["parameters"]}
                self.assertEqual(parameters[name]["schema"]["pattern"], MONTH_PATTERN)

    def test_a_catalog_type_whose_first_rate_is_not_in_force_has_a_null_rate(self) -> None:
        later = (timezone.now() + timedelta(days=30)).isoformat()
        for path, schema_name in [
            ("/api/v1/license-types", "LicenseType"),
            ("/api/v1/machine-types", "MachineType"),
        ]:
            with self.subTest(path=path):
                response = self.api(
                    "post",
                    path,
                    self.admin,
                    {"name": "Later", "hourly_rate": "2.000000", "effective_from": later},
                )
                self.assertEqual(response.status_code, 201)
                self.assertIsNone(response.json()["hourly_rate"])
                documented = self.schema()["components"]["schemas"][schema_name]
                self.assertTrue(documented["properties"]["hourly_rate"]["nullable"])
