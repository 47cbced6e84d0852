"""Sign-in throttling (django-axes, switched off elsewhere in the tests): five failures lock a
user name everywhere and an address for every name, until the cool-off or a staff unlock."""

from datetime import timedelta

from axes.models import AccessAttempt
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.views import ERR_SIGN_IN_LOCKED
from tests.base import BillingTestCase
from tests.factories import UserFactory

LOGIN = reverse("login")
HOME = reverse("accounts:home")
WRONG = "Please enter a correct username and password"
LOCKED = ERR_SIGN_IN_LOCKED.format(minutes=15)
GUESSER, NEIGHBOUR = "192.0.2.10", "198.51.100.20"


@override_settings(AXES_ENABLED=True)
class SignInLockoutTests(BillingTestCase):
    def sign_in(self, password: str, username: str = "owner", address: str = GUESSER) -> object:
        return self.client.post(
            LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address
        )

    def assert_signed_out(self) -> None:
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_after_five_wrong_passwords_even_the_right_one_is_refused(self) -> None:
        for _ in range(4):
            self.assertContains(self.sign_in("wrong"), WRONG)
        self.assertContains(self.sign_in("wrong"), LOCKED, status_code=429)
        for _ in range(20):
            self.assertContains(self.sign_in("wrong"), LOCKED, status_code=429)
        response = self.sign_in("test-password")
        self.assertContains(response, LOCKED, status_code=429)
        self.assertContains(response, '<h1 class="h4 mb-3">Sign-in locked</h1>', status_code=429)
        self.assert_signed_out()

    def test_fewer_failures_than_the_limit_still_sign_in(self) -> None:
        for _ in range(4):
            self.sign_in("wrong")
        self.assertRedirects(self.sign_in("test-password"), HOME)

    def test_a_user_name_is_locked_from_every_address(self) -> None:
        for n in range(5):
            self.sign_in("wrong", address=f"203.0.113.{n}")
        self.assertContains(
            self.sign_in("test-password", address=NEIGHBOUR), LOCKED, status_code=429
        )
        self.assert_signed_out()
        # No single address reached the limit: the teammate signs in from the first one.
        self.assertRedirects(self.sign_in("test-password", "teammate", "203.0.113.0"), HOME)

    def test_an_address_is_locked_for_every_user_name(self) -> None:
        for n in range(5):
            self.sign_in("wrong", username=f"nobody{n}")
        self.assertContains(self.sign_in("test-password"), LOCKED, status_code=429)
        self.assert_signed_out()
        self.assertRedirects(self.sign_in("test-password", address=NEIGHBOUR), HOME)

    def test_signing_in_to_an_own_account_does_not_clear_the_guesses_at_another(self) -> None:
        UserFactory(username="mallory")
        for _ in range(4):
            self.sign_in("wrong")
        signed_in = self.sign_in("test-password", "mallory")
        self.assertRedirects(signed_in, HOME, fetch_redirect_response=False)
        self.client.logout()
        self.assertContains(self.sign_in("wrong"), LOCKED, status_code=429)

    @override_settings(TRUSTED_PROXY_COUNT=1)
    def test_behind_the_proxy_the_forwarded_client_is_locked_not_the_proxy(self) -> None:
        for n in range(5):
            self.client.post(
                LOGIN,
                {"username": f"nobody{n}", "password": "wrong"},
                REMOTE_ADDR="10.0.0.2",
                # The left entry is the client's own claim; the proxy appended the real one.
                HTTP_X_FORWARDED_FOR=f"{NEIGHBOUR}, {GUESSER}",
            )
        self.assertEqual(set(AccessAttempt.objects.values_list("ip_address", flat=True)), {GUESSER})
        through_proxy = {"REMOTE_ADDR": "10.0.0.2"}
        response = self.client.post(
            LOGIN,
            {"username": "owner", "password": "test-password"},
            HTTP_X_FORWARDED_FOR=NEIGHBOUR,
            **through_proxy,
        )
        self.assertRedirects(response, HOME)

    def test_the_lockout_ends_after_the_cool_off(self) -> None:
        for _ in range(5):
            self.sign_in("wrong")
        AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))
        self.assertRedirects(self.sign_in("test-password"), HOME)

    def test_staff_unlock_in_the_admin_and_the_unlock_is_audited(self) -> None:
        for _ in range(5):
            self.sign_in("wrong")
        attempt = AccessAttempt.objects.get()
        self.assertEqual((attempt.username, attempt.failures_since_start), ("owner", 5))
        root = UserFactory(username="root", is_staff=True, is_superuser=True)
        self.client.force_login(root)
        changelist = reverse("admin:axes_accessattempt_changelist")
        self.assertContains(self.client.get(changelist), "Locked Out")
        response = self.client.post(
            changelist,
            {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
        )
        self.assertRedirects(response, changelist)
        self.assertFalse(AccessAttempt.objects.exists())
        event = AuditEvent.objects.get()
        self.assertEqual(
            (event.actor_label, event.action, event.object_type, event.object_id),
            ("root", "delete", "axes.accessattempt", str(attempt.pk)),
        )
        self.assertEqual(event.old_values["username"], "owner")
        self.client.logout()
        self.assertRedirects(self.sign_in("test-password"), HOME)
