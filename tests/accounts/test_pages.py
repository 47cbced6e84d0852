"""Pages: sign-in required, outsiders get 404, wrong roles 403, right roles see their rows."""

import re
import uuid

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services
from accounts.models import Account, Role
from accounts.selectors import SESSION_ACCOUNT_KEY
from tests.base import BillingTestCase, html_tables
from tests.factories import AccountFactory, MembershipFactory, UserFactory

HOME = reverse("accounts:home")
SWITCH = reverse("accounts:switch")
AUDIT = reverse("accounts:audit_log")
HEALTH = reverse("accounts:health")
PASSWORD_CHANGE = reverse("password_change")
API_DOCS = reverse("api-docs")
LOGIN = reverse("login")


def names(rows: list[list[str]]) -> list[str]:
    return [row[0] for row in rows]


class SignInRequiredTests(BillingTestCase):
    def test_anonymous_is_sent_to_login_from_every_page(self) -> None:
        detail = reverse("accounts:detail", args=[self.account.uuid])
        for path in (HOME, detail, AUDIT, f"{AUDIT}?export=csv", HEALTH, PASSWORD_CHANGE, API_DOCS):
            with self.subTest(path=path):
                response = self.client.get(path)
                self.assertRedirects(
                    response, f"{LOGIN}?next={path.replace('?', '%3F').replace('=', '%3D')}"
                )

    def test_anonymous_switch_is_sent_to_login_and_sets_nothing(self) -> None:
        response = self.client.post(SWITCH, {"account": str(self.account.uuid)})
        self.assertRedirects(response, f"{LOGIN}?next={SWITCH}")
        self.assertNotIn(SESSION_ACCOUNT_KEY, self.client.session)

    def test_login_page_itself_is_open(self) -> None:
        response = self.client.get(LOGIN)
        self.assertContains(response, "Sign in to Billing")

    def test_sign_in_and_sign_out_through_the_forms(self) -> None:
        response = self.client.post(LOGIN, {"username": "owner", "password": "test-password"})
        self.assertRedirects(response, HOME)
        self.assertContains(self.client.get(HOME), "Alpha Tenant")
        self.assertRedirects(self.client.post(reverse("logout")), LOGIN)
        self.assertRedirects(self.client.get(HOME), f"{LOGIN}?next=/")

    def test_wrong_password_stays_on_the_form(self) -> None:
        response = self.client.post(LOGIN, {"username": "owner", "password": "nope"})
        self.assertContains(response, "Please enter a correct username and password")
        self.assertNotIn("_auth_user_id", self.client.session)


class HomePageTests(BillingTestCase):
    def test_owner_sees_own_account_and_its_tenant_only(self) -> None:
        response = self.login(self.owner).get(HOME)
        self.assertEqual(response.status_code, 200)
        [rows] = html_tables(response)
        self.assertEqual(
            [row[:8] for row in rows],
            [
                [
                    "Alpha Devices",
                    "Customer",
                    "Platform",
                    "Alpha Devices Org",
                    "USD",
                    "Active devices",
                    "1",
                    "✔",
                ],
                [
                    "Alpha Tenant",
                    "Customer",
                    "Alpha Devices",
                    "Alpha Tenant Org",
                    "USD",
                    "Active devices",
                    "0",
                    "✔",
                ],
            ],
        )
        self.assertContains(response, "Viewing <strong>Alpha Devices</strong>")
        self.assertNotContains(response, "Outsider Co")

    def test_read_only_teammate_sees_the_same_tree(self) -> None:
        [rows] = html_tables(self.login(self.teammate).get(HOME))
        self.assertEqual(names(rows), ["Alpha Devices", "Alpha Tenant"])

    def test_outsider_sees_only_own_account(self) -> None:
        response = self.login(self.outsider).get(HOME)
        [rows] = html_tables(response)
        self.assertEqual(names(rows), ["Outsider Co"])
        self.assertNotContains(response, "Alpha")

    def test_staff_starts_at_the_platform_root_and_sees_every_account(self) -> None:
        [rows] = html_tables(self.login(self.staff).get(HOME))
        self.assertEqual(names(rows), ["Alpha Devices", "Alpha Tenant", "Outsider Co", "Platform"])

    def test_filter_keeps_only_matching_rows(self) -> None:
        [rows] = html_tables(self.login(self.owner).get(HOME, {"q": "tenant"}))
        self.assertEqual(names(rows), ["Alpha Tenant"])

    def test_navigation_hides_what_the_role_may_not_open(self) -> None:
        owner_page = self.login(self.owner).get(HOME)
        self.assertContains(owner_page, f'href="{AUDIT}"')
        self.assertNotContains(owner_page, f'href="{HEALTH}"')
        teammate_page = self.login(self.teammate).get(HOME)
        self.assertNotContains(teammate_page, f'href="{AUDIT}"')
        staff_page = self.login(self.staff).get(HOME)
        self.assertContains(staff_page, f'href="{HEALTH}"')


