"""Platform staff create and renew service packages in admin through the services, so the ledger
and the audit log follow; the jobs can be run from there."""

import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, JobRun
from quotas.models import CampaignStatus, QuotaLedgerEntry, ServicePackage
from quotas.services.campaigns import campaign_start
from quotas.services.packages import package_create
from quotas.tasks import EXPIRY_JOB, REPORT_JOB
from tests.base import BillingTestCase
from tests.factories import UserFactory


class PackageAdminTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.superuser = UserFactory(username="root", is_staff=True, is_superuser=True)

    # The package starts the day it is created; a year later it would expire at once.
    @time_machine.travel("2026-06-01T09:00:00Z", tick=False)
    def test_staff_create_a_package_and_the_ledger_and_audit_follow(self) -> None:
        self.login(self.superuser)
        response = self.client.post(
            reverse("admin:quotas_servicepackage_add"),
            {
                "account": self.account.pk,
                "tokens": 250,
                "starts_at_0": "2026-06-01",
                "starts_at_1": "00:00:00",
            },
        )
        self.assertEqual(response.status_code, 302)
        package = ServicePackage.objects.get()
        self.assertEqual(
            list(QuotaLedgerEntry.objects.values_list("event_type", "tokens")),
            [("package_creation", 250)],
        )
        self.assertTrue(
            AuditEvent.objects.filter(
                object_type="quotas.servicepackage", object_id=str(package.pk)
            )
        )

    def test_a_tenant_package_is_a_form_error(self) -> None:
        self.login(self.superuser)
        response = self.client.post(
            reverse("admin:quotas_servicepackage_add"),
            {
                "account": self.tenant.pk,
                "tokens": 5,
                "starts_at_0": "2026-06-01",
                "starts_at_1": "00:00",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Alpha Tenant uses the service package of Alpha Devices")
        self.assertEqual(ServicePackage.objects.count(), 0)

    def test_renew_from_the_package_page(self) -> None:
        package = package_create(
            actor=None, account=self.account, tokens=40, starts_at=timezone.now()
        )
        self.login(self.superuser)
        page = self.client.get(reverse("admin:quotas_servicepackage_change", args=[package.pk]))
        renew_url = reverse("admin:quotas_servicepackage_renew", args=[package.pk])
        self.assertContains(page, renew_url)
        self.assertEqual(self.client.post(renew_url, {"tokens": 0}).status_code, 200)
        response = self.client.post(renew_url, {"tokens": 60})
        renewal = ServicePackage.objects.get(status="active")
        self.assertRedirects(
            response, reverse("admin:quotas_servicepackage_change", args=[renewal.pk])
        )
        self.assertEqual((renewal.tokens, renewal.carried_over), (60, 40))

    def test_jobs_run_from_the_admin_and_campaigns_finish(self) -> None:
        package_create(actor=None, account=self.account, tokens=40, starts_at=timezone.now())
        campaign = campaign_start(actor=None, account=self.account, name="Admin", devices=5)
        self.login(self.superuser)
        for name, job in [("run_expiry", EXPIRY_JOB), ("run_reports", REPORT_JOB)]:
            with self.subTest(job=job):
                url = reverse(f"admin:quotas_servicepackage_{name}")
                self.assertEqual(self.client.get(url).status_code, 403)
                self.assertEqual(self.client.post(url).status_code, 302)
                self.assertEqual(JobRun.objects.get(name=job).status, "ok")
        self.client.post(
            reverse("admin:quotas_updatecampaign_changelist"),
            {"action": "finish", "_selected_action": [campaign.pk]},
        )
        campaign.refresh_from_db()
        self.assertEqual((campaign.status, campaign.returned), (CampaignStatus.FINISHED, 5))

    def test_members_do_not_get_in(self) -> None:
        self.login(self.owner)
        response = self.client.get(reverse("admin:quotas_servicepackage_changelist"))
        self.assertEqual(response.status_code, 302)
