"""API: keys and sessions, 401/403/404/400 as JSON, accounts and their members."""

import hashlib
import json
import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.api_errors import ERR_BODY_TOO_LARGE
from accounts.models import Account, ApiKey, AuditEvent, Membership, Role
from tests.base import BillingTestCase
from tests.factories import MembershipFactory, UserFactory

User = get_user_model()

ME = "/api/v1/me"
ACCOUNTS = "/api/v1/accounts"
SCHEMA = "/api/schema/"


def account_url(account: Account) -> str:
    return f"{ACCOUNTS}/{account.uuid}"


def members_url(account: Account) -> str:
    return f"{ACCOUNTS}/{account.uuid}/members"


class ApiTestCase(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.admin_key, cls.admin_secret = cls.make_key("admin")
        cls.read_key, cls.read_secret = cls.make_key("read", cls.account)
        cls.finance_key, cls.finance_secret = cls.make_key("finance", cls.account)
        cls.ingest_key, cls.ingest_secret = cls.make_key("ingest", cls.account)
        cls.outsider_key, cls.outsider_secret = cls.make_key("read", cls.outsider_account)

    def assertJsonError(self, response: object, status: int, detail: str | None = None) -> None:
        self.assertEqual(response.status_code, status)
        self.assertEqual(response["Content-Type"], "application/json")
        body = response.json()
        self.assertIn("detail", body)
        if detail is not None:
            self.assertEqual(body["detail"], detail)

    def counts(self) -> tuple[int, int, int, int]:
        return (
            Account.objects.count(),
            Membership.objects.count(),
            User.objects.count(),
            AuditEvent.objects.count(),
        )


class AuthenticationTests(ApiTestCase):
    def endpoints(self) -> list[tuple[str, str]]:
        return [
            ("get", ME),
            ("get", ACCOUNTS),
            ("post", ACCOUNTS),
            ("get", account_url(self.account)),
            ("get", members_url(self.account)),
            ("post", members_url(self.account)),
            ("get", SCHEMA),
        ]

    def test_no_key_is_401_json_everywhere(self) -> None:
        before = self.counts()
        for method, path in self.endpoints():
            with self.subTest(method=method, path=path):
                response = self.api(method, path, data={} if method == "post" else None)
                self.assertJsonError(response, 401, "Authentication credentials were not provided.")
                self.assertEqual(response["WWW-Authenticate"], 'Bearer realm="api"')
        self.assertEqual(self.counts(), before)

    def test_bad_or_garbled_keys_are_401_json_everywhere(self) -> None:
        wrong_secret = self.read_secret[:-4] + "AAAA"
        headers = [
            f"Bearer {wrong_secret}",
            "Bearer bk_00000000_nothing",
            "Bearer bk_",
            "Bearer not-a-key",
            "Bearer",
            "Bearer two words",
            f"Bearer {self.read_secret}\u00e9",
        ]
        for method, path in self.endpoints():
            for header in headers:
                with self.subTest(method=method, path=path, header=header):
                    response = getattr(self.client, method)(
                        path,
                        data="{}" if method == "post" else None,
                        content_type="application/json",
                        HTTP_AUTHORIZATION=header,
                    )
                    self.assertJsonError(response, 401)

    def test_revoked_key_is_refused(self) -> None:
        services.api_key_revoke(actor=None, key=self.read_key)
        response = self.api("get", ACCOUNTS, self.read_secret)
        self.assertJsonError(response, 401, "Invalid, revoked or expired API key.")

    def test_expired_key_is_refused_and_an_unexpired_one_works(self) -> None:
        _, expired = self.make_key(
            "read", self.account, expires_at=timezone.now() - timedelta(seconds=1)
        )
        self.assertJsonError(self.api("get", ACCOUNTS, expired), 401)
        _, fresh = self.make_key(
            "read", self.account, expires_at=timezone.now() + timedelta(days=1)
        )
        self.assertEqual(self.api("get", ACCOUNTS, fresh).status_code, 200)

    def test_key_is_stored_only_as_its_sha256(self) -> None:
        key, secret = self.make_key("read", self.account)
        self.assertRegex(secret, r"^bk_[0-9a-f]{8}_[A-Za-z0-9_-]{40,}$")
        self.assertEqual(secret.split("_")[1], key.prefix)
        stored = ApiKey.objects.filter(pk=key.pk).values().get()
        self.assertEqual(stored["key_hash"], hashlib.sha256(secret.encode()).hexdigest())
        for column, value in stored.items():
            with self.subTest(column=column):
                self.assertNotIn(secret, str(value))
                self.assertNotIn(secret.split("_", 2)[2], str(value))

    def test_last_used_at_is_set_when_the_key_is_used(self) -> None:
        self.assertIsNone(ApiKey.objects.get(pk=self.read_key.pk).last_used_at)
        before = timezone.now()
        self.assertEqual(self.api("get", ME, self.read_secret).status_code, 200)
        last_used = ApiKey.objects.get(pk=self.read_key.pk).last_used_at
        self.assertIsNotNone(last_used)
        self.assertGreaterEqual(last_used, before)
        self.assertIsNone(ApiKey.objects.get(pk=self.finance_key.pk).last_used_at)


class MeTests(ApiTestCase):
    def test_key_describes_itself_and_its_account(self) -> None:
        body = self.api("get", ME, self.finance_secret).json()
        self.assertEqual(body["type"], "api_key")
        self.assertEqual(body["name"], "finance key")
        self.assertEqual(body["role"], "finance")
        self.assertEqual(body["account"]["id"], str(self.account.uuid))
        self.assertEqual(body["memberships"], [])

    def test_admin_key_has_no_account(self) -> None:
        body = self.api("get", ME, self.admin_secret).json()
        self.assertEqual((body["role"], body["account"]), ("admin", None))

    def test_signed_in_user_sees_its_memberships(self) -> None:
        self.login(self.owner)
        self.assertEqual(
            self.api("get", ME).json(),
            {
                "type": "user",
                "name": "owner",
                "role": None,
                "account": None,
                "memberships": [
                    {
                        "account": str(self.account.uuid),
                        "account_name": "Alpha Devices",
                        "role": "owner",
                    }
                ],
            },
        )


class AccountReadTests(ApiTestCase):
    def ids(self, response: object) -> list[str]:
        self.assertEqual(response.status_code, 200)
        return [row["id"] for row in response.json()["results"]]

    def test_read_key_lists_its_account_and_the_accounts_below(self) -> None:
        response = self.api("get", ACCOUNTS, self.read_secret)
        self.assertEqual(response.json()["count"], 2)
        self.assertEqual(self.ids(response), [str(self.account.uuid), str(self.tenant.uuid)])

    def test_admin_key_lists_every_account(self) -> None:
        self.assertEqual(len(self.ids(self.api("get", ACCOUNTS, self.admin_secret))), 4)

    def test_session_user_lists_what_it_may_see(self) -> None:
        self.login(self.outsider)
        self.assertEqual(self.ids(self.api("get", ACCOUNTS)), [str(self.outsider_account.uuid)])

    def test_detail_has_the_accounts_fields(self) -> None:
        response = self.api("get", account_url(self.tenant), self.read_secret)
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(
            {k: v for k, v in body.items() if k != "created_at"},
            {
                "id": str(self.tenant.uuid),
                "slug": "alpha-tenant",
                "name": "Alpha Tenant",
                "kind": "customer",
                "parent": str(self.account.uuid),
                "currency": "USD",
                "organization": "Alpha Tenant Org",
                "business_model": "active_devices",
                "attributes": {},
                "is_active": True,
                # Added by metering (tests/metering/test_account_billing.py).
                "price_plan": None,
                "effective_price_plan": None,
            },
        )

    def test_ingest_key_may_not_read(self) -> None:
        for path in (ACCOUNTS, account_url(self.account), members_url(self.account)):
            with self.subTest(path=path):
                self.assertJsonError(self.api("get", path, self.ingest_secret), 403)

    def test_ingest_key_may_still_ask_who_it_is(self) -> None:
        self.assertEqual(self.api("get", ME, self.ingest_secret).json()["role"], "ingest")

    def test_outsider_key_and_user_get_404_for_another_account(self) -> None:
        for account in (self.account, self.tenant, self.platform):
            for path in (account_url(account), members_url(account)):
                with self.subTest(path=path):
                    response = self.api("get", path, self.outsider_secret)
                    self.assertJsonError(response, 404, "Not found.")
                    self.client.force_login(self.outsider)
                    self.assertJsonError(self.api("get", path), 404, "Not found.")
                    self.client.logout()

    def test_outsider_cannot_add_members_to_another_account(self) -> None:
        _, outsider_finance = self.make_key("finance", self.outsider_account)
        before = self.counts()
        data = {"username": "spy", "email": "spy@example.com", "role": "member"}
        self.assertJsonError(
            self.api("post", members_url(self.account), self.outsider_secret, data), 404
        )
        self.assertJsonError(
            self.api("post", members_url(self.tenant), outsider_finance, data), 404
        )
        self.client.force_login(self.outsider)
        self.assertJsonError(self.api("post", members_url(self.account), data=data), 404)
        self.assertEqual(self.counts(), before)

    def test_unknown_account_is_404_json(self) -> None:
        fake = f"{ACCOUNTS}/{uuid.uuid4()}"
        self.assertJsonError(self.api("get", fake, self.admin_secret), 404, "Not found.")
        response = self.api("get", f"{ACCOUNTS}/not-a-uuid", self.admin_secret)
        self.assertJsonError(response, 404, "Not found.")


class AccountCreateTests(ApiTestCase):
    def payload(self, **overrides: object) -> dict:
        return {
            "name": "Gamma Grid",
            "kind": "customer",
            "parent": str(self.account.uuid),
            "currency": "eur",
            "organization": "Gamma Org",
            **overrides,
        }

    def test_admin_key_creates_an_account(self) -> None:
        response = self.api("post", ACCOUNTS, self.admin_secret, self.payload())
        self.assertEqual(response.status_code, 201)
        body = response.json()
        account = Account.objects.get(slug="gamma-grid")
        self.assertEqual(body["id"], str(account.uuid))
        self.assertEqual(body["slug"], "gamma-grid")
        self.assertEqual(
            (account.name, account.kind, account.parent, account.currency, account.organization),
            ("Gamma Grid", "customer", self.account, "EUR", "Gamma Org"),
        )
        # The owner of the parent now sees it too.
        self.login(self.owner)
        self.assertEqual(self.api("get", account_url(account)).status_code, 200)

    def test_a_body_over_the_limit_is_a_json_413_and_creates_nothing(self) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = json.dumps(self.payload(organization="x" * limit))
        response = self.client.post(
            ACCOUNTS,
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.admin_secret}",
        )
        self.assertEqual(response.status_code, 413)
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertEqual(response.json(), {"detail": ERR_BODY_TOO_LARGE.format(limit=limit)})
        self.assertFalse(Account.objects.filter(slug="gamma-grid").exists())

    def test_staff_session_creates_an_account(self) -> None:
        self.login(self.staff)
        response = self.api("post", ACCOUNTS, data=self.payload(parent=None, name="Top"))
        self.assertEqual(response.status_code, 201)
        self.assertIsNone(Account.objects.get(uuid=response.json()["id"]).parent)

    def test_other_keys_and_members_may_not_create_accounts(self) -> None:
        before = self.counts()
        for secret in (self.read_secret, self.finance_secret, self.ingest_secret):
            with self.subTest(secret=secret[:11]):
                self.assertJsonError(self.api("post", ACCOUNTS, secret, self.payload()), 403)
        self.login(self.owner)
        self.assertJsonError(self.api("post", ACCOUNTS, data=self.payload()), 403)
        self.assertEqual(self.counts(), before)

    def test_bad_input_is_400_with_field_messages_and_writes_nothing(self) -> None:
        customer, unknown = self.account, uuid.uuid4()
        cases = [
            ({"currency": "ZZZ"}, {"currency": ["'ZZZ' is not an ISO 4217 currency code."]}),
            (
                {"currency": "EURO"},
                {"currency": ["Ensure this field has no more than 3 characters."]},
            ),
            ({"kind": "reseller"}, {"kind": ['"reseller" is not a valid choice.']}),
            (
                {"parent": str(unknown)},
                {"parent": [f"Object with uuid={unknown} does not exist."]},
            ),
            ({"parent": "not-a-uuid"}, {"parent": ["“not-a-uuid” is not a valid UUID."]}),
            (
                {"kind": "distributor", "parent": str(customer.uuid)},
                {"parent": ["A distributor cannot sit below a customer."]},
            ),
            (
                {"kind": "platform", "parent": str(self.platform.uuid)},
                {"parent": ["A platform account has no parent."]},
            ),
            ({"name": ""}, {"name": ["This field may not be blank."]}),
        ]
        before = self.counts()
        for overrides, errors in cases:
            with self.subTest(overrides=overrides):
                response = self.api("post", ACCOUNTS, self.admin_secret, self.payload(**overrides))
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response["Content-Type"], "application/json")
                self.assertEqual(response.json(), errors)
        self.assertEqual(self.counts(), before)

    def test_a_name_already_taken_gets_its_own_slug(self) -> None:
        first = self.api("post", ACCOUNTS, self.admin_secret, self.payload()).json()
        second = self.api("post", ACCOUNTS, self.admin_secret, self.payload()).json()
        self.assertEqual((first["slug"], second["slug"]), ("gamma-grid", "gamma-grid-2"))


class MemberTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.account_admin = UserFactory(username="account-admin")
        cls.finance_user = UserFactory(username="finance-user")
        MembershipFactory(user=cls.account_admin, account=cls.account, role=Role.ADMIN)
        MembershipFactory(user=cls.finance_user, account=cls.account, role=Role.FINANCE)

    def usernames(self, response: object) -> list[str]:
        self.assertEqual(response.status_code, 200)
        return [row["username"] for row in response.json()["results"]]

    def test_admin_key_lists_members_with_their_roles(self) -> None:
        response = self.api("get", members_url(self.account), self.admin_secret)
        rows = [
            {k: v for k, v in r.items() if k != "created_at"} for r in response.json()["results"]
        ]
        self.assertEqual(
            rows,
            [
                {"username": "owner", "email": "owner@example.com", "role": "owner"},
                {"username": "teammate", "email": "teammate@example.com", "role": "member"},
                {
                    "username": "account-admin",
                    "email": "account-admin@example.com",
                    "role": "admin",
                },
                {
                    "username": "finance-user",
                    "email": "finance-user@example.com",
                    "role": "finance",
                },
            ],
        )

    def test_owner_and_admin_users_manage_members_others_get_403(self) -> None:
        for user in (self.owner, self.account_admin):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                self.assertEqual(len(self.usernames(self.api("get", members_url(self.account)))), 4)
        before = self.counts()
        for user in (self.teammate, self.finance_user):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                self.assertJsonError(self.api("get", members_url(self.account)), 403)
                response = self.api(
                    "post",
                    members_url(self.account),
                    data={"username": "x", "email": "x@example.com", "role": "member"},
                )
                self.assertJsonError(response, 403)
        self.assertEqual(self.counts(), before)

    def test_owner_of_the_parent_manages_a_tenants_members(self) -> None:
        self.login(self.owner)
        self.assertEqual(self.usernames(self.api("get", members_url(self.tenant))), [])

    def test_finance_and_read_keys_may_not_manage_members(self) -> None:
        before = self.counts()
        for secret in (self.finance_secret, self.read_secret):
            with self.subTest(secret=secret[:11]):
                self.assertJsonError(self.api("get", members_url(self.account), secret), 403)
                response = self.api(
                    "post",
                    members_url(self.account),
                    secret,
                    {"username": "x", "email": "x@example.com", "role": "member"},
                )
                self.assertJsonError(response, 403)
        self.assertEqual(self.counts(), before)
        self.assertEqual(len(mail.outbox), 0)

    def test_new_member_gets_no_password_and_one_email_with_a_working_link(self) -> None:
        self.login(self.owner)
        with self.captureOnCommitCallbacks(execute=True):
            response = self.api(
                "post",
                members_url(self.account),
                data={"username": "newbie", "email": "newbie@example.com", "role": "finance"},
            )
        self.assertEqual(response.status_code, 201)
        self.assertEqual(
            {k: v for k, v in response.json().items() if k != "created_at"},
            {"username": "newbie", "email": "newbie@example.com", "role": "finance"},
        )
        newbie = User.objects.get(username="newbie")
        self.assertFalse(newbie.has_usable_password())
        self.assertEqual(Membership.objects.get(user=newbie).role, "finance")
        self.assertEqual(len(mail.outbox), 1)
        message = mail.outbox[0]
        self.assertEqual(message.to, ["newbie@example.com"])
        self.assertEqual(message.subject, "You have been added to Alpha Devices")
        link = re.search(r"http://testserver(/password/set/\S+/)", message.body).group(1)

        self.client.logout()
        form = self.client.get(link, follow=True)
        self.assertContains(form, "Set your password")
        self.assertNotContains(form, "This link has been used or has expired")
        done = self.client.post(
            form.redirect_chain[-1][0],
            {"new_password1": "fresh-start-2024!", "new_password2": "fresh-start-2024!"},
        )
        self.assertRedirects(done, reverse("password_reset_complete"))
        newbie.refresh_from_db()
        self.assertTrue(newbie.check_password("fresh-start-2024!"))
        self.assertTrue(self.client.login(username="newbie", password="fresh-start-2024!"))
        # The link works once.
        self.client.logout()
        self.assertContains(self.client.get(link, follow=True), "has been used or has expired")

    def test_existing_user_is_added_without_an_email(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            response = self.api(
                "post",
                members_url(self.tenant),
                self.admin_secret,
                {"username": "outsider", "email": "outsider@example.com", "role": "member"},
            )
        self.assertEqual(response.status_code, 201)
        self.assertEqual(len(mail.outbox), 0)
        self.assertTrue(self.outsider.check_password("test-password"))
        self.assertEqual(
            Membership.objects.get(user=self.outsider, account=self.tenant).role, "member"
        )

    def test_bad_input_is_400_with_field_messages_and_writes_nothing(self) -> None:
        cases = [
            (
                {"username": "teammate", "email": "teammate@example.com", "role": "admin"},
                {"username": ["teammate is already a member of this account."]},
            ),
            (
                {"username": "outsider", "email": "other@example.com", "role": "member"},
                {"email": ["That username exists with a different e-mail address."]},
            ),
            (
                {"username": "newbie", "email": "newbie@example.com", "role": "boss"},
                {"role": ['"boss" is not a valid choice.']},
            ),
            (
                {"username": "newbie", "email": "not-an-email", "role": "member"},
                {"email": ["Enter a valid email address."]},
            ),
            (
                {"email": "newbie@example.com", "role": "member"},
                {"username": ["This field is required."]},
            ),
            (
                {"username": "bad name!", "email": "newbie@example.com", "role": "member"},
                {
                    "username": [
                        "Enter a valid username. This value may contain only letters, numbers, "
                        "and @/./+/-/_ characters."
                    ]
                },
            ),
        ]
        before = self.counts()
        for data, errors in cases:
            with self.subTest(data=data), self.captureOnCommitCallbacks(execute=True):
                response = self.api("post", members_url(self.account), self.admin_secret, data)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json(), errors)
        self.assertEqual(self.counts(), before)
        self.assertEqual(len(mail.outbox), 0)

    def test_only_an_owner_makes_owners(self) -> None:
        self.login(self.account_admin)
        response = self.api(
            "post",
            members_url(self.account),
            data={"username": "boss", "email": "boss@example.com", "role": "owner"},
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json(), {"role": ["Only an owner can make someone an owner."]})
        self.assertFalse(User.objects.filter(username="boss").exists())
        self.login(self.owner)
        response = self.api(
            "post",
            members_url(self.account),
            data={"username": "boss", "email": "boss@example.com", "role": "owner"},
        )
        self.assertEqual(response.status_code, 201)


