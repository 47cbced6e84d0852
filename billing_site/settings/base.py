"""Settings shared by every environment. Everything that differs comes from the environment."""

from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE

from billing_site.embedded_postgres import database_url

from .env import cache_from_url, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("BILLING_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("SECRET_KEY", "insecure-local-key-never-use-in-production")
# Keys the audit log's hash chain (accounts/audit.py). Kept out of the database, and apart from
# SECRET_KEY so that rotating that one does not break the chain; never change it once set.
AUDIT_HMAC_KEY = env_str("AUDIT_HMAC_KEY", "insecure-local-audit-key-never-use-in-production")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "accounts.apps.StaticFilesConfig",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_tables2",
    "django_celery_beat",
    "csp",
    "axes",
    "accounts",
    "licenses",
    "metering",
    "invoices",
    "quotas",
    "statements",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.PageLoginRequiredMiddleware",
    "accounts.middleware.CurrentAccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "billing_site.urls"
WSGI_APPLICATION = "billing_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

# PostgreSQL everywhere. Without DATABASE_URL: the embedded server that bin/run starts in var/.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", database_url(VAR_DIR / "postgres", "billing")),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "login"

# Content-Security-Policy on every response: scripts only from our own static files (figures
# travel as JSON data blocks, handlers live in static JS), nothing from other origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # plotly.js styles the charts it draws with inline styles and ships no stylesheet to
        # serve instead; an inline style cannot run code.
        "style-src": [SELF, UNSAFE_INLINE],
        # Bootstrap's and Swagger UI's stylesheets draw their icons as data: URIs.
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Reverse proxies in front of the site that append the client's address to X-Forwarded-For
# (accounts/client_ip.py); 0 takes the connection's address.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# Sign-in throttling (django-axes): failed sign-ins are counted per user name (guessing one
# password from many addresses) and per address (trying many users); either reaching the limit
# locks that name or address out until it has made no attempt for the cool-off time. Staff
# unlock in the admin (Axes > Access attempts: delete the rows) or with `axes_reset_username`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "accounts.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.views.sign_in_locked"
# Left off on purpose: a successful sign-in would delete every attempt matching its user name
# *or its address*, so someone with an account of their own could clear the count of their
# guesses at another user's password between guesses.
AXES_RESET_ON_SUCCESS = False
# Verbose mode prints a banner at every start of every command and worker.
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Front-end packages installed by `npm ci` (never committed, never from a CDN).
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    # plotly.js as shipped inside the plotly wheel, for the charts built server-side.
    ("vendor/plotly", Path(find_spec("plotly").submodule_search_locations[0]) / "package_data"),
]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "billing@localhost")

# Celery: the embedded default is kombu's filesystem transport, a broker that needs no server;
# production and CI set CELERY_BROKER_URL=redis://...
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict = {}  # filled in by billing_site.celery from billing_site.schedule

# The longest machine session ingest accepts and the rating prices (seconds). Longer ones are
# refused at ingest and set aside by the rating: at most a year, which keeps a session's month
# parts and the statements they open within a year.
MAX_SESSION_SECONDS = env_int("MAX_SESSION_SECONDS", 31 * 86400, minimum=1, maximum=366 * 86400)

# Platform usage files the hourly collection imports, from <dir>/<platform>/<region>/ (then
# moved to done/ or failed/ beside them); and the resource-group tag that names our
# subscription in a Public Azure cost export.
USAGE_IMPORT_DIR = Path(env_str("USAGE_IMPORT_DIR", str(VAR_DIR / "usage-imports")))
PUBLIC_AZURE_SUBSCRIPTION_TAG = env_str("PUBLIC_AZURE_SUBSCRIPTION_TAG", "cms-subscription")

# POST /api/v1/events alone takes bodies up to this size: its documented 10,000-event batch is
# about 2.8 MB, over the 2.5 MB (DATA_UPLOAD_MAX_MEMORY_SIZE) every other request may send.
INGEST_MAX_BODY_SIZE = 8 * 2**20

# Django's cache holds the API's throttling counters. Local memory is per process: with several
# web workers each counts on its own, so production points CACHE_URL at Redis.
CACHES = {"default": cache_from_url("CACHE_URL", env_str("CACHE_URL", "locmem://"))}

# API ceilings, requests a minute: per ingest key, per other key or signed-in user, and per
# address for requests without a valid credential.
API_INGEST_REQUESTS_PER_MINUTE = env_int("API_INGEST_REQUESTS_PER_MINUTE", 1200, minimum=1)
API_REQUESTS_PER_MINUTE = env_int("API_REQUESTS_PER_MINUTE", 300, minimum=1)
API_ANONYMOUS_REQUESTS_PER_MINUTE = env_int("API_ANONYMOUS_REQUESTS_PER_MINUTE", 60, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.CanRead"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["accounts.json_text.TextJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "accounts.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "accounts.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "accounts.api_errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.CallerRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "ingest": f"{API_INGEST_REQUESTS_PER_MINUTE}/minute",
        "caller": f"{API_REQUESTS_PER_MINUTE}/minute",
        "anonymous": f"{API_ANONYMOUS_REQUESTS_PER_MINUTE}/minute",
    },
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Billing API",
    "DESCRIPTION": "Usage ingest and billing reads. Send `Authorization: Bearer <key>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_PERMISSIONS": ["accounts.permissions.IsAuthenticatedActor"],
    "SERVE_AUTHENTICATION": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table table-sm table-hover align-middle"}

# Rows a page may show; list views clamp ?per_page= into this range.
LIST_PER_PAGE_CHOICES = (25, 50, 100, 250)

# When set, the demo feed task adds a few usage events on each beat tick.
DEMO_FEED = env_bool("DEMO_FEED", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        "client_error_without_traceback": {"()": "accounts.log_filters.ClientErrorWithoutTraceback"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django gives its logger a console handler of its own (active while DEBUG is on) and
        # lets records propagate to the root's as well, so each was printed twice. Naming the
        # logger here removes that handler; NOTSET lets LOG_LEVEL decide.
        "django": {"handlers": [], "level": "NOTSET"},
        "django.request": {"filters": ["client_error_without_traceback"]},
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint reports every rendering step at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
