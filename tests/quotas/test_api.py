"""The device-billing API: service packages, campaigns, the quota and its history, and the
billing report with its gzipped CSV files. Exact bodies, refusals with reasons, and tenancy."""

import gzip
from datetime import date, timedelta

import time_machine
from django.utils import timezone

from accounts.models import ApiKeyRole
from metering.months import ERR_MONTH, ERR_MONTH_RANGE, Month, report_available_on
from quotas.models import QuotaLedgerEntry, ServicePackage, UpdateCampaign
from quotas.services.campaigns import REFUSED_EXPIRED, REFUSED_NO_PACKAGE, REFUSED_QUOTA
from quotas.services.packages import ERR_TENANT_PACKAGE, package_create, packages_expire
from quotas.services.reports import usage_reports_run
from tests.base import BillingTestCase
from tests.factories import AccountFactory
from tests.moments import LAST_SECOND_OF_A_MONTH

from .factories import at, ingest, update
from .world import APRIL, UsageReportWorld

PACKAGES = "/api/v1/service-packages"
QUOTA = "/api/v1/service-packages/quota"
HISTORY = "/api/v1/service-packages/quota-history"
CAMPAIGNS = "/api/v1/campaigns"
REPORT = "/api/v1/billing-report"


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class ServicePackageApiTests(BillingTestCase):
    def setUp(self) -> None:
        _, self.admin = self.make_key(ApiKeyRole.ADMIN)
        _, self.finance = self.make_key(ApiKeyRole.FINANCE, self.account)

    def test_admin_creates_a_package_and_renews_it(self) -> None:
        starts = timezone.now().replace(microsecond=0) - timedelta(days=10)
        response = self.api(
            "post",
            PACKAGES,
            self.admin,
            {"account": str(self.account.uuid), "tokens": 500, "starts_at": iso(starts)},
        )
        self.assertEqual(response.status_code, 201)
        package = ServicePackage.objects.get()
        body = response.json()
        self.assertEqual(
            body,
            {
                "id": str(package.uuid),
                "account": str(self.account.uuid),
                "tokens": 500,
                "carried_over": 0,
                "starts_at": iso(starts),
                "expires_at": iso(starts.replace(year=starts.year + 1)),
                "status": "active",
                "ended_at": None,
                "renewed_from": None,
            },
        )
        renewed = self.api("post", f"{PACKAGES}/{package.uuid}/renew", self.admin, {"tokens": 300})
        self.assertEqual(renewed.status_code, 201)
        self.assertEqual(
            {k: renewed.json()[k] for k in ["tokens", "carried_over", "status", "renewed_from"]},
            {
                "tokens": 300,
                "carried_over": 500,
                "status": "active",
                "renewed_from": str(package.uuid),
            },
        )
        quota = self.api("get", QUOTA, self.finance).json()
        self.assertEqual(quota["remaining"], 800)
        again = self.api("post", f"{PACKAGES}/{package.uuid}/renew", self.admin, {"tokens": 1})
        self.assertEqual(again.status_code, 400)
        self.assertIn("only the active package renews", again.json()["package"][0])

    def test_only_admins_create_and_bad_input_is_a_clear_400(self) -> None:
        body = {"account": str(self.account.uuid), "tokens": 5, "starts_at": "2026-01-01T00:00:00Z"}
        self.assertEqual(self.api("post", PACKAGES, self.finance, body).status_code, 403)
        self.assertEqual(self.api("post", PACKAGES, None, body).status_code, 401)
        bad = self.api("post", PACKAGES, self.admin, {**body, "tokens": 0, "starts_at": "soon"})
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(set(bad.json()), {"tokens", "starts_at"})
        tenant = self.api("post", PACKAGES, self.admin, {**body, "account": str(self.tenant.uuid)})
        self.assertEqual(tenant.status_code, 400)
        self.assertEqual(
            tenant.json(),
            {
                "account": [
                    ERR_TENANT_PACKAGE.format(account="Alpha Tenant", holder="Alpha Devices")
                ]
            },
        )
        self.assertEqual(ServicePackage.objects.count(), 0)

    def test_listing_is_scoped_and_a_tenant_key_sees_the_package_it_uses(self) -> None:
        package_create(actor=None, account=self.account, tokens=5, starts_at=timezone.now())
        package_create(
            actor=None, account=self.outsider_account, tokens=7, starts_at=timezone.now()
        )
        _, tenant_key = self.make_key(ApiKeyRole.READ, self.tenant)
        _, outsider_key = self.make_key(ApiKeyRole.READ, self.outsider_account)
        self.assertEqual([p["tokens"] for p in self.api("get", PACKAGES, tenant_key).json()], [5])
        self.assertEqual([p["tokens"] for p in self.api("get", PACKAGES, outsider_key).json()], [7])
        self.assertEqual(len(self.api("get", PACKAGES, self.admin).json()), 2)
        hidden = self.api("get", f"{PACKAGES}?account={self.account.uuid}", outsider_key)
        self.assertEqual(hidden.status_code, 404)
        other = ServicePackage.objects.get(account=self.outsider_account)
        renew = self.api("post", f"{PACKAGES}/{other.uuid}/renew", self.finance, {"tokens": 1})
        self.assertEqual(renew.status_code, 403)


