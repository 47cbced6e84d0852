"""Compare event ids byte by byte: the idempotency index is then cheaper to maintain and search
than with the database's linguistic collation. Event ids are opaque keys, so nothing is lost."""

from django.db import migrations

FORWARD = 'ALTER TABLE metering_usageevent ALTER COLUMN event_id TYPE varchar(100) COLLATE "C"'
BACKWARD = (
    'ALTER TABLE metering_usageevent ALTER COLUMN event_id TYPE varchar(100) COLLATE "default"'
)


class Migration(migrations.Migration):
    dependencies = [("metering", "0001_initial")]

    operations = [migrations.RunSQL([FORWARD], [BACKWARD])]
