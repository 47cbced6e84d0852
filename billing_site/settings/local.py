"""Embedded demo settings: the embedded PostgreSQL server, a filesystem Celery broker."""

from .base import *  # noqa: F403
from .env import env_bool

DEBUG = env_bool("DEBUG", True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}

# The embedded database, media, broker and static folders live here. WhiteNoise serves from
# the finders in this mode but warns when STATIC_ROOT does not exist.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