class CampaignApiTests(BillingTestCase):
    def setUp(self) -> None:
        _, self.ingest_key = self.make_key(ApiKeyRole.INGEST, self.account)
        _, self.admin = self.make_key(ApiKeyRole.ADMIN)

    def start(self, devices: int, key: str | None = None, **extra: object):
        return self.api(
            "post",
            CAMPAIGNS,
            key or self.ingest_key,
            {"name": "Rollout", "devices": devices, **extra},
        )

    # 366 days back is 29 February 2028: the package expired on the 28th a year later.
    @time_machine.travel("2029-03-01T09:00:00Z", tick=False)
    def test_refused_without_a_package_after_expiry_and_beyond_the_quota(self) -> None:
        refused = self.start(1)
        self.assertEqual(refused.status_code, 409)
        self.assertEqual(
            refused.json(),
            {"detail": REFUSED_NO_PACKAGE.format(holder="Alpha Devices"), "code": "no_package"},
        )
        started = timezone.now() - timedelta(days=366)
        package_create(actor=None, account=self.account, tokens=10, starts_at=started, now=started)
        expired = self.start(1)
        self.assertEqual(
            expired.json(),
            {
                "detail": REFUSED_EXPIRED.format(holder="Alpha Devices", expires=date(2029, 2, 28)),
                "code": "expired",
            },
        )
        packages_expire()
        package_create(actor=None, account=self.account, tokens=10, starts_at=timezone.now())
        too_many = self.start(11)
        self.assertEqual(
            too_many.json(),
            {"detail": REFUSED_QUOTA.format(devices=11, remaining=10), "code": "not_enough_quota"},
        )
        self.assertEqual(UpdateCampaign.objects.count(), 0)

    def test_start_updates_and_finish(self) -> None:
        package_create(actor=None, account=self.account, tokens=10, starts_at=timezone.now())
        response = self.start(4, account=str(self.tenant.uuid))
        self.assertEqual(response.status_code, 201)
        campaign = UpdateCampaign.objects.get()
        body = response.json()
        self.assertEqual(body["id"], str(campaign.uuid))
        self.assertEqual(
            {k: body[k] for k in ["account", "name", "devices", "status", "updates", "returned"]},
            {
                "account": str(self.tenant.uuid),
                "name": "Rollout",
                "devices": 4,
                "status": "running",
                "updates": 0,
                "returned": None,
            },
        )
        now = timezone.now().strftime("%Y-%m-%d %H:%M:%S.%f")
        ingest([update(self.tenant, "u1", "d1", campaign, now)])
        quota = self.api("get", QUOTA, self.ingest_key)
        self.assertEqual(quota.status_code, 403)  # an ingest key does not read billing data
        _, reader = self.make_key(ApiKeyRole.READ, self.account)
        self.assertEqual(
            {
                k: v
                for k, v in self.api("get", QUOTA, reader).json().items()
                if k in ("remaining", "reserved")
            },
            {"remaining": 6, "reserved": 3},
        )
        finished = self.api("post", f"{CAMPAIGNS}/{campaign.uuid}/finish", self.ingest_key)
        self.assertEqual(finished.status_code, 200)
        self.assertEqual(
            {k: finished.json()[k] for k in ["status", "updates", "returned"]},
            {"status": "finished", "updates": 1, "returned": 3},
        )
        again = self.api("post", f"{CAMPAIGNS}/{campaign.uuid}/finish", self.ingest_key)
        self.assertEqual(again.json(), finished.json())
        self.assertEqual(QuotaLedgerEntry.objects.count(), 3)

    def test_who_may_run_campaigns(self) -> None:
        package_create(actor=None, account=self.account, tokens=10, starts_at=timezone.now())
        _, reader = self.make_key(ApiKeyRole.READ, self.account)
        self.assertEqual(self.start(1, reader).status_code, 403)
        no_account = self.start(1, self.admin)
        self.assertEqual(no_account.status_code, 400)
        self.assertEqual(self.start(1, self.admin, account=str(self.account.uuid)).status_code, 201)
        _, outsider_key = self.make_key(ApiKeyRole.INGEST, self.outsider_account)
        self.assertEqual(
            self.start(1, outsider_key, account=str(self.tenant.uuid)).status_code, 404
        )
        campaign = UpdateCampaign.objects.get()
        finish = self.api("post", f"{CAMPAIGNS}/{campaign.uuid}/finish", outsider_key)
        self.assertEqual(finish.status_code, 404)
        bad = self.api("post", CAMPAIGNS, self.ingest_key, {"name": "", "devices": 0})
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(set(bad.json()), {"name", "devices"})

    def test_finishing_after_expiry_is_409_terminated(self) -> None:
        started = timezone.now() - timedelta(days=366)
        package_create(actor=None, account=self.account, tokens=10, starts_at=started, now=started)
        from quotas.services.campaigns import campaign_start

        campaign = campaign_start(
            actor=None,
            account=self.account,
            name="Late",
            devices=4,
            now=started + timedelta(days=300),
        )
        response = self.api("post", f"{CAMPAIGNS}/{campaign.uuid}/finish", self.ingest_key)
        self.assertEqual(response.status_code, 409)
        self.assertEqual(response.json()["code"], "terminated")
        self.assertIn("its 4 unused tokens are lost", response.json()["detail"])


