"""Embedded demo settings: the embedded PostgreSQL server, a filesystem Celery broker, and static
files collected, compressed and cached as in production (bin/run runs collectstatic)."""

from .base import *  # noqa: F403

# Hashed, compressed files with far-future caching, as production serves them. A name missing
# from the manifest (collectstatic not run, e.g. a manage.py command on a fresh checkout) falls
# back to the plain name instead of failing the page.
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
}
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = ["map", "png", "jpg", "gif", "woff", "woff2", "svg", "ico"]
WHITENOISE_MAX_AGE = 24 * 3600
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
