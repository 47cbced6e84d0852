"""The database refuses to update or delete charge lines (PostgreSQL and SQLite): a priced line
is a fact; corrections are new lines. (TRUNCATE stays possible for test flushes.)"""

from django.db import migrations

TABLE = "metering_charge"

POSTGRES_FORWARD = f"""
CREATE FUNCTION metering_charge_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Charge lines are append-only (% refused).', TG_OP;
END;
$$;
CREATE TRIGGER metering_charge_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION metering_charge_append_only();
"""
POSTGRES_BACKWARD = f"""
DROP TRIGGER IF EXISTS metering_charge_append_only ON {TABLE};
DROP FUNCTION IF EXISTS metering_charge_append_only();
"""
SQLITE_FORWARD = [
    f"""CREATE TRIGGER IF NOT EXISTS metering_charge_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'Charge lines are append-only (UPDATE refused).'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS metering_charge_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'Charge lines are append-only (DELETE refused).'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS metering_charge_no_update;",
    "DROP TRIGGER IF EXISTS metering_charge_no_delete;",
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
    dependencies = [("metering", "0005_charges")]

    operations = [migrations.RunPython(forward, backward)]
