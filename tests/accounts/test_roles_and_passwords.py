"""Role resolution along the account tree, and password changes in the audit log."""

import re

from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import AccountKind, AuditEvent, Role
from accounts.roles import role_on
from accounts.services import (
    PASSWORD_CHANGED,
    account_update,
    membership_add,
)
from tests.base import BillingTestCase
from tests.factories import MembershipFactory


class StrongestRoleTests(BillingTestCase):
    def test_an_aggregator_owner_keeps_ownership_of_a_tenant_where_also_a_member(self) -> None:
        MembershipFactory(user=self.owner, account=self.tenant, role=Role.MEMBER)
        self.assertEqual(role_on(self.owner, self.tenant), Role.OWNER)

    def test_a_tenant_admin_is_admin_there_and_nothing_above(self) -> None:
        MembershipFactory(user=self.teammate, account=self.tenant, role=Role.ADMIN)
        self.assertEqual(role_on(self.teammate, self.tenant), Role.ADMIN)
        self.assertEqual(role_on(self.teammate, self.account), Role.MEMBER)

    def test_the_stronger_tenant_role_lets_the_member_open_that_tenants_audit_log(self) -> None:
        MembershipFactory(user=self.teammate, account=self.tenant, role=Role.ADMIN)
        self.login(self.teammate)
        self.assertEqual(self.client.get(reverse("accounts:audit_log")).status_code, 403)
        self.switch_to(self.tenant)
        self.assertEqual(self.client.get(reverse("accounts:audit_log")).status_code, 200)


class PasswordAuditTests(BillingTestCase):
    def password_events(self, user: object) -> list[AuditEvent]:
        return list(
            AuditEvent.objects.filter(object_type="auth.user", object_id=str(user.pk)).order_by(
                "id"
            )
        )

    def test_changing_ones_password_is_logged_without_the_password(self) -> None:
        self.login(self.owner)
        response = self.client.post(
            reverse("password_change"),
            {
                "old_password": "test-password",
                "new_password1": "a-much-longer-pass-42",
                "new_password2": "a-much-longer-pass-42",
            },
        )
        self.assertRedirects(response, reverse("password_change_done"))
        [event] = self.password_events(self.owner)
        self.assertEqual((event.actor_label, event.action), ("owner", "update"))
        self.assertEqual(event.new_values, {"password": PASSWORD_CHANGED})
        self.assertNotIn("a-much-longer-pass-42", str(event.old_values) + str(event.new_values))

    def test_setting_a_password_from_the_welcome_link_is_logged_as_the_new_user(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            membership_add(
                actor=self.owner,
                account=self.account,
                username="newbie",
                email="newbie@example.com",
                role=Role.MEMBER,
                actor_role=Role.OWNER,
                site_url="http://testserver/",
            )
        link = re.search(r"http://testserver(/password/set/\S+)", mail.outbox[-1].body).group(1)
        form_url = self.client.get(link).url
        response = self.client.post(
            form_url, {"new_password1": "brand-new-pass-77", "new_password2": "brand-new-pass-77"}
        )
        self.assertEqual(response.status_code, 302)
        newbie = get_user_model().objects.get(username="newbie")
        last = self.password_events(newbie)[-1]
        self.assertEqual(
            (last.actor_label, last.new_values), ("newbie", {"password": PASSWORD_CHANGED})
        )

    def test_staff_setting_a_password_in_the_admin_is_logged(self) -> None:
        self.staff.is_superuser = True
        self.staff.save()
        self.login(self.staff)
        url = reverse("admin:auth_user_password_change", args=[self.teammate.pk])
        response = self.client.post(
            url, {"password1": "admin-set-pass-99", "password2": "admin-set-pass-99"}
        )
        self.assertEqual(response.status_code, 302)
        [event] = self.password_events(self.teammate)
        self.assertEqual(event.actor_label, "staff")


class AccountUpdateTests(BillingTestCase):
    def test_a_refused_change_leaves_the_object_as_stored(self) -> None:
        with self.assertRaises(ValidationError):
            account_update(
                actor=None, account=self.account, kind=AccountKind.PLATFORM, currency="EUR"
            )
        self.assertEqual((self.account.kind, self.account.currency), (AccountKind.CUSTOMER, "USD"))
