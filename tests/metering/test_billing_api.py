"""The billing read routes: GET /api/v1/billing/yearmonth/{yyyy-MM}, /billing/range and
/billing/summary. Who sees which rows, the filters, the row's fields, the summary beside the
comparable previous range, and the 400s for bad dates, months and groupings."""

from accounts.models import ApiKeyRole
from tests.base import BillingTestCase

from .billing_world import FORMULA_ASSET, billing_world

MAY = "/api/v1/billing/yearmonth/2026-05"
RANGE = "/api/v1/billing/range"
SUMMARY = "/api/v1/billing/summary"


class BillingRowsApiTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.world = billing_world(cls.account, cls.tenant, cls.outsider_account)
        _, cls.admin_key = cls.make_key(ApiKeyRole.ADMIN)
        _, cls.service_key = cls.make_key(ApiKeyRole.SERVICE)
        _, cls.alpha_key = cls.make_key(ApiKeyRole.READ, cls.account)
        _, cls.tenant_key = cls.make_key(ApiKeyRole.READ, cls.tenant)
        _, cls.outsider_key = cls.make_key(ApiKeyRole.READ, cls.outsider_account)
        _, cls.ingest_key = cls.make_key(ApiKeyRole.INGEST, cls.account)

    def ids(self, response) -> list[str]:
        self.assertEqual(response.status_code, 200, response.content)
        return [r["id"] for r in response.json()["results"]]

    def uuid(self, *rows) -> list[str]:
        return [str(r.uuid) for r in rows]

    def test_a_row_has_every_field_as_the_api_writes_it(self) -> None:
        response = self.api("get", f"{RANGE}?start=2026-05-01&end=2026-05-01", self.alpha_key)
        self.assertEqual(
            response.json()["results"],
            [
                {
                    "id": str(self.world.first_day.uuid),
                    "date": "2026-05-01",
                    "account": str(self.account.uuid),
                    "account_name": "Alpha Devices",
                    "subscription": "sub-alpha",
                    "platform": "azure_stack",
                    "region": "west",
                    "asset": "vm-a1",
                    "service": "compute",
                    "source": "vm",
                    "meter": "cpu_hours",
                    "unit": "vCPU-hour",
                    "quantity": "10.000000",
                    "unit_price": "0.500000",
                    "currency": "EUR",
                    "cost": "5.00",
                    "adjustment_for": None,
                }
            ],
        )

    def test_platform_keys_see_every_account_and_read_keys_their_tree(self) -> None:
        for key in (self.admin_key, self.service_key):
            with self.subTest(key=key[:11]):
                self.assertEqual(len(self.ids(self.api("get", MAY, key))), 7)
        self.assertEqual(len(self.ids(self.api("get", MAY, self.alpha_key))), 6)
        self.assertEqual(
            sorted(self.ids(self.api("get", MAY, self.tenant_key))),
            sorted(self.uuid(self.world.tenant_day, self.world.formula_row)),
        )
        self.assertEqual(
            self.ids(self.api("get", MAY, self.outsider_key)), self.uuid(self.world.outsider_day)
        )

    def test_an_adjustment_row_names_the_day_it_adjusts(self) -> None:
        response = self.api(
            "get", f"{RANGE}?start=2026-05-03&end=2026-05-03&meter=cpu_hours", self.alpha_key
        )
        by_id = {r["id"]: r for r in response.json()["results"]}
        adjustment = by_id[str(self.world.adjustment.uuid)]
        self.assertEqual(
            (adjustment["date"], adjustment["adjustment_for"]), ("2026-05-03", "2026-04-30")
        )
        formula = by_id[str(self.world.formula_row.uuid)]
        self.assertEqual(
            (formula["asset"], formula["subscription"], formula["platform"], formula["cost"]),
            (FORMULA_ASSET, None, None, "3.00"),
        )
        self.assertEqual(formula["currency"], "USD")

    def test_filters_narrow_the_rows(self) -> None:
        cases = {
            "region=east": [self.world.tenant_day],
            f"account={self.tenant.uuid}": [self.world.tenant_day, self.world.formula_row],
            "subscription=sub-tenant": [self.world.tenant_day],
            "meter=storage_gb&service=storage": None,
            "region=west&meter=cpu_hours&subscription=sub-alpha&asset=vm-a1": None,
        }
        for query, expected in cases.items():
            with self.subTest(query=query):
                ids = self.ids(self.api("get", f"{MAY}?{query}", self.alpha_key))
                if expected is not None:
                    self.assertEqual(sorted(ids), sorted(self.uuid(*expected)))
                else:
                    self.assertTrue(ids)
        self.assertEqual(
            len(self.ids(self.api("get", f"{MAY}?meter=storage_gb", self.alpha_key))), 1
        )
        self.assertEqual(
            len(self.ids(self.api("get", f"{MAY}?meter=cpu_hours&asset=vm-a1", self.alpha_key))),
            3,
        )

    def test_rows_page_with_limit_and_offset(self) -> None:
        first = self.api("get", f"{MAY}?limit=2", self.alpha_key).json()
        second = self.api("get", f"{MAY}?limit=2&offset=2", self.alpha_key).json()
        self.assertEqual(first["count"], 6)
        self.assertIn("offset=2", first["next"])
        days = [r["date"] for r in first["results"] + second["results"]]
        self.assertEqual(days, sorted(days))

    def test_an_account_filter_naming_another_tenant_is_a_404(self) -> None:
        for key, account in (
            (self.outsider_key, self.account),
            (self.tenant_key, self.account),
            (self.alpha_key, self.outsider_account),
        ):
            with self.subTest(account=account.name):
                response = self.api("get", f"{MAY}?account={account.uuid}", key)
                self.assertEqual(response.status_code, 404)
                summary = self.api(
                    "get",
                    f"{SUMMARY}?start=2026-05-01&end=2026-05-31&account={account.uuid}",
                    key,
                )
                self.assertEqual(summary.status_code, 404)
        unknown = self.api(
            "get", f"{MAY}?account=00000000-0000-0000-0000-000000000000", self.alpha_key
        )
        self.assertEqual(unknown.status_code, 404)

    def test_anonymous_is_401_and_a_key_that_may_not_read_403(self) -> None:
        for path in (MAY, f"{RANGE}?start=2026-05-01&end=2026-05-02", SUMMARY):
            with self.subTest(path=path):
                self.assertEqual(self.api("get", path).status_code, 401)
                self.assertEqual(self.api("get", path, self.ingest_key).status_code, 403)

    def test_bad_months_dates_and_ranges_are_400_with_field_messages(self) -> None:
        cases = {
            "/api/v1/billing/yearmonth/2026-13": {"month"},
            "/api/v1/billing/yearmonth/2026-5": {"month"},
            "/api/v1/billing/yearmonth/1969-12": {"month"},
            f"{RANGE}?start=2026-02-30&end=2026-03-01": {"start"},
            f"{RANGE}?start=2026-05-01": {"end"},
            f"{RANGE}?start=01/05/2026&end=nope": {"start", "end"},
            f"{RANGE}?start=2026-05-02&end=2026-05-01": {"end"},
            f"{RANGE}?start=2025-01-01&end=2026-01-02": {"end"},
            f"{RANGE}?start=0001-01-01&end=0001-01-02": {"start", "end"},
            f"{MAY}?account=not-a-uuid": {"account"},
            f"{SUMMARY}?start=2026-05-01&end=2026-05-31&group_by=asset": {"group_by"},
            f"{SUMMARY}?start=2026-05-31&end=2026-05-01": {"end"},
        }
        for path, fields in cases.items():
            with self.subTest(path=path):
                response = self.api("get", path, self.alpha_key)
                self.assertEqual(response.status_code, 400, response.content)
                self.assertEqual(set(response.json()), fields)
        self.assertEqual(
            self.api("get", f"{RANGE}?start=2026-05-02&end=2026-05-01", self.alpha_key).json(),
            {"end": ["Must be on or after the start date."]},
        )


class BillingSummaryApiTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.world = billing_world(cls.account, cls.tenant, cls.outsider_account)
        _, cls.alpha_key = cls.make_key(ApiKeyRole.READ, cls.account)

    def summary(self, query: str) -> dict:
        response = self.api("get", f"{SUMMARY}?{query}", self.alpha_key)
        self.assertEqual(response.status_code, 200, response.content)
        return response.json()

    def test_a_month_beside_the_month_before_per_currency(self) -> None:
        body = self.summary("start=2026-05-01&end=2026-05-31&group_by=meter")
        self.assertEqual(body["group_by"], "meter")
        self.assertEqual(
            (body["current"]["start"], body["current"]["end"]), ("2026-05-01", "2026-05-31")
        )
        self.assertEqual(
            (body["previous"]["start"], body["previous"]["end"]), ("2026-04-01", "2026-04-30")
        )
        self.assertEqual(
            body["current"]["totals"],
            [
                {"currency": "EUR", "cost": "20.00", "rows": 5},
                {"currency": "USD", "cost": "3.00", "rows": 1},
            ],
        )
        self.assertEqual(
            body["previous"]["totals"], [{"currency": "EUR", "cost": "8.00", "rows": 1}]
        )
        self.assertEqual(
            body["change"],
            [
                {"currency": "EUR", "amount": "12.00", "percent": "150.0"},
                {"currency": "USD", "amount": "3.00", "percent": None},
            ],
        )
        self.assertEqual(
            [
                (g["key"], g["currency"], g["cost"], g["quantity"], g["unit"])
                for g in body["current"]["groups"]
            ],
            [
                ("cpu_hours", "EUR", "18.00", "36.000000", "vCPU-hour"),
                ("cpu_hours", "USD", "3.00", "5.000000", "vCPU-hour"),
                ("storage_gb", "EUR", "2.00", "100.000000", "GB"),
            ],
        )

    def test_every_grouping(self) -> None:
        def groups(group_by: str) -> list[tuple]:
            body = self.summary(f"start=2026-05-01&end=2026-05-31&group_by={group_by}")
            return [
                (g["key"], g["name"], g["currency"], g["cost"]) for g in body["current"]["groups"]
            ]

        self.assertEqual(
            groups("account"),
            [
                (str(self.account.uuid), "Alpha Devices", "EUR", "18.00"),
                (str(self.tenant.uuid), "Alpha Tenant", "USD", "3.00"),
                (str(self.tenant.uuid), "Alpha Tenant", "EUR", "2.00"),
            ],
        )
        self.assertEqual(
            groups("subscription"),
            [
                ("sub-alpha", "Alpha production", "EUR", "18.00"),
                (None, "No subscription", "USD", "3.00"),
                ("sub-tenant", "Tenant hosting", "EUR", "2.00"),
            ],
        )
        self.assertEqual(
            groups("region"),
            [
                ("west", "west", "EUR", "18.00"),
                ("", "No region", "USD", "3.00"),
                ("east", "east", "EUR", "2.00"),
            ],
        )
        self.assertEqual(
            groups("day"),
            [
                ("2026-05-01", "2026-05-01", "EUR", "5.00"),
                ("2026-05-02", "2026-05-02", "EUR", "14.00"),
                ("2026-05-03", "2026-05-03", "EUR", "1.00"),
                ("2026-05-03", "2026-05-03", "USD", "3.00"),
            ],
        )
        self.assertEqual(
            groups("month"),
            [("2026-05", "May 2026", "EUR", "20.00"), ("2026-05", "May 2026", "USD", "3.00")],
        )

    def test_a_range_of_days_compares_with_as_many_days_just_before(self) -> None:
        body = self.summary("start=2026-05-02&end=2026-05-03&group_by=day&meter=cpu_hours")
        self.assertEqual(
            (body["previous"]["start"], body["previous"]["end"]), ("2026-04-30", "2026-05-01")
        )
        self.assertEqual(
            body["previous"]["totals"], [{"currency": "EUR", "cost": "5.00", "rows": 1}]
        )
        self.assertEqual(
            body["current"]["totals"],
            [
                {"currency": "EUR", "cost": "13.00", "rows": 3},
                {"currency": "USD", "cost": "3.00", "rows": 1},
            ],
        )
        self.assertEqual(
            body["change"][0], {"currency": "EUR", "amount": "8.00", "percent": "160.0"}
        )

    def test_a_tenant_summary_counts_only_its_rows(self) -> None:
        _, tenant_key = self.make_key(ApiKeyRole.READ, self.tenant)
        body = self.api("get", f"{SUMMARY}?start=2026-05-01&end=2026-05-31", tenant_key).json()
        self.assertEqual(
            body["current"]["totals"],
            [
                {"currency": "EUR", "cost": "2.00", "rows": 1},
                {"currency": "USD", "cost": "3.00", "rows": 1},
            ],
        )
        self.assertEqual(body["previous"]["totals"], [])
