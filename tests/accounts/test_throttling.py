"""API throttling: a ceiling per key (higher for ingest keys) or user, and per address for
requests without a valid credential; over it, a 429 with Retry-After and a JSON body."""

from unittest import mock

from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from accounts.models import ApiKeyRole
from accounts.throttling import AddressRateThrottle, CallerRateThrottle
from tests.base import BillingTestCase

ME = "/api/v1/me"
EVENTS = "/api/v1/events"
NOW = 1_800_000_000.0
THROTTLED = {"detail": "Request was throttled. Expected available in 60 seconds."}
RATES = {"ingest": "4/minute", "caller": "2/minute", "anonymous": "3/minute"}
NEIGHBOUR = "198.51.100.20"


@override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": RATES})
class ApiThrottlingTests(BillingTestCase):
    def setUp(self) -> None:
        cache.clear()
        # One instant for every request, so the wait is exactly the rate's minute.
        for throttle in (CallerRateThrottle, AddressRateThrottle):
            patcher = mock.patch.object(throttle, "timer", return_value=NOW)
            patcher.start()
            self.addCleanup(patcher.stop)

    def statuses(self, count: int, *args: object, **extra: object) -> list[int]:
        return [self.api(*args, **extra).status_code for _ in range(count)]

    def assert_throttled(self, response: object) -> None:
        self.assertEqual(response.status_code, 429)
        self.assertEqual(response["Retry-After"], "60")
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertEqual(response.json(), THROTTLED)

    def test_a_read_key_over_its_ceiling_gets_429_with_retry_after(self) -> None:
        _, key = self.make_key(ApiKeyRole.READ, self.account)
        self.assertEqual(self.statuses(2, "get", ME, key), [200, 200])
        self.assert_throttled(self.api("get", ME, key))

    def test_an_ingest_key_has_the_higher_ceiling(self) -> None:
        _, ingest = self.make_key(ApiKeyRole.INGEST, self.account)
        body = {"events": []}
        self.assertEqual(self.statuses(4, "post", EVENTS, ingest, body), [200] * 4)
        self.assert_throttled(self.api("post", EVENTS, ingest, body))

    def test_every_key_has_its_own_budget(self) -> None:
        _, first = self.make_key(ApiKeyRole.READ, self.account)
        _, second = self.make_key(ApiKeyRole.FINANCE, self.account)
        self.statuses(2, "get", ME, first)
        self.assertEqual(self.api("get", ME, first).status_code, 429)
        self.assertEqual(self.statuses(2, "get", ME, second), [200, 200])
        self.assertEqual(self.api("get", ME, second).status_code, 429)

    def test_a_signed_in_user_has_the_callers_ceiling(self) -> None:
        self.login(self.owner)
        self.assertEqual(self.statuses(2, "get", ME), [200, 200])
        self.assert_throttled(self.api("get", ME))

    def test_anonymous_and_bad_key_requests_share_one_budget_per_address(self) -> None:
        self.assertEqual(self.statuses(2, "get", ME), [401, 401])
        self.assertEqual(self.api("get", ME, "bk_00000000_not-a-key").status_code, 401)
        self.assert_throttled(self.api("get", ME))
        self.assert_throttled(self.api("get", ME, "bk_00000000_not-a-key"))
        self.assertEqual(self.api("get", ME, REMOTE_ADDR=NEIGHBOUR).status_code, 401)

    def test_a_valid_key_is_not_refused_for_the_failures_of_its_address(self) -> None:
        _, key = self.make_key(ApiKeyRole.READ, self.account)
        self.statuses(4, "get", ME)
        self.assertEqual(self.api("get", ME, key).status_code, 200)

    @override_settings(TRUSTED_PROXY_COUNT=1)
    def test_behind_the_proxy_each_forwarded_client_has_its_own_budget(self) -> None:
        through_proxy = {"REMOTE_ADDR": "10.0.0.2"}
        guesser = {**through_proxy, "HTTP_X_FORWARDED_FOR": "192.0.2.10"}
        self.assertEqual(self.statuses(3, "get", ME, **guesser), [401, 401, 401])
        self.assertEqual(self.api("get", ME, **guesser).status_code, 429)
        neighbour = {**through_proxy, "HTTP_X_FORWARDED_FOR": NEIGHBOUR}
        self.assertEqual(self.api("get", ME, **neighbour).status_code, 401)
