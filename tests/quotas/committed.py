"""A test case whose transactions really commit, for concurrency and Celery-worker tests where
other connections must see the rows.

Django empties the tables after each such test, but the append-only tables (the audit log, the
quota ledger, generated reports) refuse that by trigger. Teardown therefore empties them with
their triggers out of the way: on PostgreSQL as a replica session (ordinary triggers do not fire),
on SQLite by dropping the triggers for the flush and creating them again."""

from django.db import connection
from django.test import TransactionTestCase


class CommittedTestCase(TransactionTestCase):
    def _fixture_teardown(self) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")
            try:
                super()._fixture_teardown()
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("SET session_replication_role = DEFAULT")
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            triggers = cursor.fetchall()
            for name, _ in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
        try:
            super()._fixture_teardown()
        finally:
            with connection.cursor() as cursor:
                for _, sql in triggers:
                    cursor.execute(sql)
