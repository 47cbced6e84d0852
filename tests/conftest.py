"""Shared pytest fixtures: a real Chromium driven by Playwright for browser tests, and the
flush between transactional tests made to get past the audit log's append-only triggers."""

import importlib
import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"Browser tests need Debian's chromium at {CHROMIUM} (bin/test installs it).")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
    # body are still synchronous, so allow them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def login(page: object, live_server: object) -> object:
    """login(username, password) signs in through the real login form."""

    def sign_in(username: str, password: str = "test-password") -> None:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        # The login page itself matches "/**"; wait until the browser has left it.
        page.wait_for_url(lambda url: url.startswith(live_server.url) and "/login/" not in url)

    return sign_in


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres` need PostgreSQL's concurrency; skip them on SQLite."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


_APPEND_ONLY = importlib.import_module("accounts.migrations.0002_audit_append_only")


def _set_audit_triggers(connection: object, *, enabled: bool) -> None:
    if connection.vendor == "postgresql":
        verb = "ENABLE" if enabled else "DISABLE"
        statements = [f"ALTER TABLE {_APPEND_ONLY.TABLE} {verb} TRIGGER USER"]
    elif connection.vendor == "sqlite":
        statements = _APPEND_ONLY.SQLITE_FORWARD if enabled else _APPEND_ONLY.SQLITE_BACKWARD
    else:
        return
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


@pytest.fixture(scope="session", autouse=True)
def _flush_past_audit_triggers() -> Iterator[None]:
    """A transactional test ends with a flush (TRUNCATE on PostgreSQL, DELETE on SQLite) that
    the audit log's triggers refuse by design; lift them for that flush only."""
    from django.db import connections
    from django.test import TransactionTestCase

    original = TransactionTestCase._fixture_teardown

    def fixture_teardown(self: TransactionTestCase) -> None:
        aliases = list(self._databases_names(include_mirrors=False))
        for alias in aliases:
            _set_audit_triggers(connections[alias], enabled=False)
        try:
            original(self)
        finally:
            for alias in aliases:
                _set_audit_triggers(connections[alias], enabled=True)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", fixture_teardown)
        yield
