"""App configuration: the accounts app, and the static files the site collects."""

from django.apps import AppConfig
from django.contrib.staticfiles.apps import StaticFilesConfig as DjangoStaticFilesConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and platform"


class StaticFilesConfig(DjangoStaticFilesConfig):
    """Static files without what no page loads: the front-end packages ship every variant
    (source maps, right-to-left, partial builds, ReDoc, plotly's sample data), and collecting and
    compressing those costs minutes on every image build and demo start."""

    ignore_patterns = [
        *DjangoStaticFilesConfig.ignore_patterns,
        "*.map",
        "*.rtl.*",
        "bootstrap-grid*",
        "bootstrap-reboot*",
        "bootstrap-utilities*",
        "bootstrap.esm*",
        "bootstrap.css",
        "bootstrap.js",
        "bootstrap.bundle.js",
        "bootstrap.min.js",
        "datasets",
        "redoc",
    ]
