from django.urls import reverse

from tests.base import BillingTestCase


class HomePageTests(BillingTestCase):
    def test_owner_sees_own_tree_only(self) -> None:
        response = self.login(self.owner).get(reverse("accounts:home"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Alpha Tenant")
        self.assertNotContains(response, "Outsider Co")
