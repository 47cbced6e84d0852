"""The environment readers the settings use refuse bad values with a message naming the
variable, and production settings refuse to start without their secrets."""

import json
import os
import secrets
import subprocess
import sys
from unittest import mock

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase

from billing_site.settings.env import (
    ERR_BELOW_MINIMUM,
    ERR_CACHE_URL,
    ERR_MISSING,
    ERR_WEAK_KEY,
    cache_from_url,
    env_int,
)


class EnvIntTests(SimpleTestCase):
    def test_a_number_below_its_minimum_is_refused(self) -> None:
        message = ERR_BELOW_MINIMUM.format(name="LOGIN_FAILURE_LIMIT", minimum=1, number=0)
        with (
            mock.patch.dict(os.environ, {"LOGIN_FAILURE_LIMIT": "0"}),
            self.assertRaisesMessage(ImproperlyConfigured, message),
        ):
            env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)

    def test_the_minimum_itself_and_the_default_are_taken(self) -> None:
        with mock.patch.dict(os.environ, {"LOGIN_FAILURE_LIMIT": "1"}):
            self.assertEqual(env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1), 1)
        with mock.patch.dict(os.environ, clear=True):
            self.assertEqual(env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1), 5)


class CacheUrlTests(SimpleTestCase):
    def test_local_memory_and_redis(self) -> None:
        self.assertEqual(
            cache_from_url("CACHE_URL", "locmem://"),
            {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        )
        for url in ("redis://redis:6379/1", "rediss://:secret@cache.example.com:6380/0"):
            with self.subTest(url=url):
                self.assertEqual(
                    cache_from_url("CACHE_URL", url),
                    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url},
                )

    def test_anything_else_is_refused(self) -> None:
        for url in ("", "memcached://cache:11211", "redis:/cache"):
            with (
                self.subTest(url=url),
                self.assertRaisesMessage(
                    ImproperlyConfigured, ERR_CACHE_URL.format(name="CACHE_URL", url=url)
                ),
            ):
                cache_from_url("CACHE_URL", url)


def load_production_settings(**overrides: str) -> subprocess.CompletedProcess:
    """Import the production settings in a fresh interpreter, as a server start would."""
    env = {
        "PATH": os.environ["PATH"],
        "SECRET_KEY": secrets.token_urlsafe(64),
        "AUDIT_HMAC_KEY": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "billing.example.com",
        "DATABASE_URL": "postgres://billing@db.example.com:5432/billing",
        **overrides,
    }
    env = {name: value for name, value in env.items() if value}
    return subprocess.run(
        [sys.executable, "-c", "import billing_site.settings.production"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


class ProductionSecretsTests(SimpleTestCase):
    def test_production_starts_with_its_secrets(self) -> None:
        result = load_production_settings()
        self.assertEqual((result.returncode, result.stderr), (0, ""))

    def test_production_refuses_to_start_without_a_database(self) -> None:
        result = load_production_settings(DATABASE_URL="")
        self.assertEqual(result.returncode, 1)
        self.assertIn(
            f"ImproperlyConfigured: {ERR_MISSING.format(name='DATABASE_URL')}", result.stderr
        )

    def test_production_refuses_to_start_without_the_audit_key(self) -> None:
        result = load_production_settings(AUDIT_HMAC_KEY="")
        self.assertEqual(result.returncode, 1)
        self.assertIn(
            f"ImproperlyConfigured: {ERR_MISSING.format(name='AUDIT_HMAC_KEY')}", result.stderr
        )

    def test_production_refuses_a_short_or_local_audit_key(self) -> None:
        message = ERR_WEAK_KEY.format(name="AUDIT_HMAC_KEY", length=32)
        for key in ("x" * 31, settings.AUDIT_HMAC_KEY):
            with self.subTest(key=key):
                result = load_production_settings(AUDIT_HMAC_KEY=key)
                self.assertEqual(result.returncode, 1)
                self.assertIn(f"ImproperlyConfigured: {message}", result.stderr)


class DemoSettingsTests(SimpleTestCase):
    """What bin/run serves: the embedded database, the site's own error pages, and static files
    compressed and cacheable (plotly.js was 4.8 MB uncompressed with max-age=0)."""

    def local_settings(self) -> dict:
        script = (
            "import json, billing_site.settings.local as s;"
            "print(json.dumps({'debug': s.DEBUG, 'storage': s.STORAGES['staticfiles']['BACKEND'],"
            " 'max_age': s.WHITENOISE_MAX_AGE, 'finders': getattr(s, 'WHITENOISE_USE_FINDERS',"
            " False), 'database': s.DATABASES['default']['ENGINE'],"
            " 'host': s.DATABASES['default']['HOST']}))"
        )
        env = {"PATH": os.environ["PATH"], "BILLING_VAR_DIR": str(settings.MEDIA_ROOT / "var")}
        result = subprocess.run(  # noqa: S603 (our own fixed script, in our interpreter)
            [sys.executable, "-c", script],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(result.stdout)

    def test_the_demo_shows_the_sites_own_error_pages_and_compressed_cacheable_files(self) -> None:
        local = self.local_settings()
        self.assertEqual(
            (local["debug"], local["storage"], local["finders"]),
            (False, "whitenoise.storage.CompressedStaticFilesStorage", False),
        )
        self.assertGreaterEqual(local["max_age"], 3600)

    def test_the_demo_database_is_the_embedded_postgresql_servers_socket(self) -> None:
        local = self.local_settings()
        self.assertEqual(
            (local["database"], local["host"]),
            ("django.db.backends.postgresql", str(settings.MEDIA_ROOT / "var" / "postgres")),
        )
