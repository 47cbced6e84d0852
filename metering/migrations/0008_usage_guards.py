"""The database guards what the metered-usage rules promise: a meter price is a fact (a change is
a new row, so rows priced with it keep explaining themselves), and a billing row of an invoiced
day never changes again. (TRUNCATE stays possible for test flushes.)"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION metering_meterprice_add_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Meter prices are add-only (% refused): add a price with a later start.',
        TG_OP;
END;
$$;
CREATE TRIGGER metering_meterprice_add_only
    BEFORE UPDATE OR DELETE ON metering_meterprice
    FOR EACH ROW EXECUTE FUNCTION metering_meterprice_add_only();

CREATE FUNCTION metering_billingrow_invoiced_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM metering_invoicedday d
               WHERE d.account_id = OLD.account_id AND d.day = OLD.day) THEN
        RAISE EXCEPTION 'Billing row % is on an invoiced day (% refused).', OLD.id, TG_OP;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER metering_billingrow_invoiced_frozen
    BEFORE UPDATE OR DELETE ON metering_billingrow
    FOR EACH ROW EXECUTE FUNCTION metering_billingrow_invoiced_frozen();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS metering_billingrow_invoiced_frozen ON metering_billingrow;
DROP FUNCTION IF EXISTS metering_billingrow_invoiced_frozen();
DROP TRIGGER IF EXISTS metering_meterprice_add_only ON metering_meterprice;
DROP FUNCTION IF EXISTS metering_meterprice_add_only();
"""


class Migration(migrations.Migration):
    dependencies = [("metering", "0007_metered_usage")]

    operations = [migrations.RunSQL([FORWARD], [BACKWARD])]
