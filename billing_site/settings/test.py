"""Test settings: fast hashing, files in a temporary folder, same database rules as production."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="billing-test-media-"))
# Served from the finders only: files bin/run collected into var/ may be older than the sources.
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="billing-test-static-"))
if CELERY_BROKER_URL.startswith("filesystem://"):  # noqa: F405
    # Tests run tasks in an in-process worker; memory is the serverless broker for that.
    CELERY_BROKER_URL = "memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
# Django's test client signs in without a request (client.login), which django-axes refuses;
# the lockout tests switch it back on.
AXES_ENABLED = False
# Tests call the API from one address, many within a minute; the throttling tests set their
# own ceilings.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(  # noqa: F405
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],  # noqa: F405
    "100000/minute",
)