class BillingReportApiTests(UsageReportWorld):
    maxDiff = None

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        usage_reports_run(now=at("2026-05-05 00:10:00"))

    def setUp(self) -> None:
        _, self.reader = self.make_key(ApiKeyRole.READ, self.account)

    def usage(self, account, name: str, devices: int, updates: int, calls: dict) -> dict:
        categories = {"device_to_service": {}, "service_to_device": {}, "integration": {}}
        categories.update(calls)
        return {
            "id": str(account.uuid),
            "name": name,
            "business_model": "active_devices",
            "active_devices": devices,
            "firmware_updates": updates,
            "api_calls": {
                c: {"total": sum(events.values()), "events": events}
                for c, events in categories.items()
            },
        }

    def test_the_report_as_the_issue_defines_it(self) -> None:
        response = self.api("get", f"{REPORT}?month={APRIL}", self.reader)
        self.assertEqual(response.status_code, 200)
        alpha_calls = {
            "device_to_service": {"device_message_in": 3, "notification": 5},
            "service_to_device": {"device_message_out": 2},
        }
        self.assertEqual(
            response.json(),
            {
                "month": "2026-04",
                "account": self.usage(self.account, "Alpha Devices", 2, 0, alpha_calls),
                "tenants": [
                    self.usage(
                        self.tenant, "Alpha Tenant", 1, 2, {"integration": {"/v3/devices": 4}}
                    ),
                    self.usage(self.sibling, "Beta Tenant", 1, 0, {}),
                ],
                "total": self.usage(
                    self.account,
                    "Alpha Devices",
                    4,
                    2,
                    {**alpha_calls, "integration": {"/v3/devices": 4}},
                ),
            },
        )

    def test_a_bad_month_is_a_400_on_the_month_field(self) -> None:
        for path in [REPORT, f"{REPORT}/active-devices", f"{REPORT}/firmware-updates", HISTORY]:
            for month, message in [("9999-12", ERR_MONTH_RANGE), ("2026-4", ERR_MONTH)]:
                with self.subTest(path=path, month=month):
                    response = self.api("get", f"{path}?month={month}", self.reader)
                    self.assertEqual(
                        (response.status_code, response.json()), (400, {"month": [message]})
                    )

    # The current month is read here and again by the API: one still clock, one month.
    @time_machine.travel(LAST_SECOND_OF_A_MONTH, tick=False)
    def test_months_without_a_report_are_404_with_the_date(self) -> None:
        current = Month.of(timezone.now())
        now_month = self.api("get", f"{REPORT}?month={current}", self.reader)
        self.assertEqual(now_month.status_code, 404)
        day = report_available_on(current)
        self.assertEqual(
            now_month.json(),
            {
                "detail": f"{current} is not over yet: its usage report will be available on "
                f"{day:%Y-%m-%d} by 02:00 UTC."
            },
        )
        ahead = current.next()
        future = self.api("get", f"{REPORT}?month={ahead}", self.reader)
        self.assertEqual(
            (future.status_code, future.json()),
            (
                404,
                {
                    "detail": f"{ahead} has not started yet: its usage report will be available "
                    f"on {report_available_on(ahead):%Y-%m-%d} by 02:00 UTC."
                },
            ),
        )
        ancient = self.api("get", f"{REPORT}/firmware-updates?month=1990-01", self.reader)
        self.assertEqual(
            (ancient.status_code, ancient.json()),
            (
                404,
                {
                    "detail": "Alpha Devices has no usage report for 1990-01: the account was "
                    "created on 2026-01-01."
                },
            ),
        )
        june = self.api("get", f"{REPORT}/active-devices?month=2026-06", self.reader)
        self.assertEqual(june.status_code, 404)
        self.assertIn("was due on 2026-07-03", june.json()["detail"])
        newcomer = AccountFactory(name="Newcomer", slug="newcomer")
        _, newcomer_key = self.make_key(ApiKeyRole.READ, newcomer)
        absent = self.api("get", f"{REPORT}?month={APRIL}", newcomer_key)
        self.assertEqual(absent.status_code, 404)
        self.assertEqual(
            absent.json(),
            {
                "detail": "Newcomer has no usage report for 2026-04: the month's reports were "
                "generated on 2026-05-05, before the account existed."
            },
        )
        bad = self.api("get", f"{REPORT}?month=2026-4", self.reader)
        self.assertEqual(bad.status_code, 400)

    def test_the_gzipped_csv_files(self) -> None:
        response = self.api("get", f"{REPORT}/active-devices?month={APRIL}", self.reader)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/gzip")
        lines = gzip.decompress(b"".join(response.streaming_content)).decode().splitlines()
        self.assertEqual(lines[0], "account_id,timestamp,device_id,endpoint_name")
        self.assertEqual(len(lines), 5)
        updates = self.api("get", f"{REPORT}/firmware-updates?month={APRIL}", self.reader)
        text = gzip.decompress(b"".join(updates.streaming_content)).decode()
        self.assertIn(",April rollout,t-2,ep-t-2", text)

    def test_tenancy(self) -> None:
        _, tenant_key = self.make_key(ApiKeyRole.READ, self.tenant)
        own = self.api("get", f"{REPORT}?month={APRIL}", tenant_key).json()
        self.assertEqual((own["account"]["name"], own["tenants"]), ("Alpha Tenant", []))
        for path in [REPORT, f"{REPORT}/active-devices", f"{REPORT}/firmware-updates"]:
            with self.subTest(path=path):
                sibling = self.api(
                    "get", f"{path}?month={APRIL}&account={self.sibling.uuid}", tenant_key
                )
                self.assertEqual(sibling.status_code, 404)
        aggregator_view = self.api(
            "get", f"{REPORT}?month={APRIL}&account={self.tenant.uuid}", self.reader
        )
        self.assertEqual(aggregator_view.json()["account"]["name"], "Alpha Tenant")
        _, outsider_key = self.make_key(ApiKeyRole.READ, self.outsider_account)
        downloads = [f"{REPORT}/active-devices", f"{REPORT}/firmware-updates"]
        for path in [REPORT, *downloads, QUOTA, HISTORY]:
            with self.subTest(path=path):
                hidden = self.api(
                    "get", f"{path}?month={APRIL}&account={self.account.uuid}", outsider_key
                )
                self.assertEqual(hidden.status_code, 404)
        _, admin = self.make_key(ApiKeyRole.ADMIN)
        self.assertEqual(self.api("get", f"{REPORT}?month={APRIL}", admin).status_code, 400)
        self.assertEqual(
            self.api(
                "get", f"{REPORT}?month={APRIL}&account={self.account.uuid}", admin
            ).status_code,
            200,
        )
        _, ingest_key = self.make_key(ApiKeyRole.INGEST, self.account)
        self.assertEqual(self.api("get", f"{REPORT}?month={APRIL}", ingest_key).status_code, 403)

    def test_a_signed_in_user_reads_the_quota_of_their_first_account_without_naming_it(
        self,
    ) -> None:
        self.login(self.teammate)
        quota = self.api("get", QUOTA)
        self.assertEqual(quota.status_code, 200)
        self.assertEqual(quota.json()["account"], str(self.account.uuid))
        self.login(self.outsider)
        named = self.api("get", f"{QUOTA}?account={self.account.uuid}")
        self.assertEqual(named.status_code, 404)

    def test_quota_and_its_history(self) -> None:
        quota = self.api("get", f"{QUOTA}?account={self.tenant.uuid}", self.reader).json()
        package = ServicePackage.objects.get()
        self.assertEqual(
            quota,
            {
                "account": str(self.tenant.uuid),
                "holder": str(self.account.uuid),
                "package": str(package.uuid),
                "state": quota["state"],
                "remaining": 98,
                "reserved": 0,
                "expires_at": "2027-01-10T00:00:00Z",
                "expiry_warning": quota["expiry_warning"],
            },
        )
        history = self.api("get", f"{HISTORY}?month={APRIL}", self.reader).json()
        self.assertEqual(
            (history["month"], history["account"]), ("2026-04", str(self.account.uuid))
        )
        self.assertEqual(
            [
                (e["event_type"], e["tokens"], e["remaining_after"], e["campaign_name"])
                for e in history["entries"]
            ],
            [
                ("reservation", -10, 90, "April rollout"),
                ("reservation_release", 8, 98, "April rollout"),
                ("reservation", -5, 93, "Beta trial"),
                ("reservation_release", 5, 98, "Beta trial"),
            ],
        )
        self.assertEqual(history["entries"][0]["occurred_at"], "2026-04-05T00:00:00Z")
        _, tenant_key = self.make_key(ApiKeyRole.READ, self.tenant)
        own = self.api("get", f"{HISTORY}?month={APRIL}", tenant_key).json()
        self.assertEqual([e["campaign_name"] for e in own["entries"]], ["April rollout"] * 2)
        self.assertEqual(self.api("get", HISTORY, self.reader).status_code, 400)
