"""The catalog and license API: admin keys change it, read keys read it, and a new rate can
never start under usage that is already priced."""

from decimal import Decimal

from django.db.models import F
from django.urls import reverse

from accounts.models import ApiKeyRole
from licenses.models import License, LicenseType, MachineRate, MachineType
from licenses.services import ERR_RATE_EXISTS, ERR_RATE_PRICED
from tests.base import BillingTestCase
from tests.factories import LicenseFactory
from tests.statements.factories import at, catalog, ingest_and_poll, session

LICENSE_TYPES = reverse("api-license-types")
MACHINE_TYPES = reverse("api-machine-types")
LICENSES = reverse("api-licenses")


class CatalogApiTests(BillingTestCase):
    def setUp(self) -> None:
        _, self.admin_key = self.make_key(ApiKeyRole.ADMIN)
        _, self.read_key = self.make_key(ApiKeyRole.READ, self.account)
        _, self.finance_key = self.make_key(ApiKeyRole.FINANCE, self.account)

    def test_license_types_are_created_and_listed(self) -> None:
        created = self.api(
            "post", LICENSE_TYPES, self.admin_key, {"name": "standard", "hourly_rate": "0.05"}
        )
        self.assertEqual(created.status_code, 201)
        license_type = LicenseType.objects.get()
        self.assertEqual(
            created.json(),
            {
                "id": str(license_type.uuid),
                "name": "standard",
                "hourly_rate": "0.050000",
                "rates": [{"hourly_rate": "0.050000", "effective_from": "1970-01-01T00:00:00Z"}],
            },
        )
        listed = self.api("get", LICENSE_TYPES, self.read_key).json()
        self.assertEqual([t["name"] for t in listed["results"]], ["standard"])
        again = self.api(
            "post", LICENSE_TYPES, self.admin_key, {"name": "standard", "hourly_rate": "1"}
        )
        self.assertEqual(
            again.json(), {"name": ["A license type named 'standard' exists already."]}
        )

    def test_machine_types_with_region_rates_and_a_later_rate(self) -> None:
        created = self.api(
            "post",
            MACHINE_TYPES,
            self.admin_key,
            {"name": "c5.xlarge", "hourly_rate": "0.17", "region_rates": {"eu-west": "0.19"}},
        )
        self.assertEqual(created.status_code, 201)
        self.assertEqual(
            (created.json()["hourly_rate"], created.json()["region_rates"]),
            ("0.170000", {"eu-west": "0.190000"}),
        )
        machine_type = MachineType.objects.get()
        url = reverse("api-machine-type-rates", args=[machine_type.uuid])
        later = self.api(
            "post",
            url,
            self.admin_key,
            {"hourly_rate": "0.21", "effective_from": "2030-01-01T00:00:00Z", "region": "eu-west"},
        )
        self.assertEqual(later.status_code, 201)
        self.assertEqual(
            list(
                MachineRate.objects.order_by(
                    F("region").asc(nulls_first=True), "effective_from"
                ).values_list("region__name", "hourly_rate", "effective_from")
            ),
            [
                (None, Decimal("0.17"), at("1970-01-01")),
                ("eu-west", Decimal("0.19"), at("1970-01-01")),
                ("eu-west", Decimal("0.21"), at("2030-01-01")),
            ],
        )
        same = self.api(
            "post",
            url,
            self.admin_key,
            {"hourly_rate": "0.22", "effective_from": "2030-01-01T00:00:00Z", "region": "eu-west"},
        )
        self.assertEqual(same.json(), {"effective_from": [ERR_RATE_EXISTS]})

    def test_bad_rates_are_400s_and_only_admin_keys_write(self) -> None:
        for body in (
            {"name": "x", "hourly_rate": "-1"},
            {"name": "x", "hourly_rate": "0.0000001"},
            {"name": "", "hourly_rate": "1"},
            {"name": "x"},
            {"name": "x", "hourly_rate": "1", "region_rates": {"eu": "cheap"}},
        ):
            with self.subTest(body):
                self.assertEqual(
                    self.api("post", MACHINE_TYPES, self.admin_key, body).status_code, 400
                )
        self.assertEqual(
            self.api(
                "post", MACHINE_TYPES, self.finance_key, {"name": "x", "hourly_rate": "1"}
            ).status_code,
            403,
        )
        self.assertEqual(MachineType.objects.count(), 0)

    def test_a_rate_may_not_start_under_priced_usage(self) -> None:
        catalog({"c5.xlarge": "1.000000"}, {"standard": "0.500000"})
        license = LicenseFactory(account=self.account)
        ingest_and_poll([session(license, "a", "2026-04-10 10:00", 3600)], at("2026-05-01"))
        machine_type = MachineType.objects.get()
        url = reverse("api-machine-type-rates", args=[machine_type.uuid])
        refused = self.api(
            "post",
            url,
            self.admin_key,
            {"hourly_rate": "2", "effective_from": "2026-04-01T00:00:00Z"},
        )
        self.assertEqual(refused.status_code, 400)
        self.assertEqual(
            refused.json(),
            {
                "effective_from": [
                    ERR_RATE_PRICED.format(
                        since="2026-04-01 00:00:00Z", latest="2026-04-10 10:00:00Z"
                    )
                ]
            },
        )
        accepted = self.api(
            "post",
            url,
            self.admin_key,
            {"hourly_rate": "2", "effective_from": "2026-04-10T11:00:00Z"},
        )
        self.assertEqual(accepted.status_code, 201)
        license_type = LicenseType.objects.get()
        regional = self.api(
            "post",
            reverse("api-license-type-rates", args=[license_type.uuid]),
            self.admin_key,
            {"hourly_rate": "2", "effective_from": "2031-01-01T00:00:00Z", "region": "eu"},
        )
        self.assertEqual(
            regional.json(), {"region": ["License rates are the same in every region."]}
        )


class LicenseApiTests(BillingTestCase):
    def setUp(self) -> None:
        _, self.admin_key = self.make_key(ApiKeyRole.ADMIN)
        _, self.read_key = self.make_key(ApiKeyRole.READ, self.account)
        _, self.outsider_key = self.make_key(ApiKeyRole.READ, self.outsider_account)

    def test_an_admin_key_creates_a_license_and_gets_its_uuid(self) -> None:
        response = self.api(
            "post", LICENSES, self.admin_key, {"account": str(self.tenant.uuid), "name": "Farm"}
        )
        self.assertEqual(response.status_code, 201)
        license = License.objects.get()
        self.assertEqual(response.json()["id"], str(license.uuid))
        self.assertEqual(
            (license.account, license.name, license.status), (self.tenant, "Farm", "active")
        )
        detail = self.api("get", reverse("api-license", args=[license.uuid]), self.read_key)
        self.assertEqual(detail.json()["account"], str(self.tenant.uuid))
        self.assertEqual(
            self.api(
                "get", reverse("api-license", args=[license.uuid]), self.outsider_key
            ).status_code,
            404,
        )
        self.assertEqual(self.api("get", LICENSES, self.outsider_key).json()["count"], 0)

    def test_unknown_accounts_and_non_admin_keys(self) -> None:
        unknown = self.api(
            "post",
            LICENSES,
            self.admin_key,
            {"account": "00000000-0000-0000-0000-000000000000", "name": "x"},
        )
        self.assertEqual(unknown.status_code, 404)
        denied = self.api(
            "post", LICENSES, self.read_key, {"account": str(self.account.uuid), "name": "x"}
        )
        self.assertEqual(denied.status_code, 403)
        self.assertEqual(License.objects.count(), 0)
