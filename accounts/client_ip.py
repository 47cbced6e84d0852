"""The client's address, as sign-in lockouts (django-axes) and API throttling both count it.

Behind TRUSTED_PROXY_COUNT reverse proxies that each append the address they received a request
from to X-Forwarded-For, the client is the entry that many places from the right; what a client
puts further left is its own claim and never trusted. Without proxies, or without the header, it
is the connection's address (REMOTE_ADDR): otherwise every client would share the proxy's
address and one guesser would lock everyone out."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    addresses = [address.strip() for address in forwarded.split(",") if address.strip()]
    if proxies == 0 or not addresses:
        return remote
    candidate = addresses[-min(proxies, len(addresses))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        # A proxy that forwards something else is misconfigured; count the connection instead.
        return remote
