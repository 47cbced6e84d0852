"""How ingest stores an event: its text exactly as sent, and the fingerprint that tells a later
duplicate from a conflict."""

import hashlib

from django.urls import reverse

from accounts.models import ApiKeyRole
from metering.models import UsageEvent
from tests.base import BillingTestCase
from tests.factories import LicenseFactory
from tests.metering.test_ingest import session

URL = reverse("api-events")


class StoredRowTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.license = LicenseFactory(account=cls.account)

    def setUp(self) -> None:
        _, self.key = self.make_key(ApiKeyRole.INGEST, self.account)

    def post(self, *events: dict) -> dict:
        return self.api("post", URL, self.key, {"events": list(events)}).json()

    def test_text_is_stored_as_sent(self) -> None:
        awkward = 'back\\slash, "quoted" \\N \\. ünï€ode'
        body = self.post(session(self.license.uuid, "a\\b", machine_id=awkward))
        self.assertEqual(body["accepted"], 1)
        event = UsageEvent.objects.get()
        self.assertEqual((event.event_id, event.machine_id), ("a\\b", awkward))
        self.assertEqual((event.device_id, event.campaign, event.count), ("", None, None))

    def test_the_fingerprint_is_the_md5_of_the_content_as_it_always_was(self) -> None:
        # Stored fingerprints decide whether an event sent again later is a duplicate or a
        # conflict, so the rule never changes.
        self.post(session(self.license.uuid, start="2026-05-01T14:00:00.5+02:00"))
        content = [
            str(self.account.id),
            "s-1",
            "machine_session",
            str(self.license.id),
            "5400",
            "i-0abc",
            "c5.xlarge",
            "us-east",
            "render",
            "standard",
            *[""] * 6,
            "2026-05-01 12:00:00.500000+00:00",
        ]
        expected = hashlib.md5("\x1f".join(content).encode(), usedforsecurity=False).hexdigest()
        self.assertEqual(UsageEvent.objects.get().fingerprint, expected)
