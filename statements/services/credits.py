"""Credits to prepaid licenses: adding one (a retry changes nothing) and removing a mistaken one."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.audit import record_change, record_delete, snapshot
from accounts.money import minor_unit
from accounts.scoping import Actor
from licenses.models import License
from metering.months import Month

from ..models import Credit, Statement, StatementStatus
from .runs import lock_open_statements, refresh_balances, statements_ensure

INVOICE_NUMBER_MAX = 50
FUTURE_TOLERANCE = timedelta(minutes=5)

ERR_PERIOD_CLOSED = "{period} is closed: its statement never changes."
ERR_AMOUNT = "Must be a number above 0 with at most {places} decimals."
ERR_FUTURE = "Must not be in the future."
ERR_TIME = "Must be a timestamp with a time zone."
ERR_INVOICE_NUMBER = f"Must be a non-empty text of at most {INVOICE_NUMBER_MAX} characters."
ERR_INVOICE_DATE = "Must be a date, e.g. 2026-05-01."
ERR_INVOICE_REUSED = "Invoice {number} is already recorded on this license with other values."

_CREDIT_TOTALS_SQL = """
UPDATE statements_statement s
SET total_credits = coalesce((SELECT sum(c.amount) FROM statements_credit c
                              WHERE c.statement_id = s.id), 0),
    updated_at = %(now)s
WHERE s.id = %(id)s AND s.status = 'open'
"""


def _clean_amount(value: Any, currency: str) -> Decimal:
    places = minor_unit(currency)
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        amount = None
    if (
        amount is None
        or isinstance(value, bool | float)
        or not amount.is_finite()
        or amount <= 0
        or amount.adjusted() >= 14
        or amount != amount.quantize(Decimal(1).scaleb(-places))
    ):
        raise ValidationError({"amount": [ERR_AMOUNT.format(places=places)]})
    return amount


def _clean_credit(
    *,
    license: License,
    amount: Any,
    credited_at: datetime | None,
    invoice_number: Any,
    invoice_date: Any,
    now: datetime,
) -> tuple[Decimal, datetime, str, date]:
    errors: dict[str, list[str]] = {}
    try:
        amount = _clean_amount(amount, license.account.currency)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if credited_at is None:
        credited_at = now
    elif not isinstance(credited_at, datetime) or timezone.is_naive(credited_at):
        errors["credited_at"] = [ERR_TIME]
    elif credited_at > now + FUTURE_TOLERANCE:
        errors["credited_at"] = [ERR_FUTURE]
    if (
        not isinstance(invoice_number, str)
        or not invoice_number.strip()
        or len(invoice_number.strip()) > INVOICE_NUMBER_MAX
    ):
        errors["invoice_number"] = [ERR_INVOICE_NUMBER]
    if not isinstance(invoice_date, date) or isinstance(invoice_date, datetime):
        errors["invoice_date"] = [ERR_INVOICE_DATE]
    if errors:
        raise ValidationError(errors)
    return amount, credited_at.astimezone(UTC), invoice_number.strip(), invoice_date


def _period_is_closed(license: License, period: date) -> bool:
    """Whether the license's month is closed, or lies before its closed first statement."""
    return Statement.objects.filter(
        license=license, period__gte=period, status=StatementStatus.CLOSED
    ).exists()


def _refresh_credit_totals(statement_id: int, now: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_CREDIT_TOTALS_SQL, {"now": now, "id": statement_id})


def credit_check(
    *,
    license: License,
    amount: Any,
    invoice_number: Any,
    invoice_date: Any,
    credited_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[Decimal, datetime, str, date]:
    """The cleaned (amount, credited_at, invoice number, invoice date) of a credit that may be
    added, or a ValidationError naming each bad field."""
    now = now or timezone.now()
    cleaned = _clean_credit(
        license=license,
        amount=amount,
        credited_at=credited_at,
        invoice_number=invoice_number,
        invoice_date=invoice_date,
        now=now,
    )
    period = Month.of(cleaned[1]).first_day
    if _period_is_closed(license, period):
        raise ValidationError(
            {"credited_at": [ERR_PERIOD_CLOSED.format(period=str(Month.of(period)))]}
        )
    return cleaned


@transaction.atomic
def credit_add(
    *,
    actor: Actor | None,
    license: License,
    amount: Decimal | str,
    invoice_number: str,
    invoice_date: date,
    credited_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[Credit, bool]:
    """Credit money to a license on the statement of the month it is credited in. Returns the
    credit and whether it is new: sending the same invoice again returns the stored credit
    (a retry changes nothing); the same invoice number with other values is refused."""
    now = now or timezone.now()
    amount, credited_at, invoice_number, invoice_date = _clean_credit(
        license=license,
        amount=amount,
        credited_at=credited_at,
        invoice_number=invoice_number,
        invoice_date=invoice_date,
        now=now,
    )
    # One credit write per license at a time, so two identical requests racing each other end
    # as one stored credit and one retry instead of a unique violation. NO KEY: a poll or close
    # inserting this license's statements checks their foreign key with a key-share lock on the
    # license row, which FOR UPDATE would block while this credit waits for those statements.
    License.objects.select_for_update(no_key=True).filter(pk=license.pk).exists()
    existing = Credit.objects.filter(license=license, invoice_number=invoice_number).first()
    if existing is not None:
        if (existing.amount, existing.credited_at, existing.invoice_date) == (
            amount,
            credited_at,
            invoice_date,
        ):
            return existing, False
        raise ValidationError(
            {"invoice_number": [ERR_INVOICE_REUSED.format(number=invoice_number)]}
        )
    period = Month.of(credited_at).first_day
    # Lock the license's open statements first, so a close or poll cannot slip in between.
    lock_open_statements([license.id])
    credit_check(
        license=license,
        amount=amount,
        credited_at=credited_at,
        invoice_number=invoice_number,
        invoice_date=invoice_date,
        now=now,
    )
    statements_ensure(wanted={license.id: {period}}, now=now)
    lock_open_statements([license.id])
    statement = Statement.objects.select_for_update().get(license=license, period=period)
    credit = Credit.objects.create(
        account_id=license.account_id,
        license=license,
        statement=statement,
        amount=amount,
        credited_at=credited_at,
        invoice_number=invoice_number,
        invoice_date=invoice_date,
        created_at=now,
    )
    record_change(actor=actor, instance=credit, old=None)
    _refresh_credit_totals(statement.id, now)
    refresh_balances([license.id])
    return credit, True


@transaction.atomic
def credit_delete(*, actor: Actor | None, credit: Credit, now: datetime | None = None) -> None:
    """Remove a credit recorded by mistake, while its statement is still open."""
    now = now or timezone.now()
    lock_open_statements([credit.license_id])
    statement = Statement.objects.select_for_update().get(pk=credit.statement_id)
    if statement.is_closed:
        raise ValidationError(
            {"credited_at": [ERR_PERIOD_CLOSED.format(period=str(Month.of(statement.period)))]}
        )
    old = snapshot(credit)
    Credit.objects.filter(pk=credit.pk).delete()
    record_delete(actor=actor, instance=credit, old=old)
    _refresh_credit_totals(statement.id, now)
    refresh_balances([credit.license_id])
