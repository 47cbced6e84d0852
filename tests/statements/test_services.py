"""Statements: the poll's refresh, balances carried forward, the close, late usage, credits and
the rule that a closed statement never changes."""

import subprocess
import sys
import threading
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from unittest import mock

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.test import TestCase, TransactionTestCase
from django.utils import timezone

from accounts.models import AuditEvent
from metering.models import Charge, ChargeRollup
from metering.months import ERR_MONTH
from statements.models import Credit, Statement, StatementClosed, StatementStatus
from statements.services import credits
from statements.services.close import ERR_CLOSE_CURRENT, statements_close
from statements.services.credits import (
    ERR_FUTURE,
    ERR_INVOICE_REUSED,
    ERR_PERIOD_CLOSED,
    credit_add,
    credit_delete,
)
from statements.services.poll import statements_poll
from tests.factories import AccountFactory, LicenseFactory
from tests.statements.factories import at, catalog, ingest, ingest_and_poll, session

APRIL, MAY, JUNE = date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)
IN_MAY = at("2026-05-20 12:00")
EARLY_JUNE = at("2026-06-01 00:10")

STATEMENT_FIELDS = (
    "license_id",
    "period",
    "status",
    "starting_balance",
    "total_credits",
    "license_charges",
    "machine_charges",
    "ending_balance",
    "line_count",
    "usage",
)


def statements() -> list[tuple]:
    return list(Statement.objects.order_by("license_id", "period").values_list(*STATEMENT_FIELDS))


def row(statement: Statement) -> tuple:
    return tuple(getattr(statement, f) for f in STATEMENT_FIELDS)


class StatementScenario:
    """A license created in April with 1.00/h machines and 0.50/h licenses."""

    @classmethod
    def build(cls) -> None:
        cls.account = AccountFactory()
        cls.license = LicenseFactory(account=cls.account, created_at=at("2026-04-03 09:00"))
        catalog({"c5.xlarge": "1.000000"}, {"standard": "0.500000"})

    def credit(self, amount: str, when: str, number: str, **extra: object) -> Credit:
        credit, _ = credit_add(
            actor=None,
            license=self.license,
            amount=amount,
            credited_at=at(when),
            invoice_number=number,
            invoice_date=at(when).date(),
            now=extra.pop("now", IN_MAY),
        )
        return credit


