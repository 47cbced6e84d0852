"""Strict readers for environment variables: a bad value stops start-up with a clear message."""

import os

from django.core.exceptions import ImproperlyConfigured

ERR_MISSING = "The environment variable {name} must be set."
ERR_WEAK_KEY = "{name} must be a random value of at least {length} characters."
ERR_BELOW_MINIMUM = "{name} must be at least {minimum}; got {number}."
ERR_ABOVE_MAXIMUM = "{name} must be at most {maximum}; got {number}."
ERR_CACHE_URL = "{name} must be locmem:// or a redis:// or rediss:// URL; got {url!r}."

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(ERR_MISSING.format(name=name))
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {value!r}."
    )


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer; got {value!r}.") from exc
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(
            ERR_BELOW_MINIMUM.format(name=name, minimum=minimum, number=number)
        )
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(
            ERR_ABOVE_MAXIMUM.format(name=name, maximum=maximum, number=number)
        )
    return number


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated list; blanks are dropped."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def cache_from_url(name: str, url: str) -> dict[str, str]:
    """A CACHES entry from a URL: locmem:// (this process's memory) or a Redis URL."""
    if url == "locmem://":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if url.startswith(("redis://", "rediss://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    raise ImproperlyConfigured(ERR_CACHE_URL.format(name=name, url=url))
