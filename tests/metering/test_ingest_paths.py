"""Every way POST /api/v1/events refuses a machine session, field by field, and the unknown
machine or license type that is accepted and waits for a price instead of being dropped."""

from django.urls import reverse

from accounts.models import ApiKeyRole
from metering.models import UnratedEvent, UsageEvent
from metering.rating import REASON_UNKNOWN_LICENSE_TYPE, REASON_UNKNOWN_MACHINE_TYPE
from metering.services.ingest import ERR_LICENSE
from metering.validation import (
    ERR_CONTROL,
    ERR_DURATION,
    ERR_FUTURE,
    ERR_REQUIRED,
    ERR_TEXT,
    ERR_TIME,
    ERR_UUID,
)
from statements.services.poll import statements_poll
from tests.base import BillingTestCase
from tests.factories import LicenseFactory
from tests.statements.factories import at, catalog, session

URL = reverse("api-events")
DURATION = ERR_DURATION.format(max=31 * 86400)
FIELDS = (
    "event_id",
    "license",
    "start",
    "duration_seconds",
    "machine_id",
    "machine_type",
    "region",
    "pool",
    "license_type",
)


class MachineSessionRejectionTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.license = LicenseFactory(account=cls.account)
        cls.parent_license = LicenseFactory(account=cls.account)

    def setUp(self) -> None:
        _, self.key = self.make_key(ApiKeyRole.INGEST, self.account)

    def rejected(self, event: dict, key: str | None = None) -> dict:
        response = self.api("post", URL, key or self.key, {"events": [event]})
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual((body["accepted"], len(body["rejected"])), (0, 1), body)
        return body["rejected"][0]["errors"]

    def test_each_missing_field_is_named(self) -> None:
        for field in FIELDS:
            with self.subTest(field):
                event = session(self.license, "s", "2026-05-01 12:00", 60)
                del event[field]
                self.assertEqual(self.rejected(event), {field: [ERR_REQUIRED]})

    def test_each_bad_value_is_explained(self) -> None:
        cases = [
            ({"license": "not-a-uuid"}, {"license": [ERR_UUID]}),
            ({"license": "00000000-0000-0000-0000-000000000000"}, {"license": [ERR_LICENSE]}),
            ({"start": "2026-05-01"}, {"start": [ERR_TIME]}),
            ({"start": "tomorrow"}, {"start": [ERR_TIME]}),
            ({"start": 1714564800}, {"start": [ERR_TIME]}),
            ({"start": "2999-01-01T00:00:00Z"}, {"start": [ERR_FUTURE]}),
            ({"duration_seconds": -1}, {"duration_seconds": [DURATION]}),
            ({"duration_seconds": "60"}, {"duration_seconds": [DURATION]}),
            ({"duration_seconds": 1.5}, {"duration_seconds": [DURATION]}),
            ({"duration_seconds": True}, {"duration_seconds": [DURATION]}),
            ({"machine_id": "x" * 101}, {"machine_id": [ERR_TEXT.format(max=100)]}),
            ({"pool": 7}, {"pool": [ERR_TEXT.format(max=100)]}),
            ({"event_id": "e" * 101}, {"event_id": [ERR_TEXT.format(max=100)]}),
            ({"machine_id": "m\x1ft"}, {"machine_id": [ERR_CONTROL]}),
            ({"pool": "render\n=1+1"}, {"pool": [ERR_CONTROL]}),
            ({"region": "eu\u0085west"}, {"region": [ERR_CONTROL]}),
            ({"license": "0" * 10_000}, {"license": [ERR_UUID]}),
        ]
        for change, errors in cases:
            with self.subTest(change):
                event = session(self.license, "s", "2026-05-01 12:00", 60) | change
                self.assertEqual(self.rejected(event), errors)
        self.assertEqual(UsageEvent.objects.count(), 0)

    def test_a_tenant_key_may_not_use_its_aggregator_license(self) -> None:
        _, tenant_key = self.make_key(ApiKeyRole.INGEST, self.tenant)
        event = session(self.parent_license, "s", "2026-05-01 12:00", 60)
        self.assertEqual(self.rejected(event, tenant_key), {"license": [ERR_LICENSE]})

    def test_unknown_types_are_stored_and_wait_for_a_price(self) -> None:
        catalog({"c5.xlarge": "1.000000"}, {"standard": "0.500000"})
        events = [
            session(self.license, "u1", "2026-05-01 12:00", 60, machine_type="quantum.9000"),
            session(self.license, "u2", "2026-05-01 12:00", 60, license_type="platinum"),
        ]
        body = self.api("post", URL, self.key, {"events": events}).json()
        self.assertEqual(body, {"accepted": 2, "duplicates": 0, "conflicts": [], "rejected": []})
        statements_poll(now=at("2026-05-02"))
        self.assertEqual(
            dict(UnratedEvent.objects.values_list("usage_event__event_id", "reason")),
            {
                "u1": REASON_UNKNOWN_MACHINE_TYPE.format(name="quantum.9000"),
                "u2": REASON_UNKNOWN_LICENSE_TYPE.format(name="platinum"),
            },
        )
