"""The database itself refuses to change or remove quota ledger rows."""

from django.db import migrations

TABLE = "quotas_quotaledgerentry"

FORWARD = f"""
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
BACKWARD = f"""
DROP TRIGGER IF EXISTS quota_ledger_no_truncate ON {TABLE};
DROP TRIGGER IF EXISTS quota_ledger_append_only ON {TABLE};
DROP FUNCTION IF EXISTS quota_ledger_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("quotas", "0001_initial")]

    operations = [migrations.RunSQL([FORWARD], [BACKWARD])]
