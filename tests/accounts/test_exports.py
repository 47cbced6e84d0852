"""CSV downloads: content type, header, exactly the filtered rows, formulas neutralised."""

from decimal import Decimal

from django.test import SimpleTestCase
from django.urls import reverse

from accounts import services
from accounts.exports import csv_safe, download_filename
from tests.base import BillingTestCase, csv_rows
from tests.factories import AccountFactory

HOME = reverse("accounts:home")
AUDIT = reverse("accounts:audit_log")
FORMULA = '=HYPERLINK("http://x")'


class DownloadFilenameTests(SimpleTestCase):
    def test_parts_become_ascii_slugs_joined_by_dashes(self) -> None:
        self.assertEqual(
            download_filename("Zürich Farm", "2026-05", "statement", extension="pdf"),
            "zurich-farm-2026-05-statement.pdf",
        )

    def test_path_and_quote_characters_never_reach_the_name(self) -> None:
        self.assertEqual(
            download_filename('../..\\evil"; x', "渲染", extension="csv"), "evil-x.csv"
        )

    def test_a_name_with_nothing_left_is_called_download(self) -> None:
        self.assertEqual(download_filename("渲染", "/", extension="csv.gz"), "download.csv.gz")

    def test_an_extension_with_a_path_is_refused(self) -> None:
        with self.assertRaises(ValueError):
            download_filename("alpha", extension="pdf/../x")


class CsvSafeTests(SimpleTestCase):
    def test_text_a_spreadsheet_would_run_gets_a_leading_apostrophe(self) -> None:
        for text in (FORMULA, "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "\n=1", "-"):
            with self.subTest(text=text):
                self.assertEqual(csv_safe(text), "'" + text)

    def test_numbers_stay_numbers(self) -> None:
        self.assertEqual(csv_safe(-12), -12)
        self.assertEqual(csv_safe(Decimal("-12.30")), "-12.30")
        self.assertEqual(csv_safe(-0.5), -0.5)
        self.assertEqual(csv_safe("-12.30"), "-12.30")
        self.assertEqual(csv_safe("+7"), "+7")

    def test_plain_text_and_empty_values_pass_through(self) -> None:
        self.assertEqual(csv_safe("Alpha = beta"), "Alpha = beta")
        self.assertEqual(csv_safe(None), "")
        self.assertEqual(csv_safe(True), "true")


class AccountsCsvTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.formula = AccountFactory(
            name=FORMULA, slug="formula", parent=cls.account, organization="-42"
        )

    def test_download_has_header_and_the_filtered_rows_only(self) -> None:
        response = self.login(self.owner).get(HOME, {"q": "tenant", "export": "csv"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        self.assertRegex(
            response["Content-Disposition"], r'^attachment; filename="accounts-\d{8}-\d{4}\.csv"$'
        )
        rows = csv_rows(response)
        self.assertEqual(
            rows[0],
            [
                "Name",
                "Kind",
                "Parent",
                "Organization / team",
                "Currency",
                "Business model",
                "Tenants",
                "Active",
                "Created",
            ],
        )
        self.assertEqual(
            [row[:8] for row in rows[1:]],
            [
                [
                    "Alpha Tenant",
                    "Customer",
                    "Alpha Devices",
                    "Alpha Tenant Org",
                    "USD",
                    "Active devices",
                    "0",
                    "true",
                ]
            ],
        )

    def test_download_ignores_pagination(self) -> None:
        response = self.login(self.owner).get(HOME, {"export": "csv", "per_page": "1", "page": 2})
        self.assertEqual(len(csv_rows(response)), 1 + 3)

    def test_formula_is_neutralised_and_negative_number_stays_a_number(self) -> None:
        rows = csv_rows(self.login(self.owner).get(HOME, {"export": "csv", "sort": "name"}))
        formula_row = next(row for row in rows if row[0].endswith(FORMULA))
        self.assertEqual(formula_row[0], "'" + FORMULA)
        self.assertEqual(formula_row[3], "-42")

    def test_download_has_no_other_tenants_rows(self) -> None:
        rows = csv_rows(self.login(self.outsider).get(HOME, {"export": "csv"}))
        self.assertEqual([row[0] for row in rows[1:]], ["Outsider Co"])


class AuditCsvTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.formula = services.account_create(
            actor=cls.owner, name=FORMULA, kind="customer", parent=cls.account
        )
        services.account_update(actor=cls.owner, account=cls.account, organization="Alpha Labs")
        services.account_update(actor=cls.outsider, account=cls.outsider_account, name="Hidden")

    def test_download_has_header_and_the_filtered_rows_only(self) -> None:
        response = self.login(self.owner).get(AUDIT, {"export": "csv", "action": "update"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        self.assertRegex(
            response["Content-Disposition"], r'^attachment; filename="audit-log-\d{8}-\d{4}\.csv"$'
        )
        rows = csv_rows(response)
        self.assertEqual(
            rows[0],
            [
                "When (UTC)",
                "Who",
                "Via",
                "Account",
                "Action",
                "Object type",
                "Object id",
                "Old values",
                "New values",
            ],
        )
        self.assertEqual(
            [row[1:] for row in rows[1:]],
            [
                [
                    "owner",
                    "user",
                    "Alpha Devices",
                    "Update",
                    "accounts.account",
                    str(self.account.pk),
                    '{"organization": "Alpha Devices Org"}',
                    '{"organization": "Alpha Labs"}',
                ]
            ],
        )

    def test_formula_in_an_account_name_is_neutralised(self) -> None:
        rows = csv_rows(self.login(self.owner).get(AUDIT, {"export": "csv", "action": "create"}))
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[1][3], "'" + FORMULA)
        self.assertIn(f'"name": "{FORMULA.replace(chr(34), chr(92) + chr(34))}"', rows[1][8])
