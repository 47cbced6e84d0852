"""Two database-level decisions for monthly usage reports.

1. A BRIN index on metering_usageevent.occurred_at. Report generation reads one month of
   events; events arrive roughly in time order, so a BRIN index lets that scan skip the other
   months' blocks. It stores one summary per 32 pages, so ingest (COPY) does not slow
   down the way it would with a B-tree, which costs about as much as the COPY itself.
2. Generated reports never change: triggers refuse UPDATE and DELETE on the report tables, as
   the audit log does.
"""

from django.db import migrations

BRIN_FORWARD = (
    "CREATE INDEX usageevent_occurred_brin ON metering_usageevent "
    "USING brin (occurred_at) WITH (pages_per_range = 32)"
)
BRIN_BACKWARD = "DROP INDEX IF EXISTS usageevent_occurred_brin"

FROZEN_TABLES = ("metering_usagereport", "metering_usagereportmonth")

FROZEN_FORWARD = """
CREATE FUNCTION usage_report_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Generated usage reports never change (% refused).', TG_OP;
END;
$$;
""" + "".join(
    f"""
CREATE TRIGGER {table}_frozen BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION usage_report_frozen();
"""
    for table in FROZEN_TABLES
)
FROZEN_BACKWARD = "".join(
    f"DROP TRIGGER IF EXISTS {table}_frozen ON {table};\n" for table in FROZEN_TABLES
) + ("DROP FUNCTION IF EXISTS usage_report_frozen();")


class Migration(migrations.Migration):
    dependencies = [("metering", "0003_device_usage_and_reports")]

    operations = [
        migrations.RunSQL([BRIN_FORWARD, FROZEN_FORWARD], [FROZEN_BACKWARD, BRIN_BACKWARD])
    ]