class AccountDetailTests(BillingTestCase):
    def url(self, account: object) -> str:
        return reverse("accounts:detail", args=[account.uuid])

    def test_owner_sees_details_tenants_and_members(self) -> None:
        response = self.login(self.owner).get(self.url(self.account))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, '<h1 class="h3 mb-0">Alpha Devices</h1>', html=True)
        self.assertContains(response, f"<code>{self.account.uuid}</code>", html=True)
        tenants, members = html_tables(response)
        self.assertEqual(names(tenants), ["Alpha Tenant"])
        self.assertEqual(
            [row[:3] for row in members],
            [
                ["owner", "owner@example.com", "Owner"],
                ["teammate", "teammate@example.com", "Member (read-only)"],
            ],
        )

    def test_an_account_without_tenants_says_so_instead_of_an_empty_table(self) -> None:
        response = self.login(self.outsider).get(self.url(self.outsider_account))
        self.assertContains(response, "Outsider Co has no tenants.")
        [members] = html_tables(response)
        self.assertEqual([row[0] for row in members], ["outsider"])

    def test_the_platform_lists_the_accounts_below_it(self) -> None:
        response = self.login(self.staff).get(self.url(self.platform))
        self.assertContains(response, '<h2 class="h5">Accounts below</h2>', html=True)
        tenants, members = html_tables(response)
        self.assertEqual(names(tenants), ["Alpha Devices", "Outsider Co"])
        self.assertEqual(members, [["No members yet."]])

    def test_owner_may_open_a_tenant_below_the_account(self) -> None:
        response = self.login(self.owner).get(self.url(self.tenant))
        self.assertContains(response, '<h1 class="h3 mb-0">Alpha Tenant</h1>', html=True)

    def test_read_only_teammate_sees_the_account_but_not_its_members(self) -> None:
        response = self.login(self.teammate).get(self.url(self.account))
        self.assertEqual(response.status_code, 200)
        [tenants] = html_tables(response)
        self.assertEqual(names(tenants), ["Alpha Tenant"])
        self.assertNotContains(response, "Members")
        self.assertNotContains(response, "owner@example.com")

    def test_outsider_gets_404_for_another_accounts_page(self) -> None:
        for account in (self.account, self.tenant, self.platform):
            with self.subTest(account=account.name):
                response = self.login(self.outsider).get(self.url(account))
                self.assertEqual(response.status_code, 404)
                self.assertNotContains(response, account.name, status_code=404)

    def test_unknown_account_is_404(self) -> None:
        response = self.login(self.staff).get(reverse("accounts:detail", args=[uuid.uuid4()]))
        self.assertEqual(response.status_code, 404)

    def test_staff_sees_any_account(self) -> None:
        response = self.login(self.staff).get(self.url(self.outsider_account))
        self.assertContains(response, '<h1 class="h3 mb-0">Outsider Co</h1>', html=True)


class SwitchAccountTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.other = AccountFactory(name="Beta Works", slug="beta", parent=cls.platform)
        cls.other_tenant = AccountFactory(name="Beta Tenant", slug="beta-tenant", parent=cls.other)
        cls.both = UserFactory(username="both")
        MembershipFactory(user=cls.both, account=cls.account, role=Role.MEMBER)
        MembershipFactory(user=cls.both, account=cls.other, role=Role.FINANCE)

    def test_member_of_two_accounts_switches_between_their_trees(self) -> None:
        client = self.login(self.both)
        [rows] = html_tables(client.get(HOME))
        self.assertEqual(names(rows), ["Alpha Devices", "Alpha Tenant"])

        response = client.post(SWITCH, {"account": str(self.other.uuid), "next": HOME})
        self.assertRedirects(response, HOME)
        self.assertEqual(client.session[SESSION_ACCOUNT_KEY], str(self.other.uuid))
        page = client.get(HOME)
        [rows] = html_tables(page)
        self.assertEqual(names(rows), ["Beta Tenant", "Beta Works"])
        self.assertContains(page, "Viewing <strong>Beta Works</strong>")

    def test_switcher_lists_every_visible_account_and_marks_the_current_one(self) -> None:
        response = self.login(self.both).get(HOME)
        self.assertContains(
            response, f'<option value="{self.account.uuid}" selected>Alpha Devices</option>'
        )
        self.assertContains(response, f'<option value="{self.other.uuid}">Beta Works</option>')
        self.assertNotContains(response, str(self.outsider_account.uuid))

    def test_switching_to_an_account_below_shows_only_its_tree(self) -> None:
        client = self.login(self.owner)
        client.post(SWITCH, {"account": str(self.tenant.uuid)})
        [rows] = html_tables(client.get(HOME))
        self.assertEqual(names(rows), ["Alpha Tenant"])

    def test_outsider_cannot_switch_to_an_account_it_cannot_see(self) -> None:
        client = self.login(self.outsider)
        for target in (str(self.account.uuid), str(uuid.uuid4()), "not-a-uuid", ""):
            with self.subTest(target=target):
                response = client.post(SWITCH, {"account": target})
                self.assertEqual(response.status_code, 404)
                self.assertNotIn(SESSION_ACCOUNT_KEY, client.session)
        [rows] = html_tables(client.get(HOME))
        self.assertEqual(names(rows), ["Outsider Co"])

    def test_redirects_back_to_a_local_next_and_never_off_site(self) -> None:
        client = self.login(self.both)
        response = client.post(SWITCH, {"account": str(self.other.uuid), "next": PASSWORD_CHANGE})
        self.assertRedirects(response, PASSWORD_CHANGE)
        response = client.post(
            SWITCH, {"account": str(self.other.uuid), "next": "https://evil.example/"}
        )
        self.assertRedirects(response, HOME)

    def test_get_is_not_allowed(self) -> None:
        response = self.login(self.both).get(SWITCH, {"account": str(self.other.uuid)})
        self.assertEqual(response.status_code, 405)
        self.assertNotIn(SESSION_ACCOUNT_KEY, self.client.session)

    def test_a_stale_choice_falls_back_to_the_default_account(self) -> None:
        client = self.login(self.both)
        client.post(SWITCH, {"account": str(self.other.uuid)})
        self.both.memberships.filter(account=self.other).delete()
        [rows] = html_tables(client.get(HOME))
        self.assertEqual(names(rows), ["Alpha Devices", "Alpha Tenant"])


class AuditLogPageTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        services.account_update(actor=cls.owner, account=cls.account, organization="Alpha Labs")
        services.account_update(actor=cls.owner, account=cls.tenant, currency="EUR")
        services.account_update(
            actor=cls.outsider, account=cls.outsider_account, organization="Secret Org"
        )
        services.account_update(actor=None, account=cls.platform, organization="Root")

    def test_owner_sees_the_entries_of_its_tree_newest_first(self) -> None:
        response = self.login(self.owner).get(AUDIT)
        self.assertEqual(response.status_code, 200)
        [rows] = html_tables(response)
        self.assertEqual(
            [row[1:] for row in rows],
            [
                [
                    "owner",
                    "user",
                    "Alpha Tenant",
                    "Update",
                    "accounts.account",
                    str(self.tenant.pk),
                    # The changed fields' names, then the values they open to.
                    'currency{"currency": "USD"}',
                    'currency{"currency": "EUR"}',
                ],
                [
                    "owner",
                    "user",
                    "Alpha Devices",
                    "Update",
                    "accounts.account",
                    str(self.account.pk),
                    'organization{"organization": "Alpha Devices Org"}',
                    'organization{"organization": "Alpha Labs"}',
                ],
            ],
        )
        self.assertNotContains(response, "Secret Org")

    def test_admin_role_sees_the_log_and_finance_role_does_not(self) -> None:
        admin, finance = UserFactory(username="adm"), UserFactory(username="fin")
        MembershipFactory(user=admin, account=self.account, role=Role.ADMIN)
        MembershipFactory(user=finance, account=self.account, role=Role.FINANCE)
        [rows] = html_tables(self.login(admin).get(AUDIT))
        self.assertEqual(len(rows), 2)
        self.assertEqual(self.login(finance).get(AUDIT).status_code, 403)

    def test_read_only_teammate_gets_403(self) -> None:
        response = self.login(self.teammate).get(AUDIT)
        self.assertEqual(response.status_code, 403)
        self.assertNotContains(response, "Alpha Labs", status_code=403)
        csv_response = self.client.get(AUDIT, {"export": "csv"})
        self.assertEqual(csv_response.status_code, 403)

    def test_outsider_sees_only_its_own_entries(self) -> None:
        [rows] = html_tables(self.login(self.outsider).get(AUDIT))
        self.assertEqual([row[3] for row in rows], ["Outsider Co"])

    def test_staff_at_the_platform_root_sees_every_entry(self) -> None:
        [rows] = html_tables(self.login(self.staff).get(AUDIT))
        self.assertEqual(
            [(row[1], row[3]) for row in rows],
            [
                ("system", "Platform"),
                ("outsider", "Outsider Co"),
                ("owner", "Alpha Tenant"),
                ("owner", "Alpha Devices"),
            ],
        )

    def test_filter_by_search_keeps_only_matching_rows(self) -> None:
        [rows] = html_tables(self.login(self.owner).get(AUDIT, {"q": str(self.tenant.pk)}))
        self.assertEqual([row[3] for row in rows], ["Alpha Tenant"])


class HealthPageTests(BillingTestCase):
    def test_members_of_any_role_get_403(self) -> None:
        for user in (self.owner, self.teammate, self.outsider):
            with self.subTest(user=user.username):
                response = self.login(user).get(HEALTH)
                self.assertEqual(response.status_code, 403)
                self.assertNotContains(response, "Scheduled jobs", status_code=403)

    def test_staff_sees_checks_and_jobs(self) -> None:
        response = self.login(self.staff).get(HEALTH)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "<strong>Database</strong>", html=True)
        self.assertContains(response, "<strong>Celery broker</strong>", html=True)
        self.assertContains(response, "<code>prune_job_runs</code>", html=True)


class PasswordChangeTests(BillingTestCase):
    def test_signed_in_user_changes_password(self) -> None:
        client = self.login(self.owner)
        self.assertContains(client.get(PASSWORD_CHANGE), "Change password")
        response = client.post(
            PASSWORD_CHANGE,
            {
                "old_password": "test-password",
                "new_password1": "a-much-better-secret-42",
                "new_password2": "a-much-better-secret-42",
            },
        )
        self.assertRedirects(response, reverse("password_change_done"))
        self.owner.refresh_from_db()
        self.assertTrue(self.owner.check_password("a-much-better-secret-42"))

    def test_wrong_old_password_changes_nothing(self) -> None:
        response = self.login(self.owner).post(
            PASSWORD_CHANGE,
            {
                "old_password": "wrong",
                "new_password1": "a-much-better-secret-42",
                "new_password2": "a-much-better-secret-42",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Your old password was entered incorrectly")
        self.owner.refresh_from_db()
        self.assertTrue(self.owner.check_password("test-password"))


class ApiDocsPageTests(BillingTestCase):
    def test_signed_in_user_gets_docs_served_without_a_cdn(self) -> None:
        response = self.login(self.teammate).get(API_DOCS)
        self.assertEqual(response.status_code, 200)
        body = response.content.decode()
        self.assertIn("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js", body)
        self.assertIn(f'<script src="{API_DOCS}?script="></script>', body)
        script = self.client.get(f"{API_DOCS}?script=")
        self.assertEqual(script["Content-Type"], "application/javascript")
        self.assertIn(f'url: "{reverse("api-schema")}"', script.content.decode())
        for text in (body, script.content.decode()):
            self.assertNotIn("cdn", text.lower())
            self.assertNotIn("https://", text)

    def test_the_docs_lead_back_to_the_site(self) -> None:
        response = self.login(self.teammate).get(API_DOCS)
        self.assertContains(response, f'<a href="{HOME}">Back to the site</a>', html=True)

    def test_every_asset_of_the_docs_and_the_layout_is_served_locally(self) -> None:
        self.login(self.teammate)
        pages = [self.client.get(API_DOCS), self.client.get(HOME)]
        assets = {
            url
            for page in pages
            for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.content.decode())
        }
        self.assertGreaterEqual(len(assets), 5)
        for url in sorted(assets):
            with self.subTest(url=url):
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200)
                b"".join(response.streaming_content)


