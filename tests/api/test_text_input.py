"""JSON bodies with text no column can hold (a lone surrogate, NUL) or nested too deeply are a
400 with the field's message on every endpoint, never a 500 and never a write."""

from accounts.json_text import ERR_KEY, ERR_NUL, ERR_SURROGATE, ERR_TOO_DEEP
from accounts.models import Account, Membership
from licenses.models import License
from tests.base import BillingTestCase

ACCOUNTS = "/api/v1/accounts"
LICENSES = "/api/v1/licenses"
SURROGATE = "\ud800"


class TextInputTests(BillingTestCase):
    def setUp(self) -> None:
        _, self.admin = self.make_key("admin")

    def members(self) -> str:
        return f"{ACCOUNTS}/{self.account.uuid}/members"

    def assert_refused(self, path: str, body: object, errors: dict) -> None:
        before = (Account.objects.count(), Membership.objects.count(), License.objects.count())
        response = self.api("post", path, self.admin, body)
        self.assertEqual((response.status_code, response.json()), (400, errors))
        after = (Account.objects.count(), Membership.objects.count(), License.objects.count())
        self.assertEqual(after, before)

    def test_a_lone_surrogate_in_any_text_field(self) -> None:
        account = {"name": "New", "kind": "customer"}
        member = {"username": "newbie", "role": "member"}
        license = {"account": str(self.account.uuid), "name": "New license"}
        for path, body, field in [
            (ACCOUNTS, account, "name"),
            (ACCOUNTS, account, "kind"),
            (ACCOUNTS, account, "parent"),
            (ACCOUNTS, account, "currency"),
            (ACCOUNTS, account, "organization"),
            (ACCOUNTS, account, "business_model"),
            (self.members(), member, "username"),
            (self.members(), member, "email"),
            (self.members(), member, "role"),
            (LICENSES, license, "account"),
            (LICENSES, license, "name"),
            (LICENSES, license, "status"),
        ]:
            with self.subTest(path=path, field=field):
                self.assert_refused(
                    path, {**body, field: f"x{SURROGATE}"}, {field: [ERR_SURROGATE]}
                )

    def test_nul_in_a_text_field(self) -> None:
        self.assert_refused(ACCOUNTS, {"name": "a\x00b", "kind": "customer"}, {"name": [ERR_NUL]})

    def test_inside_attributes_the_message_names_the_key_and_the_index(self) -> None:
        attributes = {"region": "eu", "tags": ["ok", SURROGATE], "note": "\x00"}
        self.assert_refused(
            ACCOUNTS,
            {"name": "New", "kind": "customer", "attributes": attributes},
            {"attributes": {"tags": {"1": [ERR_SURROGATE]}, "note": [ERR_NUL]}},
        )

    def test_a_bad_key_is_reported_on_its_object(self) -> None:
        self.assert_refused(
            ACCOUNTS,
            {"name": "New", "kind": "customer", "attributes": {SURROGATE: 1}},
            {"attributes": {"non_field_errors": [ERR_KEY.format(reason=ERR_SURROGATE)]}},
        )

    def test_a_bare_string_body(self) -> None:
        self.assert_refused(ACCOUNTS, SURROGATE, {"non_field_errors": [ERR_SURROGATE]})

    def test_a_document_nested_too_deeply(self) -> None:
        response = self.client.post(
            ACCOUNTS,
            data="[" * 100_000 + "]" * 100_000,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.admin}",
        )
        self.assertEqual((response.status_code, response.json()), (400, {"detail": ERR_TOO_DEEP}))