class PollAndBalanceTests(StatementScenario, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.build()

    def test_poll_creates_the_run_of_statements_and_their_totals(self) -> None:
        self.credit("100.00", "2026-04-05 10:00", "INV-1")
        ingest_and_poll(
            [
                session(self.license, "a", "2026-04-10 10:00", 3 * 3600),
                session(self.license, "b", "2026-05-02 08:00", 3600, pool="sim"),
                session(self.license, "c", "2026-05-03 08:00", 1800),
            ],
            IN_MAY,
        )
        april, may = Statement.objects.order_by("period")
        self.assertEqual(
            row(april),
            (
                self.license.id,
                APRIL,
                StatementStatus.OPEN,
                Decimal("0"),
                Decimal("100.00"),
                Decimal("1.50"),
                Decimal("3.00"),
                Decimal("95.50"),
                1,
                timedelta(hours=3),
            ),
        )
        self.assertEqual(
            row(may),
            (
                self.license.id,
                MAY,
                StatementStatus.OPEN,
                Decimal("95.50"),
                Decimal("0"),
                Decimal("0.75"),
                Decimal("1.50"),
                Decimal("93.25"),
                2,
                timedelta(hours=1, minutes=30),
            ),
        )
        self.assertEqual((april.revision, may.revision), (1, 1))

    def test_statement_totals_are_the_sums_of_their_rounded_lines(self) -> None:
        catalog({"g4dn.xlarge": "0.526000"}, {"premium": "0.125555"})
        events = [
            session(self.license, f"e{n}", at("2026-05-01") + timedelta(minutes=37 * n), 61 * n)
            | {"machine_type": "g4dn.xlarge", "license_type": "premium"}
            for n in range(40)
        ]
        ingest_and_poll(events, IN_MAY)
        may = Statement.objects.get(period=MAY)
        lines = Charge.objects.filter(license=self.license, billed_period=MAY)
        self.assertEqual(may.machine_charges, sum(c.cost for c in lines))
        self.assertEqual(may.license_charges, sum(c.license_cost for c in lines))
        self.assertEqual(may.line_count, 40)
        rollups = ChargeRollup.objects.filter(license=self.license, billed_period=MAY)
        self.assertEqual(may.machine_charges, sum(r.cost for r in rollups))

    def test_a_credit_moves_the_balances_of_later_open_months(self) -> None:
        ingest_and_poll([session(self.license, "b", "2026-05-02 08:00", 3600)], IN_MAY)
        self.credit("10.00", "2026-04-20 00:00", "INV-7")
        april, may = Statement.objects.order_by("period")
        self.assertEqual((april.ending_balance, may.starting_balance), (10, 10))
        self.assertEqual(may.ending_balance, Decimal("8.50"))


class CloseTests(StatementScenario, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.build()

    def setUp(self) -> None:
        self.credit("50.00", "2026-04-05 10:00", "INV-1")
        ingest_and_poll(
            [
                session(self.license, "a", "2026-04-10 10:00", 2 * 3600),
                session(self.license, "b", "2026-05-02 08:00", 3600),
            ],
            IN_MAY,
        )

    def test_close_closes_earlier_months_and_carries_the_balance_forward(self) -> None:
        result = statements_close(now=EARLY_JUNE)
        self.assertEqual(result.closed, {"2026-04": 1, "2026-05": 1})
        april, may, june = Statement.objects.order_by("period")
        self.assertEqual([s.status for s in (april, may, june)], ["closed", "closed", "open"])
        self.assertEqual(april.ending_balance, Decimal("47.00"))
        self.assertEqual((may.starting_balance, may.ending_balance), (Decimal("47.00"), 45.5))
        self.assertEqual((june.starting_balance, june.ending_balance), (45.5, 45.5))
        self.assertEqual(may.closed_at, EARLY_JUNE)
        self.assertEqual(
            list(
                AuditEvent.objects.filter(object_type="statements.statement")
                .order_by("id")
                .values_list("object_id", "new_values")
            ),
            [
                ("2026-04", {"status": "closed", "statements": 1}),
                ("2026-05", {"status": "closed", "statements": 1}),
            ],
        )

    def test_the_close_recounts_from_the_lines_and_later_months_follow(self) -> None:
        # Stored running totals that drifted from the lines (say, an interrupted refresh):
        # the close counts the lines again, and June starts from what May really ended with.
        Statement.objects.filter(period=MAY).update(machine_charges=Decimal("999.00"))
        Statement.objects.filter(period=MAY).update(ending_balance=Decimal("-952.00"))
        statements_close(now=EARLY_JUNE)
        may, june = Statement.objects.filter(period__in=[MAY, JUNE]).order_by("period")
        self.assertEqual((may.status, may.ending_balance), ("closed", Decimal("45.50")))
        self.assertEqual((june.starting_balance, june.ending_balance), (45.5, 45.5))

    def test_closing_twice_changes_nothing(self) -> None:
        statements_close(now=EARLY_JUNE)
        before = list(Statement.objects.order_by("id").values())
        again = statements_close(now=EARLY_JUNE + timedelta(hours=1))
        self.assertEqual(again.closed, {})
        self.assertEqual(list(Statement.objects.order_by("id").values()), before)

    def test_one_period_closes_with_the_ones_before_it_only(self) -> None:
        statements_close(through=APRIL, now=EARLY_JUNE)
        self.assertEqual(
            list(Statement.objects.order_by("period").values_list("period", "status")),
            [(APRIL, "closed"), (MAY, "open"), (JUNE, "open")],
        )

    def test_the_current_month_cannot_be_closed(self) -> None:
        with self.assertRaisesMessage(
            ValidationError, ERR_CLOSE_CURRENT.format(period="2026-06", current="2026-06")
        ):
            statements_close(through=JUNE, now=EARLY_JUNE)
        self.assertEqual(Statement.objects.filter(status=StatementStatus.CLOSED).count(), 0)

    def test_late_usage_is_an_adjustment_on_the_open_month(self) -> None:
        statements_close(now=EARLY_JUNE)
        closed = statements()[:2]
        # A session of April arrives in June: April and May stay exactly as they were.
        ingest_and_poll([session(self.license, "late", "2026-04-28 10:00", 3600)], EARLY_JUNE)
        self.assertEqual(statements()[:2], closed)
        late = Charge.objects.get(usage_event__event_id="late")
        self.assertEqual((late.period, late.billed_period, late.is_adjustment), (APRIL, JUNE, True))
        june = Statement.objects.get(period=JUNE)
        self.assertEqual(
            (june.machine_charges, june.license_charges, june.ending_balance),
            (Decimal("1.00"), Decimal("0.50"), Decimal("44.00")),
        )

    def test_a_closed_statement_refuses_every_change(self) -> None:
        statements_close(now=EARLY_JUNE)
        april = Statement.objects.get(period=APRIL)
        april.total_credits = Decimal("1")
        with self.assertRaises(StatementClosed):
            april.save()
        with self.assertRaises(StatementClosed):
            Statement.objects.filter(period=APRIL).update(total_credits=1)
        with self.assertRaises(StatementClosed):
            april.delete()
        checks = [
            "UPDATE statements_statement SET total_credits = 1 WHERE period = %s",
            "DELETE FROM statements_statement WHERE period = %s",
            "UPDATE statements_credit SET amount = 1 WHERE statement_id IN "
            "(SELECT id FROM statements_statement WHERE period = %s)",
            "UPDATE metering_chargerollup SET lines = 0 WHERE billed_period = %s",
            "INSERT INTO metering_chargerollup (license_id, billed_period, period, pool,"
            " machine_type, region, license_type, duration, cost, license_cost, lines)"
            " VALUES (%s, %s, %s, 'x', 'x', 'x', 'x', 0, 0, 0, 0)",
        ]
        for statement in checks:
            with self.subTest(statement), self.assertRaises(DatabaseError), transaction.atomic():
                params = [APRIL] * statement.count("%s")
                if statement.startswith("INSERT"):
                    params = [self.license.id, APRIL, APRIL]
                with connection.cursor() as cursor:
                    cursor.execute(statement, params)
        line = Charge.objects.filter(billed_period=APRIL).values().get()
        line["start"] += timedelta(seconds=1)  # a new line, for the closed month
        with self.assertRaises(DatabaseError), transaction.atomic():
            Charge.objects.create(**line)
        self.assertEqual(Statement.objects.get(period=APRIL).total_credits, Decimal("50.00"))

    def test_the_command_closes_and_refuses_the_current_month(self) -> None:
        out = StringIO()
        call_command("close_statements", "--period", "2026-04", stdout=out)
        self.assertIn("Closed 1 statement", out.getvalue())
        with self.assertRaisesMessage(CommandError, "2099-01 is not over yet"):
            call_command("close_statements", "--period", "2099-01")
        with self.assertRaisesMessage(CommandError, ERR_MONTH):
            call_command("close_statements", "--period", "April")
        self.assertEqual(Statement.objects.filter(period__gt=APRIL, status="closed").count(), 0)

    def test_the_command_exits_with_status_1_for_the_current_month(self) -> None:
        current = timezone.now().strftime("%Y-%m")
        done = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
            [sys.executable, "manage.py", "close_statements", "--period", current],
            capture_output=True,
            text=True,
            check=False,
            cwd=settings.BASE_DIR,
        )
        self.assertEqual(done.returncode, 1)
        self.assertIn(f"{current} is not over yet", done.stderr)


class CreditTests(StatementScenario, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.build()

    def test_sending_the_same_invoice_again_changes_nothing(self) -> None:
        first = self.credit("25.00", "2026-05-05 10:00", "INV-9")
        again, created = credit_add(
            actor=None,
            license=self.license,
            amount="25.00",
            credited_at=at("2026-05-05 10:00"),
            invoice_number="INV-9",
            invoice_date=date(2026, 5, 5),
            now=IN_MAY,
        )
        self.assertEqual((again.pk, created), (first.pk, False))
        self.assertEqual(Statement.objects.get(period=MAY).total_credits, Decimal("25.00"))
        with self.assertRaisesMessage(ValidationError, ERR_INVOICE_REUSED.format(number="INV-9")):
            self.credit("26.00", "2026-05-05 10:00", "INV-9")

    def test_credits_in_the_future_or_in_a_closed_month_are_refused(self) -> None:
        with self.assertRaisesMessage(ValidationError, ERR_FUTURE):
            self.credit("1.00", "2026-05-21 00:00", "INV-F")
        statements_close(now=EARLY_JUNE)
        with self.assertRaisesMessage(ValidationError, ERR_PERIOD_CLOSED.format(period="2026-05")):
            self.credit("1.00", "2026-05-10 00:00", "INV-C", now=EARLY_JUNE)
        self.assertEqual(Credit.objects.count(), 0)

    def test_amounts_take_the_currency_decimals_only(self) -> None:
        with self.assertRaises(ValidationError) as error:
            self.credit("1.005", "2026-05-05 10:00", "INV-X")
        self.assertEqual(list(error.exception.message_dict), ["amount"])

    def test_a_credit_of_an_open_month_can_be_deleted(self) -> None:
        credit = self.credit("5.00", "2026-05-05 10:00", "INV-D")
        credit_delete(actor=None, credit=credit, now=IN_MAY)
        self.assertEqual(Statement.objects.get(period=MAY).total_credits, 0)
        credit = self.credit("5.00", "2026-05-05 10:00", "INV-E")
        statements_close(now=EARLY_JUNE)
        with self.assertRaises(ValidationError):
            credit_delete(actor=None, credit=credit, now=EARLY_JUNE)


class ConcurrencyTests(StatementScenario, TransactionTestCase):
    """Two closes (or two polls) at the same moment give the result of one."""

    def setUp(self) -> None:
        self.build()
        self.credit("50.00", "2026-04-05 10:00", "INV-1")
        ingest([session(self.license, f"s{n}", "2026-05-02 08:00", 60 * n) for n in range(50)])

    def in_parallel(self, work: object) -> list[object]:
        barrier, results, errors = threading.Barrier(2), [], []

        def run() -> None:
            try:
                barrier.wait()
                results.append(work())
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        return results

    def test_concurrent_polls_price_each_session_once(self) -> None:
        self.in_parallel(lambda: statements_poll(now=IN_MAY))
        self.assertEqual(Charge.objects.count(), 50)
        self.assertEqual(Statement.objects.get(period=MAY).line_count, 50)

    def test_the_same_credit_sent_twice_at_once_is_stored_once(self) -> None:
        def send() -> bool:
            _, created = credit_add(
                actor=None,
                license=self.license,
                amount="12.50",
                credited_at=at("2026-05-06 09:00"),
                invoice_number="INV-RACE",
                invoice_date=at("2026-05-06 09:00").date(),
                now=IN_MAY,
            )
            return created

        self.assertEqual(sorted(self.in_parallel(send)), [False, True])
        self.assertEqual(Credit.objects.filter(invoice_number="INV-RACE").count(), 1)

    def test_concurrent_closes_give_one_result(self) -> None:
        results = self.in_parallel(lambda: statements_close(now=EARLY_JUNE).closed)
        self.assertEqual(sorted(results, key=len), [{}, {"2026-04": 1, "2026-05": 1}])
        self.assertEqual(
            list(Statement.objects.order_by("period").values_list("status", "ending_balance")),
            [
                # 50 - sum of rounded lines (machine 20.42, license 10.25)
                ("closed", Decimal("50.00")),
                ("closed", Decimal("19.33")),
                ("open", Decimal("19.33")),
            ],
        )

    def test_a_credit_in_progress_never_blocks_the_close(self) -> None:
        # The credit holds its license's row lock while the close adds June's statement, whose
        # foreign key check takes a share of that same row: the close must not wait for it.
        locked, release = threading.Event(), threading.Event()
        lock_statements = credits.lock_open_statements
        refused: list[ValidationError] = []

        def paused(license_ids: object) -> None:
            locked.set()
            release.wait(30)
            lock_statements(license_ids)

        def send() -> None:
            try:
                self.credit("5.00", "2026-05-06 09:00", "INV-LATE", now=EARLY_JUNE)
            except ValidationError as exc:
                refused.append(exc)
            finally:
                connections.close_all()

        with mock.patch.object(credits, "lock_open_statements", paused):
            thread = threading.Thread(target=send)
            thread.start()
            self.assertTrue(locked.wait(30))
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '10s'")
                result = statements_close(now=EARLY_JUNE)
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("RESET lock_timeout")
                release.set()
                thread.join()
        self.assertEqual(result.closed, {"2026-04": 1, "2026-05": 1})
        # Then the credit sees May closed and is refused.
        self.assertEqual(
            [exc.messages for exc in refused], [[ERR_PERIOD_CLOSED.format(period="2026-05")]]
        )
        self.assertFalse(Credit.objects.filter(invoice_number="INV-LATE").exists())
