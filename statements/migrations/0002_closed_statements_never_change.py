"""A closed statement never changes, and the database enforces it (PostgreSQL and SQLite):

- a closed statement row refuses UPDATE and DELETE;
- credits counted on a closed statement refuse INSERT, UPDATE and DELETE;
- charge lines and charge rollups billed on a closed statement refuse INSERT, UPDATE and DELETE.

On PostgreSQL the line and rollup checks are statement-level triggers over the transition table,
so a poll inserting a million lines pays one hash join, not a lookup per row.
(TRUNCATE stays possible for test flushes.)
"""

from django.db import migrations

CLOSED_STATEMENT_ERROR = "A closed statement never changes"

POSTGRES_FORWARD = """
CREATE FUNCTION statement_closed_never_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'A closed statement never changes (% of statement % refused).', TG_OP, OLD.id;
END;
$$;
-- The WHEN clause is checked without calling the function, so open rows cost nothing.
CREATE TRIGGER statement_closed_never_changes
    BEFORE UPDATE OR DELETE ON statements_statement
    FOR EACH ROW WHEN (OLD.status = 'closed') EXECUTE FUNCTION statement_closed_never_changes();

CREATE FUNCTION credit_of_closed_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP <> 'INSERT' AND EXISTS (
            SELECT 1 FROM statements_statement s
            WHERE s.id = OLD.statement_id AND s.status = 'closed'))
       OR (TG_OP <> 'DELETE' AND EXISTS (
            SELECT 1 FROM statements_statement s
            WHERE s.id = NEW.statement_id AND s.status = 'closed')) THEN
        RAISE EXCEPTION 'A closed statement never changes (% of a credit refused).', TG_OP;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER credit_of_closed_statement
    BEFORE INSERT OR UPDATE OR DELETE ON statements_credit
    FOR EACH ROW EXECUTE FUNCTION credit_of_closed_statement();

CREATE FUNCTION usage_of_closed_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Hashes the (few) closed statements and probes them with the changed rows; with no
    -- closed statement at all the probe never runs.
    IF EXISTS (
        SELECT 1 FROM changed c
        JOIN statements_statement s
          ON s.license_id = c.license_id AND s.period = c.billed_period
        WHERE s.status = 'closed'
    ) THEN
        RAISE EXCEPTION 'A closed statement never changes (% on % refused).', TG_OP, TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER charge_insert_closed AFTER INSERT ON metering_charge
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION usage_of_closed_statement();
CREATE TRIGGER rollup_insert_closed AFTER INSERT ON metering_chargerollup
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION usage_of_closed_statement();
CREATE TRIGGER rollup_update_old_closed AFTER UPDATE ON metering_chargerollup
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION usage_of_closed_statement();
CREATE TRIGGER rollup_update_new_closed AFTER UPDATE ON metering_chargerollup
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION usage_of_closed_statement();
CREATE TRIGGER rollup_delete_closed AFTER DELETE ON metering_chargerollup
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION usage_of_closed_statement();
"""

POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS rollup_delete_closed ON metering_chargerollup;
DROP TRIGGER IF EXISTS rollup_update_new_closed ON metering_chargerollup;
DROP TRIGGER IF EXISTS rollup_update_old_closed ON metering_chargerollup;
DROP TRIGGER IF EXISTS rollup_insert_closed ON metering_chargerollup;
DROP TRIGGER IF EXISTS charge_insert_closed ON metering_charge;
DROP FUNCTION IF EXISTS usage_of_closed_statement();
DROP TRIGGER IF EXISTS credit_of_closed_statement ON statements_credit;
DROP FUNCTION IF EXISTS credit_of_closed_statement();
DROP TRIGGER IF EXISTS statement_closed_never_changes ON statements_statement;
DROP FUNCTION IF EXISTS statement_closed_never_changes();
"""

# The tables whose user triggers a test flush has to lift (see tests/statements/conftest.py).
TABLES = ("statements_statement", "statements_credit", "metering_charge", "metering_chargerollup")

_CLOSED = "SELECT 1 FROM statements_statement s WHERE s.status = 'closed' AND "
_USAGE_NEW = _CLOSED + "s.license_id = NEW.license_id AND s.period = NEW.billed_period"
_USAGE_OLD = _CLOSED + "s.license_id = OLD.license_id AND s.period = OLD.billed_period"


def _sqlite_trigger(name: str, when: str, table: str, condition: str) -> str:
    return (
        f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {when} ON {table} WHEN {condition} "
        f"BEGIN SELECT RAISE(ABORT, '{CLOSED_STATEMENT_ERROR} ({when} refused).'); END;"
    )


SQLITE_TRIGGERS = {
    "statement_closed_no_update": ("UPDATE", "statements_statement", "OLD.status = 'closed'"),
    "statement_closed_no_delete": ("DELETE", "statements_statement", "OLD.status = 'closed'"),
    "credit_closed_no_insert": (
        "INSERT",
        "statements_credit",
        f"EXISTS ({_CLOSED}s.id = NEW.statement_id)",
    ),
    "credit_closed_no_update": (
        "UPDATE",
        "statements_credit",
        f"EXISTS ({_CLOSED}s.id = OLD.statement_id) OR EXISTS ({_CLOSED}s.id = NEW.statement_id)",
    ),
    "credit_closed_no_delete": (
        "DELETE",
        "statements_credit",
        f"EXISTS ({_CLOSED}s.id = OLD.statement_id)",
    ),
    "charge_closed_no_insert": ("INSERT", "metering_charge", f"EXISTS ({_USAGE_NEW})"),
    "rollup_closed_no_insert": ("INSERT", "metering_chargerollup", f"EXISTS ({_USAGE_NEW})"),
    "rollup_closed_no_update": (
        "UPDATE",
        "metering_chargerollup",
        f"EXISTS ({_USAGE_OLD}) OR EXISTS ({_USAGE_NEW})",
    ),
    "rollup_closed_no_delete": ("DELETE", "metering_chargerollup", f"EXISTS ({_USAGE_OLD})"),
}
SQLITE_FORWARD = [_sqlite_trigger(name, *spec) for name, spec in SQLITE_TRIGGERS.items()]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {name};" for name in SQLITE_TRIGGERS]


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
    dependencies = [
        ("statements", "0001_initial"),
        ("metering", "0006_charges_append_only"),
    ]

    operations = [migrations.RunPython(forward, backward)]
