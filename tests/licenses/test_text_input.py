"""Names in the catalog and license API are text PostgreSQL can store and usage can match: a
lone surrogate ("\\ud800" in JSON), a NUL or another control character is a 400 with the field's
message, never a 500, and nothing is created. The API's JSON parser refuses the first two in
any body before a serializer sees them (accounts.json_text); the catalog refuses the rest."""

from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.json_text import ERR_KEY, ERR_NUL, ERR_SURROGATE
from accounts.models import ApiKeyRole
from licenses.api import ERR_STATUS
from licenses.models import License, LicenseType, MachineRate, MachineType, Region
from licenses.services import ERR_NAME_TEXT, machine_type_create
from tests.base import BillingTestCase

BAD_TEXT = ("a\ud800b", "a\x00b", "eu\twest")


class CatalogTextTests(BillingTestCase):
    def setUp(self) -> None:
        _, self.admin_key = self.make_key(ApiKeyRole.ADMIN)

    def post(self, url: str, body: dict) -> object:
        return self.api("post", url, self.admin_key, body)

    def test_a_region_rate_key_must_be_a_clean_name(self) -> None:
        # With a bad rate too: DRF would key the rate's error by the name it cannot render.
        unstorable = {"non_field_errors": [ERR_KEY.format(reason=ERR_SURROGATE)]}
        nul = {"non_field_errors": [ERR_KEY.format(reason=ERR_NUL)]}
        for name, errors in zip(BAD_TEXT, (unstorable, nul, [ERR_NAME_TEXT]), strict=True):
            for rate in ("2", "cheap"):
                with self.subTest(name=name, rate=rate):
                    response = self.post(
                        reverse("api-machine-types"),
                        {"name": "c5.xlarge", "hourly_rate": "1", "region_rates": {name: rate}},
                    )
                    self.assertEqual(response.status_code, 400)
                    self.assertEqual(response.json(), {"region_rates": errors})
        self.assertEqual((MachineType.objects.count(), Region.objects.count()), (0, 0))

    def test_every_other_name_is_refused_too(self) -> None:
        machine_type = machine_type_create(actor=None, name="c5.xlarge", hourly_rate="1")
        rates = reverse("api-machine-type-rates", args=[machine_type.uuid])
        for name in BAD_TEXT:
            cases = [
                (reverse("api-license-types"), {"name": name, "hourly_rate": "1"}, "name"),
                (reverse("api-machine-types"), {"name": name, "hourly_rate": "1"}, "name"),
                (
                    reverse("api-licenses"),
                    {"account": str(self.account.uuid), "name": name},
                    "name",
                ),
                (
                    rates,
                    {"hourly_rate": "2", "effective_from": "2030-01-01T00:00:00Z", "region": name},
                    "region",
                ),
            ]
            for url, body, field in cases:
                with self.subTest(url=url, name=name):
                    response = self.post(url, body)
                    self.assertEqual(response.status_code, 400)
                    self.assertEqual(list(response.json()), [field])
        self.assertEqual(
            (
                LicenseType.objects.count(),
                MachineType.objects.count(),
                MachineRate.objects.count(),
                License.objects.count(),
            ),
            (0, 1, 1, 0),
        )

    def test_a_status_that_is_not_one_is_named_without_repeating_it(self) -> None:
        for value, message in [
            ("\ud800", ERR_SURROGATE),
            ("paused", ERR_STATUS),
            (["active"], ERR_STATUS),
        ]:
            with self.subTest(value=value):
                response = self.post(
                    reverse("api-licenses"),
                    {"account": str(self.account.uuid), "name": "L", "status": value},
                )
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json(), {"status": [message]})
        self.assertEqual(License.objects.count(), 0)

    def test_the_services_refuse_them_for_the_admin_as_well(self) -> None:
        for name in BAD_TEXT:
            with self.subTest(name=name), self.assertRaises(ValidationError) as refused:
                machine_type_create(actor=None, name=name, hourly_rate="1")
            self.assertEqual(refused.exception.message_dict, {"name": [ERR_NAME_TEXT]})