class FaviconTests(BillingTestCase):
    def test_favicon_ico_redirects_anyone_to_our_icon(self) -> None:
        response = self.client.get("/favicon.ico")
        self.assertRedirects(response, "/static/favicon.svg", fetch_redirect_response=False)
        icon = self.client.get("/static/favicon.svg")
        self.assertEqual((icon.status_code, icon["Content-Type"]), (200, "image/svg+xml"))
        self.assertTrue(b"".join(icon.streaming_content).startswith(b"<svg "))

    def test_every_page_links_the_icon(self) -> None:
        for response in (self.client.get(LOGIN), self.login(self.owner).get(HOME)):
            with self.subTest(path=response.request["PATH_INFO"]):
                self.assertContains(
                    response, '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
                )


class NoCurrentAccountTests(TestCase):
    """Signed in, but nothing to look at: never a 500."""

    def test_user_without_membership_is_refused_not_crashed(self) -> None:
        AccountFactory(name="Someone Else")
        self.client.force_login(UserFactory(username="loner"))
        for path in (HOME, AUDIT, HEALTH):
            with self.subTest(path=path):
                self.assertEqual(self.client.get(path).status_code, 403)
        self.assertContains(self.client.get(PASSWORD_CHANGE), "Change password")

    def test_staff_on_a_site_without_accounts_sees_empty_pages(self) -> None:
        self.client.force_login(UserFactory(username="first-admin", is_staff=True))
        services.membership_add(
            actor=None,
            account=AccountFactory(name="Soon Gone", slug="gone"),
            username="x",
            email="",
            role="member",
        )
        Account.objects.all().delete()
        home = self.client.get(HOME)
        self.assertContains(home, "No accounts match these filters.")
        self.assertEqual(html_tables(home), [[["No accounts match these filters."]]])
        [rows] = html_tables(self.client.get(AUDIT))
        self.assertEqual([row[4] for row in rows], ["Create", "Create"])
        self.assertEqual(self.client.get(HEALTH).status_code, 200)


class QueryCountTests(BillingTestCase):
    """Lists cost the same number of queries whatever their length (no query per row)."""

    def count_queries(self, path: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = self.client.get(path)
            if response.streaming:
                b"".join(response.streaming_content)
        self.assertEqual(response.status_code, 200)
        return len(queries)

    def test_pages_and_downloads_do_not_query_per_row(self) -> None:
        self.login(self.owner)
        services.account_update(actor=self.owner, account=self.tenant, organization="First")
        paths = [
            HOME,
            f"{HOME}?export=csv",
            reverse("accounts:detail", args=[self.account.uuid]),
            AUDIT,
            f"{AUDIT}?export=csv",
        ]
        before = {path: self.count_queries(path) for path in paths}
        for n in range(8):
            tenant = AccountFactory(name=f"Extra {n}", parent=self.account)
            MembershipFactory(account=self.account)
            services.account_update(actor=self.owner, account=tenant, organization=f"Org {n}")
        after = {path: self.count_queries(path) for path in paths}
        self.assertEqual(after, before)


class RowsPerPageTests(BillingTestCase):
    def test_every_list_clamps_rows_per_page_into_the_offered_choices(self) -> None:
        self.login(self.owner)
        for asked, shown in (("1", 25), ("50", 50), ("100000", 250), ("lots", 25)):
            with self.subTest(per_page=asked):
                response = self.client.get(reverse("accounts:home"), {"per_page": asked})
                self.assertEqual(response.context["table"].paginator.per_page, shown)
