"""Production settings: secrets and hosts must come from the environment; HTTPS everywhere."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .env import ERR_WEAK_KEY, env_bool, env_int, env_list, env_str

DEBUG = False
SECRET_KEY = env_str("SECRET_KEY")
if SECRET_KEY.startswith("insecure-") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(ERR_WEAK_KEY.format(name="SECRET_KEY", length=50))
# The audit chain's key: without it anyone who can rewrite the audit table could re-hash it.
AUDIT_HMAC_KEY = env_str("AUDIT_HMAC_KEY")
if AUDIT_HMAC_KEY.startswith("insecure-") or len(AUDIT_HMAC_KEY) < 32:
    raise ImproperlyConfigured(ERR_WEAK_KEY.format(name="AUDIT_HMAC_KEY", length=32))
# Production names its database; the embedded server in var/ is for the demo and tests only.
env_str("DATABASE_URL")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names this site answers to.")

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", True)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind the proxy every connection comes from the proxy; the client is what it forwards.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if BEHIND_TLS_PROXY else 0, minimum=0)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
