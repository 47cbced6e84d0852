"""The database refuses to update or delete charge lines: a priced line is a fact; corrections
are new lines. (TRUNCATE stays possible for test flushes.)"""

from django.db import migrations

TABLE = "metering_charge"

FORWARD = f"""
CREATE FUNCTION metering_charge_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Charge lines are append-only (% refused).', TG_OP;
END;
$$;
CREATE TRIGGER metering_charge_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION metering_charge_append_only();
"""
BACKWARD = f"""
DROP TRIGGER IF EXISTS metering_charge_append_only ON {TABLE};
DROP FUNCTION IF EXISTS metering_charge_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("metering", "0005_charges")]

    operations = [migrations.RunSQL([FORWARD], [BACKWARD])]
