"""Open statements are rewritten by every poll and once more by the close. Leaving room on each
page (fillfactor) lets those updates stay on the page (HOT), so none of the table's indexes is
touched: none covers a column that changes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("statements", "0002_closed_statements_never_change")]

    operations = [
        migrations.RunSQL(
            ["ALTER TABLE statements_statement SET (fillfactor = 70)"],
            ["ALTER TABLE statements_statement RESET (fillfactor)"],
        )
    ]
