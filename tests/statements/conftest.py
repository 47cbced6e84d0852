"""Transactional tests here (browser, concurrency) end with a flush: TRUNCATE on PostgreSQL,
DELETE on SQLite. The append-only and closed-statement triggers refuse that by design, so they
are lifted for the flush only and put back right after."""

import importlib
from collections.abc import Iterator

import pytest

_MIGRATIONS = [
    importlib.import_module("accounts.migrations.0002_audit_append_only"),
    importlib.import_module("metering.migrations.0004_charges_append_only"),
    importlib.import_module("statements.migrations.0002_closed_statements_never_change"),
]
_POSTGRES_TABLES = ["accounts_auditevent", "metering_charge", *_MIGRATIONS[2].TABLES]


def _sqlite_forward(migration: object) -> list[str]:
    # Re-create idempotently: another fixture may already have put the audit triggers back.
    return [
        s.replace("CREATE TRIGGER IF NOT EXISTS", "CREATE TRIGGER").replace(
            "CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1
        )
        for s in migration.SQLITE_FORWARD
    ]


def _set_triggers(connection: object, *, enabled: bool) -> None:
    if connection.vendor == "postgresql":
        verb = "ENABLE" if enabled else "DISABLE"
        statements = [f"ALTER TABLE {t} {verb} TRIGGER USER" for t in sorted(set(_POSTGRES_TABLES))]
    elif connection.vendor == "sqlite":
        statements = [
            s for m in _MIGRATIONS for s in (_sqlite_forward(m) if enabled else m.SQLITE_BACKWARD)
        ]
    else:
        return
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


@pytest.fixture(scope="session", autouse=True)
def _flush_past_statement_triggers() -> Iterator[None]:
    from django.db import connections
    from django.test import TransactionTestCase

    original = TransactionTestCase._fixture_teardown

    def fixture_teardown(self: TransactionTestCase) -> None:
        aliases = list(self._databases_names(include_mirrors=False))
        for alias in aliases:
            _set_triggers(connections[alias], enabled=False)
        try:
            original(self)
        finally:
            for alias in aliases:
                _set_triggers(connections[alias], enabled=True)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", fixture_teardown)
        yield
