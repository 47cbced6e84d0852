"""Any JSON value in any field of any event type gets a field message, through the API and
files alike: a list or an object where text or a number belongs, a lone surrogate ("\\ud800"
escapes are valid JSON), nesting Python can still parse. Never a 500; the rest of the batch is
stored."""

import json

from metering.models import UsageEvent
from metering.validation import (
    ERR_CATEGORY,
    ERR_COUNT,
    ERR_DURATION,
    ERR_NOT_OBJECT,
    ERR_TEXT,
    ERR_TIME,
    ERR_TYPE,
    ERR_UNICODE,
    ERR_UUID,
)
from tests.factories import LicenseFactory
from tests.metering.paths import JSON_PATHS, URL, IngestPathsTestCase, device_event, session

SURROGATE = "a\ud800b"
MAX_DURATION = ERR_DURATION.format(max=31 * 86400)
# The free-text fields of each event type.
TEXT_FIELDS = {
    "machine_session": ("machine_id", "machine_type", "region", "pool", "license_type"),
    "device_connection": ("device_id", "endpoint_name"),
    "firmware_update": ("device_id", "endpoint_name"),
    "api_call": ("event",),
}


class WrongTypeTests(IngestPathsTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.license = LicenseFactory(account=cls.account)

    def test_a_type_that_is_not_text_is_refused(self) -> None:
        for value in (["api_call"], {"api_call": 1}, 7):
            self.assert_refused(
                device_event(self.account, "api_call", type=value), {"type": [ERR_TYPE]}, JSON_PATHS
            )

    def test_objects_and_lists_in_fields_are_refused_field_by_field(self) -> None:
        cases = [
            (session(self.license, license={}), {"license": [ERR_UUID]}),
            (session(self.license, start=["2026-05-01T12:00:00Z"]), {"start": [ERR_TIME]}),
            (
                session(self.license, duration_seconds={"s": 60}),
                {"duration_seconds": [MAX_DURATION]},
            ),
            (session(self.license, pool=["render"]), {"pool": [ERR_TEXT.format(max=100)]}),
            (session(self.license, account=[1]), {"account": [ERR_UUID]}),
            (device_event(self.account, "firmware_update", campaign={}), {"campaign": [ERR_UUID]}),
            (
                device_event(self.account, "api_call", category={"a": 1}),
                {"category": [ERR_CATEGORY]},
            ),
            (device_event(self.account, "api_call", count=[3]), {"count": [ERR_COUNT]}),
            (
                device_event(self.account, "device_connection", event_id={"id": 1}),
                {"event_id": [ERR_TEXT.format(max=100)]},
            ),
        ]
        for event, errors in cases:
            self.assert_refused(event, errors, JSON_PATHS)
        self.assertEqual(UsageEvent.objects.count(), 0)

    def test_a_rejection_names_the_event_id_only_when_it_is_valid_text(self) -> None:
        events = [
            device_event(self.account, "api_call", event_id="good", count=0),
            device_event(self.account, "api_call", event_id={"nested": ["x"]}, count=0),
            device_event(self.account, "api_call", event_id=SURROGATE, count=0),
        ]
        body = self.api("post", URL, self.key, {"events": events}).json()
        self.assertEqual([r["event_id"] for r in body["rejected"]], ["good", None, None])

    def test_nesting_python_can_parse_is_an_event_error(self) -> None:
        nested = json.loads("[" * 500 + "]" * 500)
        self.assert_refused(nested, {"non_field_errors": [ERR_NOT_OBJECT]}, JSON_PATHS)
        self.assert_refused(
            session(self.license, event_id=nested),
            {"event_id": [ERR_TEXT.format(max=100)]},
            JSON_PATHS,
        )


class SurrogateTests(IngestPathsTestCase):
    """JSON may escape half a UTF-16 pair ("\\ud800"); Python decodes it to a lone surrogate,
    which no UTF-8 text can hold, so PostgreSQL could never store it."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.license = LicenseFactory(account=cls.account)

    def event(self, event_type: str, **overrides: object) -> dict:
        if event_type == "machine_session":
            return session(self.license, **overrides)
        return device_event(self.account, event_type, **overrides)

    def test_in_any_text_field_of_any_event_type(self) -> None:
        for event_type, fields in TEXT_FIELDS.items():
            for field in ("event_id", *fields):
                self.assert_refused(
                    self.event(event_type, **{field: SURROGATE}), {field: [ERR_UNICODE]}, JSON_PATHS
                )
        self.assertEqual(UsageEvent.objects.count(), 0)

    def test_in_the_fields_that_are_not_free_text(self) -> None:
        cases = [
            (self.event("machine_session", license=SURROGATE), {"license": [ERR_UUID]}),
            (self.event("machine_session", start=SURROGATE), {"start": [ERR_TIME]}),
            (self.event("api_call", type=SURROGATE), {"type": [ERR_TYPE]}),
            (self.event("api_call", category=SURROGATE), {"category": [ERR_CATEGORY]}),
            (self.event("api_call", account=SURROGATE), {"account": [ERR_UUID]}),
            (self.event("firmware_update", campaign=SURROGATE), {"campaign": [ERR_UUID]}),
        ]
        for event, errors in cases:
            self.assert_refused(event, errors, JSON_PATHS)


class UnusedFieldTests(IngestPathsTestCase):
    """Events carry no free-form attributes: a field an event type does not use is neither
    checked nor stored, whatever it holds."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.license = LicenseFactory(account=cls.account)

    def test_are_ignored_whatever_they_hold(self) -> None:
        plain = session(self.license, event_id="with-extras")
        extras = {
            "attributes": {"note": "a\x00b\ud800", "deep": json.loads("[" * 500 + "]" * 500)},
            "tags": "not an object",
            "\ud800": 1,
        }
        self.assert_accepted({**plain, **extras}, JSON_PATHS)
        # Sent again without them, each is the same event: a duplicate.
        for path in JSON_PATHS:
            answer = self.send({**plain, "event_id": f"{path}-with-extras"}, path)
            self.assertEqual((answer["accepted"], answer["duplicates"]), (0, 1))
        self.assertEqual(UsageEvent.objects.count(), 2)
