"""One small world for page, download and API tests, built once per test class.

`license` (Alpha Render, on `account`): April closed with a 50.00 credit and 2 h of usage;
May open with two sessions, one of them on a machine whose id is a spreadsheet formula, and a
late April session billed on May as an adjustment. `tenant_license` has one May session;
`outsider_license` belongs to the outsider. Rates: machines 1.00/h, licenses 0.50/h.
"""

from datetime import date

from statements.services.close import statements_close
from statements.services.credits import credit_add
from statements.services.poll import statements_poll
from tests.base import BillingTestCase
from tests.factories import LicenseFactory
from tests.statements.factories import at, catalog, ingest, session

APRIL, MAY = date(2026, 4, 1), date(2026, 5, 1)
IN_MAY = at("2026-05-20 12:00")
FORMULA = '=HYPERLINK("http://evil.example/x","click")'


class StatementWorld(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        catalog({"c5.xlarge": "1.000000"}, {"standard": "0.500000"})
        created = at("2026-04-03 09:00")
        cls.license = LicenseFactory(account=cls.account, name="Alpha Render", created_at=created)
        cls.tenant_license = LicenseFactory(
            account=cls.tenant, name="Tenant Sim", created_at=created
        )
        cls.outsider_license = LicenseFactory(
            account=cls.outsider_account, name="Outsider Farm", created_at=created
        )
        credit_add(
            actor=None,
            license=cls.license,
            amount="50.00",
            credited_at=at("2026-04-05 10:00"),
            invoice_number="INV-1",
            invoice_date=date(2026, 4, 1),
            now=IN_MAY,
        )
        ingest(
            [
                session(cls.license, "a", "2026-04-10 10:00", 7200),
                session(cls.license, "b", "2026-05-02 08:00", 3600, pool="sim"),
                session(cls.license, "c", "2026-05-03 08:00", 1800, machine_id=FORMULA),
                session(cls.tenant_license, "t", "2026-05-04 09:00", 3600, region="eu-west"),
                session(cls.outsider_license, "o", "2026-05-04 09:00", 3600),
            ],
            now=IN_MAY,
        )
        statements_poll(now=IN_MAY)
        statements_close(through=APRIL, now=IN_MAY)
        ingest([session(cls.license, "late", "2026-04-28 09:00", 3600)], now=IN_MAY)
        statements_poll(now=IN_MAY)
