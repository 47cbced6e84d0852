"""A closed statement never changes, and the database enforces it:

- a closed statement row refuses UPDATE and DELETE;
- credits counted on a closed statement refuse INSERT, UPDATE and DELETE;
- charge lines and charge rollups billed on a closed statement refuse INSERT, UPDATE and DELETE.

The line and rollup checks are statement-level triggers over the transition table, so a poll
inserting a million lines pays one hash join, not a lookup per row. (TRUNCATE stays possible for
test flushes.)
"""

from django.db import migrations

FORWARD = """
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

BACKWARD = """
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


class Migration(migrations.Migration):
    dependencies = [
        ("statements", "0001_initial"),
        ("metering", "0006_charges_append_only"),
    ]

    operations = [migrations.RunSQL([FORWARD], [BACKWARD])]