class SchemaTests(ApiTestCase):
    def test_schema_lists_the_endpoints_and_bearer_auth(self) -> None:
        response = self.api("get", f"{SCHEMA}?format=json", self.read_secret)
        self.assertEqual(response.status_code, 200)
        schema = response.json()
        foundation = {
            "/api/v1/accounts",
            "/api/v1/accounts/{account_id}",
            "/api/v1/accounts/{account_id}/members",
            "/api/v1/me",
        }
        self.assertLessEqual(foundation, set(schema["paths"]))
        self.assertTrue(all(path.startswith("/api/v1/") for path in schema["paths"]))
        self.assertEqual(sorted(schema["paths"]["/api/v1/accounts"]), ["get", "post"])
        ingest = schema["paths"]["/api/v1/events"]["post"]
        self.assertIn("The JSON body may be up to 8,388,608 bytes (8 MiB)", ingest["description"])
        self.assertEqual(
            ingest["responses"]["413"]["description"],
            ERR_BODY_TOO_LARGE.format(limit=8 * 2**20),
        )
        schemes = schema["components"]["securitySchemes"]
        self.assertIn(
            {"type": "http", "scheme": "bearer"},
            [{k: v for k, v in s.items() if k in ("type", "scheme")} for s in schemes.values()],
        )

    def test_signed_in_user_reads_the_schema(self) -> None:
        self.login(self.teammate)
        response = self.client.get(SCHEMA)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.content.startswith(b"openapi: 3"))
