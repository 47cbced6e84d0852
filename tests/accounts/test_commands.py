"""Management commands: create_api_key, seed_demo and their failure modes."""

import io
import re
from datetime import timedelta

import time_machine
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from accounts.audit import first_broken_link
from accounts.demo import DEMO_PASSWORD
from accounts.models import Account, ApiKey, AuditEvent, JobRun, Membership
from tests.base import BillingTestCase, html_tables, run_cli
from tests.moments import FIRST_INSTANT_OF_A_MONTH

KEY_LINE = re.compile(r"^bk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}\n$")


class CreateApiKeyTests(BillingTestCase):
    def test_admin_key_is_printed_alone_on_one_line_and_authenticates(self) -> None:
        status, out, err = run_cli("create_api_key", "--role", "admin", "--name", "Deployer")
        self.assertEqual((status, err), (0, ""))
        self.assertRegex(out, KEY_LINE)
        key = ApiKey.objects.get()
        self.assertEqual((key.name, key.role, key.account), ("Deployer", "admin", None))
        me = self.api("get", "/api/v1/me", out.strip()).json()
        self.assertEqual((me["name"], me["role"]), ("Deployer", "admin"))
        self.assertEqual(len(self.api("get", "/api/v1/accounts", out.strip()).json()["results"]), 4)

    def test_account_key_belongs_to_the_account(self) -> None:
        out = io.StringIO()
        call_command("create_api_key", "--account", "alpha", "--role", "finance", stdout=out)
        self.assertRegex(out.getvalue(), KEY_LINE)
        key = ApiKey.objects.get()
        self.assertEqual(
            (key.name, key.role, key.account), ("finance key", "finance", self.account)
        )
        response = self.api("get", "/api/v1/accounts", out.getvalue().strip())
        self.assertEqual(
            [row["slug"] for row in response.json()["results"]], ["alpha", "alpha-tenant"]
        )
        event = AuditEvent.objects.get()
        self.assertEqual((event.actor_type, event.object_type), ("system", "accounts.apikey"))

    def test_bad_arguments_exit_1_with_a_message_and_create_nothing(self) -> None:
        cases = [
            (["--account", "nope", "--role", "read"], "No account with the slug 'nope'."),
            (
                ["--role", "owner"],
                "Unknown role 'owner'; use one of admin, finance, ingest, read, service.",
            ),
            (
                ["--account", "alpha", "--role", "admin"],
                "Only admin and service keys are platform-wide",
            ),
            (["--role", "finance"], "Only admin and service keys are platform-wide"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                status, out, err = run_cli("create_api_key", *args)
                self.assertEqual((status, out), (1, ""))
                self.assertIn(f"CommandError: {message}", err)
                with self.assertRaisesMessage(CommandError, message):
                    call_command("create_api_key", *args, stdout=io.StringIO())
        self.assertEqual(ApiKey.objects.count(), 0)
        self.assertEqual(AuditEvent.objects.count(), 0)

    def test_role_is_required(self) -> None:
        status, _, err = run_cli("create_api_key", "--name", "x")
        self.assertEqual(status, 2)
        self.assertIn("the following arguments are required: --role", err)
        self.assertEqual(ApiKey.objects.count(), 0)


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models(include_auto_created=True)
    }


# seed_demo dates the demo from the moment it runs: on a pinned clock the second run is on the
# same day whenever the suite runs. The date rules are tested at several moments in
# tests/quotas/test_demo.py and tests/statements/test_demo.py.
@time_machine.travel(FIRST_INSTANT_OF_A_MONTH, tick=False)
class SeedDemoTests(TestCase):
    def test_seeding_twice_changes_nothing(self) -> None:
        first = io.StringIO()
        call_command("seed_demo", stdout=first)
        after_first = row_counts()
        call_command("seed_demo", stdout=io.StringIO())
        self.assertEqual(row_counts(), after_first)
        self.assertIsNone(first_broken_link())
        out = io.StringIO()
        call_command("verify_audit_log", stdout=out)
        self.assertIn("The audit chain holds", out.getvalue())
        self.assertIn(f"olivia   / {DEMO_PASSWORD}", first.getvalue())

    def test_the_demo_world_has_the_promised_shape(self) -> None:
        call_command("seed_demo", stdout=io.StringIO())
        kinds = dict(Account.objects.values_list("slug", "kind"))
        parents = dict(Account.objects.values_list("slug", "parent__slug"))
        self.assertEqual(kinds["acme-platform"], "platform")
        self.assertEqual(parents["northwind"], "acme-platform")
        self.assertEqual(
            sorted(slug for slug, parent in parents.items() if parent == "northwind"),
            ["blue-harbor", "red-rock"],
        )
        self.assertEqual(
            sorted(
                slug for slug, parent in parents.items() if parent in ("blue-harbor", "red-rock")
            ),
            [
                "adatum",
                "contoso",
                "fabrikam",
                "proseware",
                "relecloud",
                "tailspin",
                "wingtip",
                "woodgrove",
            ],
        )
        self.assertGreaterEqual(sum(1 for parent in parents.values() if parent == "globex"), 3)
        self.assertEqual(
            sorted(set(Membership.objects.values_list("role", flat=True))),
            ["admin", "finance", "member", "owner"],
        )

    def test_a_demo_login_signs_in_and_sees_its_tree(self) -> None:
        call_command("seed_demo", stdout=io.StringIO())
        self.assertTrue(self.client.login(username="olivia", password=DEMO_PASSWORD))
        [rows] = html_tables(self.client.get(reverse("accounts:home")))
        self.assertEqual(
            [row[0] for row in rows],
            [
                "Aqua Utilities",
                "Globex Devices",
                "Harvest Farms",
                "Lumen Lighting",
                "Metro Transit",
            ],
        )


class PruneJobRunsCommandTests(TestCase):
    def test_deletes_runs_older_than_the_given_days_and_records_its_own_run(self) -> None:
        old = JobRun.objects.create(
            name="poll_events", started_at=timezone.now() - timedelta(days=10)
        )
        recent = JobRun.objects.create(name="poll_events", started_at=timezone.now())
        out = io.StringIO()
        call_command("prune_job_runs", "--days", "7", stdout=out)
        self.assertEqual(out.getvalue().strip(), "Deleted 1 job runs older than 7 days.")
        self.assertFalse(JobRun.objects.filter(pk=old.pk).exists())
        self.assertTrue(JobRun.objects.filter(pk=recent.pk).exists())
        self.assertEqual(JobRun.objects.get(name="prune_job_runs").counts, {"deleted": 1})

    def test_refuses_a_nonsense_age(self) -> None:
        with self.assertRaisesMessage(CommandError, "--days must be 1 or more."):
            call_command("prune_job_runs", "--days", "0")
