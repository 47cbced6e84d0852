"""Admin for platform staff: every add, change and delete leaves an audit entry; bad input is a
form error, never a 500; audit events and job runs are read-only."""

from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import (
    ERR_KEY_ACCOUNT,
    Account,
    ApiKey,
    AuditEvent,
    JobRun,
    Membership,
    Role,
)
from tests.base import BillingTestCase
from tests.factories import AccountFactory, MembershipFactory, UserFactory

User = get_user_model()


def inline_management(prefix: str, initial: int = 0, total: int | None = None) -> dict[str, Any]:
    return {
        f"{prefix}-TOTAL_FORMS": str(initial if total is None else total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def account_form(account: Account | None = None, **overrides: Any) -> dict[str, Any]:
    data = {
        "name": account.name if account else "Zeta Labs",
        "slug": account.slug if account else "zeta",
        "kind": account.kind if account else "customer",
        "parent": (account.parent_id or "") if account else "",
        "currency": account.currency if account else "USD",
        "organization": account.organization if account else "Zeta Org",
        "business_model": account.business_model if account else "active_devices",
        "attributes": "{}",
        "is_active": "on",
        **inline_management("children"),
        **inline_management("memberships"),
    }
    data.update(overrides)
    return data


class AdminTestCase(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.superuser = UserFactory(username="root", is_staff=True, is_superuser=True)

    def setUp(self) -> None:
        self.client.force_login(self.superuser)

    def events(self) -> list[AuditEvent]:
        return list(AuditEvent.objects.order_by("id"))

    def assertRootDid(self, event: AuditEvent, action: str, obj_type: str, obj_id: int) -> None:
        self.assertEqual(
            (event.actor_type, event.actor_id, event.actor_label),
            ("user", str(self.superuser.pk), "root"),
        )
        self.assertEqual(
            (event.action, event.object_type, event.object_id), (action, obj_type, str(obj_id))
        )


class AccountAdminAuditTests(AdminTestCase):
    def test_add_account_is_recorded(self) -> None:
        response = self.client.post(
            reverse("admin:accounts_account_add"), account_form(parent=self.account.pk)
        )
        self.assertEqual(response.status_code, 302)
        account = Account.objects.get(slug="zeta")
        [event] = self.events()
        self.assertRootDid(event, "create", "accounts.account", account.pk)
        self.assertEqual(event.account_id, account.pk)
        self.assertIsNone(event.old_values)
        self.assertEqual(
            (event.new_values["name"], event.new_values["parent_id"]),
            ("Zeta Labs", self.account.pk),
        )

    def test_change_account_and_add_a_member_inline_are_recorded(self) -> None:
        target = AccountFactory(name="Eta", slug="eta", parent=self.account)
        data = account_form(
            target,
            organization="Eta Holdings",
            **inline_management("memberships", initial=0, total=1),
            **{
                "memberships-0-id": "",
                "memberships-0-account": str(target.pk),
                "memberships-0-user": str(self.outsider.pk),
                "memberships-0-role": "finance",
            },
        )
        response = self.client.post(
            reverse("admin:accounts_account_change", args=[target.pk]), data
        )
        self.assertEqual(response.status_code, 302)
        membership = Membership.objects.get(account=target)
        self.assertEqual((membership.user, membership.role), (self.outsider, "finance"))
        account_event, membership_event = self.events()
        self.assertRootDid(account_event, "update", "accounts.account", target.pk)
        self.assertEqual(account_event.account_id, target.pk)
        self.assertEqual(account_event.old_values, {"organization": "Eta Org"})
        self.assertEqual(account_event.new_values, {"organization": "Eta Holdings"})
        self.assertRootDid(membership_event, "create", "accounts.membership", membership.pk)
        self.assertEqual(membership_event.account_id, target.pk)
        self.assertEqual(
            {k: membership_event.new_values[k] for k in ("user_id", "role")},
            {"user_id": self.outsider.pk, "role": "finance"},
        )

    def test_change_and_delete_a_member_inline_are_recorded(self) -> None:
        target = AccountFactory(name="Theta", slug="theta", parent=self.account)
        keep = MembershipFactory(user=self.owner, account=target, role=Role.MEMBER)
        drop = MembershipFactory(user=self.teammate, account=target, role=Role.MEMBER)
        data = account_form(
            target,
            **inline_management("memberships", initial=2),
            **{
                "memberships-0-id": str(keep.pk),
                "memberships-0-account": str(target.pk),
                "memberships-0-user": str(self.owner.pk),
                "memberships-0-role": "admin",
                "memberships-1-id": str(drop.pk),
                "memberships-1-account": str(target.pk),
                "memberships-1-user": str(self.teammate.pk),
                "memberships-1-role": "member",
                "memberships-1-DELETE": "on",
            },
        )
        response = self.client.post(
            reverse("admin:accounts_account_change", args=[target.pk]), data
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(
            list(target.memberships.values_list("user__username", "role")), [("owner", "admin")]
        )
        deleted, changed = self.events()
        self.assertRootDid(deleted, "delete", "accounts.membership", drop.pk)
        self.assertEqual(deleted.account_id, target.pk)
        self.assertEqual(deleted.old_values["user_id"], self.teammate.pk)
        self.assertIsNone(deleted.new_values)
        self.assertRootDid(changed, "update", "accounts.membership", keep.pk)
        self.assertEqual(
            (changed.old_values, changed.new_values), ({"role": "member"}, {"role": "admin"})
        )

    def test_delete_account_is_recorded_with_its_account_and_cascaded_rows(self) -> None:
        target = AccountFactory(name="Iota", slug="iota", parent=self.account)
        membership = MembershipFactory(user=self.owner, account=target, role=Role.ADMIN)
        key, _ = self.make_key("read", target)
        events_before = AuditEvent.objects.count()
        response = self.client.post(
            reverse("admin:accounts_account_delete", args=[target.pk]), {"post": "yes"}
        )
        self.assertEqual(response.status_code, 302)
        self.assertFalse(Account.objects.filter(pk=target.pk).exists())
        new_events = self.events()[events_before:]
        self.assertEqual(
            sorted((e.object_type, e.object_id, e.action, e.account_id) for e in new_events),
            [
                ("accounts.account", str(target.pk), "delete", target.pk),
                ("accounts.apikey", str(key.pk), "delete", target.pk),
                ("accounts.membership", str(membership.pk), "delete", target.pk),
            ],
        )
        account_event = next(e for e in new_events if e.object_type == "accounts.account")
        self.assertRootDid(account_event, "delete", "accounts.account", target.pk)
        self.assertEqual(account_event.old_values["name"], "Iota")
        self.assertIsNone(account_event.new_values)
        for event in new_events:
            self.assertNotIn("key_hash", event.old_values)

    def test_an_account_below_the_wrong_kind_is_a_form_error(self) -> None:
        response = self.client.post(
            reverse("admin:accounts_account_add"),
            account_form(kind="distributor", parent=self.account.pk),
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "A distributor cannot sit below a customer.")
        self.assertFalse(Account.objects.filter(slug="zeta").exists())
        self.assertEqual(AuditEvent.objects.count(), 0)

    def test_moving_an_account_below_its_own_tenant_is_a_form_error(self) -> None:
        response = self.client.post(
            reverse("admin:accounts_account_change", args=[self.account.pk]),
            account_form(self.account, parent=self.tenant.pk),
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(
            response, "An account cannot sit below itself or one of its own tenants."
        )
        self.assertEqual(Account.objects.get(pk=self.account.pk).parent, self.platform)
        self.assertEqual(AuditEvent.objects.count(), 0)

    def test_a_kind_that_cannot_hold_the_existing_tenants_is_a_form_error(self) -> None:
        distributor = AccountFactory(name="Nu", slug="nu", kind="distributor", parent=self.platform)
        partner = AccountFactory(name="Xi", slug="xi", kind="partner", parent=distributor)
        data = account_form(
            distributor,
            kind="customer",
            **inline_management("children", initial=1),
            **{
                "children-0-id": str(partner.pk),
                "children-0-parent": str(distributor.pk),
                "children-0-name": "Xi",
                "children-0-slug": "xi",
                "children-0-kind": "partner",
                "children-0-currency": "USD",
                "children-0-organization": partner.organization,
                "children-0-is_active": "on",
            },
        )
        response = self.client.post(
            reverse("admin:accounts_account_change", args=[distributor.pk]), data
        )
        self.assertContains(response, "A customer cannot hold the partner accounts below it.")
        self.assertEqual(Account.objects.get(pk=distributor.pk).kind, "distributor")
        self.assertEqual(AuditEvent.objects.count(), 0)

    def test_a_tenant_of_the_wrong_kind_added_inline_is_a_form_error(self) -> None:
        target = AccountFactory(name="Kappa", slug="kappa", parent=self.account)
        data = account_form(
            target,
            **inline_management("children", initial=0, total=1),
            **{
                "children-0-id": "",
                "children-0-parent": str(target.pk),
                "children-0-name": "Bad Partner",
                "children-0-slug": "bad-partner",
                "children-0-kind": "partner",
                "children-0-currency": "USD",
                "children-0-organization": "",
                "children-0-is_active": "on",
            },
        )
        url = reverse("admin:accounts_account_change", args=[target.pk])
        response = self.client.post(url, data)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "A partner cannot sit below a customer.")
        self.assertFalse(Account.objects.filter(slug="bad-partner").exists())
        self.assertEqual(AuditEvent.objects.count(), 0)

        data["children-0-kind"] = "customer"
        self.assertEqual(self.client.post(url, data).status_code, 302)
        tenant = Account.objects.get(slug="bad-partner")
        self.assertEqual(tenant.parent, target)
        [event] = self.events()
        self.assertRootDid(event, "create", "accounts.account", tenant.pk)


class ApiKeyAdminAuditTests(AdminTestCase):
    def test_add_key_shows_the_secret_once_and_records_no_secret(self) -> None:
        response = self.client.post(
            reverse("admin:accounts_apikey_add"),
            {
                "name": "Exporter",
                "role": "read",
                "account": str(self.account.pk),
                "expires_at_0": "",
                "expires_at_1": "",
            },
            follow=True,
        )
        self.assertEqual(response.status_code, 200)
        key = ApiKey.objects.get(name="Exporter")
        [message] = [str(m) for m in response.context["messages"] if "new key" in str(m)]
        secret = message.split("The new key is ")[1].split(" ")[0]
        self.assertTrue(secret.startswith(f"bk_{key.prefix}_"))
        self.assertEqual(self.api("get", "/api/v1/me", secret).json()["name"], "Exporter")
        [event] = self.events()
        self.assertRootDid(event, "create", "accounts.apikey", key.pk)
        self.assertEqual(event.account_id, self.account.pk)
        self.assertNotIn("key_hash", event.new_values)
        self.assertNotIn(secret, str(event.new_values))
        self.assertNotContains(
            self.client.get(reverse("admin:accounts_apikey_change", args=[key.pk])), key.key_hash
        )

    def test_a_key_with_the_wrong_scope_is_a_form_error(self) -> None:
        for role, account in (("admin", str(self.account.pk)), ("finance", "")):
            with self.subTest(role=role):
                response = self.client.post(
                    reverse("admin:accounts_apikey_add"),
                    {"name": "K", "role": role, "account": account},
                )
                self.assertContains(response, ERR_KEY_ACCOUNT)
        self.assertEqual(ApiKey.objects.count(), 0)
        self.assertEqual(AuditEvent.objects.count(), 0)

    def test_change_and_delete_key_are_recorded(self) -> None:
        key, _ = self.make_key("finance", self.account)
        response = self.client.post(
            reverse("admin:accounts_apikey_change", args=[key.pk]),
            {"name": "Renamed", "expires_at_0": "2030-01-01", "expires_at_1": "00:00:00"},
        )
        self.assertEqual(response.status_code, 302)
        response = self.client.post(
            reverse("admin:accounts_apikey_delete", args=[key.pk]), {"post": "yes"}
        )
        self.assertEqual(response.status_code, 302)
        self.assertFalse(ApiKey.objects.filter(pk=key.pk).exists())
        _created, changed, deleted = self.events()
        self.assertRootDid(changed, "update", "accounts.apikey", key.pk)
        self.assertEqual(changed.account_id, self.account.pk)
        self.assertEqual(
            (changed.old_values, changed.new_values),
            (
                {"name": "finance key", "expires_at": None},
                {"name": "Renamed", "expires_at": "2030-01-01T00:00:00Z"},
            ),
        )
        self.assertRootDid(deleted, "delete", "accounts.apikey", key.pk)
        self.assertEqual(deleted.account_id, self.account.pk)
        self.assertEqual(deleted.old_values["name"], "Renamed")
        self.assertNotIn("key_hash", deleted.old_values)

    def test_revoke_action_is_recorded(self) -> None:
        key, secret = self.make_key("read", self.account)
        response = self.client.post(
            reverse("admin:accounts_apikey_changelist"),
            {"action": "revoke", "_selected_action": [str(key.pk)]},
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.api("get", "/api/v1/me", secret).status_code, 401)
        self.assertEqual(self.events()[-1].new_values.keys(), {"revoked_at"})


class UserAdminAuditTests(AdminTestCase):
    def test_password_never_reaches_the_audit_log(self) -> None:
        response = self.client.post(
            reverse("admin:auth_user_add"),
            {
                "username": "added",
                "usable_password": "true",
                "password1": "a-very-secret-pass-99",
                "password2": "a-very-secret-pass-99",
            },
        )
        self.assertEqual(response.status_code, 302)
        user = User.objects.get(username="added")
        [event] = self.events()
        self.assertRootDid(event, "create", "auth.user", user.pk)
        self.assertNotIn("password", event.new_values)
        self.assertNotIn(user.password, str(event.new_values))


class ReadOnlyAdminTests(AdminTestCase):
    def test_audit_events_and_job_runs_can_be_listed_but_not_changed(self) -> None:
        self.make_key("admin")
        JobRun.objects.create(name="prune_job_runs", status="ok")
        for model in ("auditevent", "jobrun"):
            with self.subTest(model=model):
                changelist = self.client.get(reverse(f"admin:accounts_{model}_changelist"))
                self.assertEqual(changelist.status_code, 200)
                self.assertEqual(changelist.context["cl"].result_count, 1)
                self.assertEqual(
                    self.client.get(reverse(f"admin:accounts_{model}_add")).status_code, 403
                )

    def test_non_staff_members_cannot_open_the_admin(self) -> None:
        self.client.force_login(self.owner)
        response = self.client.get(reverse("admin:accounts_account_changelist"))
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith(reverse("admin:login")))
