"""The database itself refuses to change or remove quota ledger rows (PostgreSQL and SQLite)."""

from django.db import migrations

TABLE = "quotas_quotaledgerentry"

POSTGRES_FORWARD = f"""
CREATE FUNCTION quota_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'The quota ledger is append-only (% refused).', TG_OP;
END;
$$;
CREATE TRIGGER quota_ledger_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION quota_ledger_append_only();
CREATE TRIGGER quota_ledger_no_truncate
    BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION quota_ledger_append_only();
"""
POSTGRES_BACKWARD = f"""
DROP TRIGGER IF EXISTS quota_ledger_no_truncate ON {TABLE};
DROP TRIGGER IF EXISTS quota_ledger_append_only ON {TABLE};
DROP FUNCTION IF EXISTS quota_ledger_append_only();
"""
SQLITE_FORWARD = [
    f"""CREATE TRIGGER quota_ledger_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'The quota ledger is append-only (UPDATE refused).'); END;""",
    f"""CREATE TRIGGER quota_ledger_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'The quota ledger is append-only (DELETE refused).'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS quota_ledger_no_update;",
    "DROP TRIGGER IF EXISTS quota_ledger_no_delete;",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("quotas", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
