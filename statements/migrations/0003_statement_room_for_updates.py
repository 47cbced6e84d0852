"""Open statements are rewritten by every poll and once more by the close. Leaving room on each
page (PostgreSQL fillfactor) lets those updates stay on the page (HOT), so none of the table's
indexes is touched: none covers a column that changes."""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE statements_statement SET (fillfactor = 70)")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE statements_statement RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("statements", "0002_closed_statements_never_change")]

    operations = [migrations.RunPython(forward, backward)]
