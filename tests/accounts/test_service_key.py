"""The service key role (platform services): platform-wide, reads everything and ingests, but
never manages accounts, members or keys (the catalog's own endpoints are pinned in
tests/metering/test_catalog_*.py)."""

from django.urls import reverse

from accounts.models import Account, ApiKey, AuditEvent, Membership
from tests.base import BillingTestCase, run_cli


class ServiceKeyTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.key, cls.secret = cls.make_key("service")

    def counts(self) -> tuple[int, int, int, int]:
        return (
            Account.objects.count(),
            Membership.objects.count(),
            ApiKey.objects.count(),
            AuditEvent.objects.count(),
        )

    def test_create_api_key_makes_a_platform_wide_service_key(self) -> None:
        status, out, _ = run_cli("create_api_key", "--role", "service", "--name", "Invoicer")
        self.assertEqual(status, 0)
        key = ApiKey.objects.get(name="Invoicer")
        self.assertEqual((key.role, key.account), ("service", None))
        me = self.api("get", reverse("api-me"), out.strip()).json()
        self.assertEqual((me["role"], me["account"]), ("service", None))
        status, out, err = run_cli("create_api_key", "--role", "service", "--account", "alpha")
        self.assertEqual((status, out), (1, ""))
        self.assertIn("Only admin and service keys are platform-wide", err)

    def test_reads_every_account_and_its_members_list_is_refused(self) -> None:
        listed = self.api("get", reverse("api-accounts"), self.secret).json()
        self.assertEqual(listed["count"], 4)
        for account in (self.account, self.outsider_account):
            detail = self.api("get", reverse("api-account", args=[account.uuid]), self.secret)
            self.assertEqual(detail.status_code, 200)
            members = self.api(
                "get", reverse("api-account-members", args=[account.uuid]), self.secret
            )
            self.assertEqual(members.status_code, 403)

    def test_may_not_manage_accounts_or_members(self) -> None:
        before = self.counts()
        new_account = {"name": "Rogue", "kind": "customer", "parent": str(self.account.uuid)}
        self.assertEqual(
            self.api("post", reverse("api-accounts"), self.secret, new_account).status_code, 403
        )
        url = reverse("api-account", args=[self.tenant.uuid])
        self.assertEqual(self.api("patch", url, self.secret, {"name": "Renamed"}).status_code, 403)
        member = {"username": "rogue", "email": "rogue@example.com", "role": "owner"}
        url = reverse("api-account-members", args=[self.account.uuid])
        self.assertEqual(self.api("post", url, self.secret, member).status_code, 403)
        self.assertEqual(self.counts(), before)
        self.tenant.refresh_from_db()
        self.assertEqual(self.tenant.name, "Alpha Tenant")

    def test_keys_are_managed_only_in_the_admin_which_a_key_never_opens(self) -> None:
        # Keys are created in the admin and by create_api_key; no API endpoint makes them.
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"}
        for name in ("admin:accounts_apikey_add", "admin:accounts_apikey_changelist"):
            response = self.client.get(reverse(name), **headers)
            self.assertEqual(response.status_code, 302)
            self.assertIn("login/?next=", response["Location"])
        before = self.counts()
        self.client.post(
            reverse("admin:accounts_apikey_add"), {"name": "x", "role": "admin"}, **headers
        )
        self.assertEqual(self.counts(), before)
