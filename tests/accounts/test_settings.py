"""The environment readers the settings use refuse bad values with a message naming the variable."""

import os
from unittest import mock

from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase

from billing_site.settings.env import ERR_BELOW_MINIMUM, ERR_CACHE_URL, cache_from_url, env_int


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
