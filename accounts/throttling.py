"""API throttling: a ceiling per API key (higher for ingest keys) or signed-in user, and one per
client address for requests that bring no valid credential. Counters live in Django's cache, so
every web worker shares them only when CACHE_URL points at Redis."""

from typing import TYPE_CHECKING

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module through the settings
    from rest_framework.views import APIView

from .client_ip import client_ip
from .models import ApiKey, ApiKeyRole

INGEST = "ingest"
CALLER = "caller"
ANONYMOUS = "anonymous"


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str:
        # DRF reads the rates once at import; reading them per request lets the settings (and
        # tests overriding them) change the ceilings.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class CallerRateThrottle(_SettingsRateThrottle):
    """One budget per API key or signed-in user. Ingest keys send usage in many batches through
    the day, so their ceiling is higher than that of keys and users that read."""

    def __init__(self) -> None:
        # The rate depends on the caller, known only in allow_request.
        pass

    def allow_request(self, request: Request, view: "APIView") -> bool:
        caller = request.user
        if not caller.is_authenticated:
            # Refused before throttling; the exception handler counts it by address.
            return True
        is_ingest_key = isinstance(caller, ApiKey) and caller.role == ApiKeyRole.INGEST
        self.scope = INGEST if is_ingest_key else CALLER
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: "APIView") -> str:
        caller = request.user
        kind = "key" if isinstance(caller, ApiKey) else "user"
        return self.cache_format % {"scope": self.scope, "ident": f"{kind}-{caller.pk}"}


class AddressRateThrottle(_SettingsRateThrottle):
    """Requests without a valid credential (none, or a bad, revoked or expired key), per client
    address. Counted when they are refused, so a valid key never pays for its neighbours."""

    scope = ANONYMOUS

    def get_cache_key(self, request: HttpRequest, view: "APIView | None") -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}
