"""Names in sentences: possessives and what the accounts below an account are called."""

from django.template import Context, Template
from django.test import SimpleTestCase

from accounts.models import Account, AccountKind
from accounts.wording import possessive, tenant_noun


class PossessiveTests(SimpleTestCase):
    def test_a_name_ending_in_s_takes_only_an_apostrophe(self) -> None:
        self.assertEqual(possessive("Globex Devices"), "Globex Devices'")
        self.assertEqual(possessive("ACME SYSTEMS"), "ACME SYSTEMS'")

    def test_any_other_name_takes_apostrophe_s(self) -> None:
        self.assertEqual(possessive("Metro Transit"), "Metro Transit's")
        self.assertEqual(possessive("Contoso"), "Contoso's")

    def test_the_template_filter_writes_the_same_escaped(self) -> None:
        template = Template("{% load wording %}{{ name|possessive }} package")
        self.assertEqual(
            template.render(Context({"name": "Globex <Devices>"})),
            "Globex &lt;Devices&gt;&#x27;s package",
        )
        self.assertEqual(
            template.render(Context({"name": "Globex Devices"})), "Globex Devices&#x27; package"
        )


class TenantNounTests(SimpleTestCase):
    def test_a_customer_has_tenants_and_the_levels_above_have_customers(self) -> None:
        self.assertEqual(
            {kind: tenant_noun(Account(kind=kind)) for kind in AccountKind.values},
            {
                "platform": "customer",
                "distributor": "customer",
                "partner": "customer",
                "customer": "tenant",
            },
        )
