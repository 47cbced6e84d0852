"""A counter that moves whenever something that can make waiting usage billable changes: a
meter, a price, a plan, an account's plan, a subscription, an asset's assignment, the account
tree. The usage rating retries waiting usage when it has moved since its last run. Statement
triggers on the tables themselves, so admin edits, the API and raw SQL all count."""

from django.db import migrations

TABLES = (
    "metering_meter",
    "metering_meterprice",
    "metering_priceplan",
    "metering_accountbilling",
    "metering_subscription",
    "metering_asset",
    "accounts_account",
)

FORWARD = [
    "CREATE SEQUENCE metering_references_version",
    """
    CREATE FUNCTION metering_references_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM nextval('metering_references_version');
        RETURN NULL;
    END;
    $$
    """,
    *(
        f"CREATE TRIGGER {table}_references_changed AFTER INSERT OR UPDATE OR DELETE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION metering_references_changed()"
        for table in TABLES
    ),
]
BACKWARD = [
    *(f"DROP TRIGGER IF EXISTS {table}_references_changed ON {table}" for table in TABLES),
    "DROP FUNCTION IF EXISTS metering_references_changed()",
    "DROP SEQUENCE IF EXISTS metering_references_version",
]


class Migration(migrations.Migration):
    dependencies = [
        ("metering", "0008_usage_guards"),
        ("accounts", "0006_service_keys_and_billing_settings"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
