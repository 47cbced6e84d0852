"""API: statements, their machine usage, credits, transactions and balances.

Amounts are strings with the currency's decimals, times ISO 8601 UTC, months YYYY-MM.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.money import format_money
from accounts.roles import Capability, can
from accounts.schema import MONTH_PATTERN
from licenses.models import License
from metering.exports import iso_utc
from metering.models import MONEY_DIGITS, MONEY_PLACES, Charge
from metering.months import ERR_MONTH, Month

from . import selectors
from .exports import exact_seconds
from .filters import BalanceApiFilter, TransactionApiFilter
from .formatting import format_hours
from .models import Credit, Statement
from .services.credits import credit_add

ERR_NO_STATEMENT = "No statement for this license in {period}."
ERR_FINANCE = "Only a finance or admin key (or a finance role) may add credits."

_MONTH = OpenApiParameter(
    "month", str, OpenApiParameter.PATH, description="YYYY-MM", pattern=MONTH_PATTERN
)


def _license(request: Request, license_id: str) -> License:
    return selectors.license_or_404(request.user, None, license_id)


def _statement(request: Request, license_id: str, month: str) -> Statement:
    license = _license(request, license_id)
    try:
        period = Month.parse(month).first_day
    except DjangoValidationError as exc:
        raise ValidationError({"period": [ERR_MONTH]}) from exc
    statement = selectors.statement_for(license, period)
    if statement is None:
        raise NotFound(ERR_NO_STATEMENT.format(period=month))
    return statement


def credit_data(credit: Credit, currency: str) -> dict[str, Any]:
    return {
        "id": str(credit.uuid),
        "license": str(credit.license.uuid),
        "amount": format_money(credit.amount, currency),
        "credited_at": iso_utc(credit.credited_at),
        "invoice_number": credit.invoice_number,
        "invoice_date": credit.invoice_date.isoformat(),
        "period": str(Month.of(credit.statement.period)),
    }


class CreditSerializer(serializers.Serializer):
    """A credit (transaction) as the API shows it."""

    id = serializers.UUIDField()
    license = serializers.UUIDField()
    amount = serializers.CharField(help_text="In the license's currency, e.g. '20.00'.")
    credited_at = serializers.DateTimeField()
    invoice_number = serializers.CharField()
    invoice_date = serializers.DateField()
    period = serializers.CharField(help_text="The statement month it counts on, YYYY-MM.")

    def to_representation(self, credit: Credit) -> dict[str, Any]:
        return credit_data(credit, credit.statement.currency)


def statement_data(statement: Statement) -> dict[str, Any]:
    currency = statement.currency

    def money(amount: object) -> str:
        return format_money(amount, currency)

    sections = selectors.statement_sections(statement)
    return {
        "id": str(statement.uuid),
        "license": str(statement.license.uuid),
        "period": str(Month.of(statement.period)),
        "status": statement.status,
        "currency": currency,
        "starting_balance": money(statement.starting_balance),
        "total_credits": money(statement.total_credits),
        "license_charges": money(statement.license_charges),
        "machine_charges": money(statement.machine_charges),
        "ending_balance": money(statement.ending_balance),
        "line_count": statement.line_count,
        "updated_at": iso_utc(statement.updated_at),
        "closed_at": iso_utc(statement.closed_at) if statement.closed_at else None,
        "by_license_type": [
            {
                "license_type": s.key,
                "hours": format_hours(s.duration),
                "cost": money(s.license_cost),
            }
            for s in sections.by_license_type
        ],
        "by_pool": [
            {
                "pool": s.key,
                "hours": format_hours(s.duration),
                "cost": money(s.total),
                "machine_cost": money(s.cost),
                "license_cost": money(s.license_cost),
            }
            for s in sections.by_pool
        ],
        "credits": [credit_data(c, currency) for c in selectors.statement_credits(statement)],
        "adjustments": [
            {
                "period": s.key,
                "lines": s.lines,
                "hours": format_hours(s.duration),
                "machine_cost": money(s.cost),
                "license_cost": money(s.license_cost),
            }
            for s in sections.adjustments
        ],
    }


_STATEMENT = inline_serializer(
    "Statement",
    {
        "id": serializers.UUIDField(),
        "license": serializers.UUIDField(),
        "period": serializers.CharField(),
        "status": serializers.CharField(help_text="open or closed"),
        "currency": serializers.CharField(),
        "starting_balance": serializers.CharField(),
        "total_credits": serializers.CharField(),
        "license_charges": serializers.CharField(),
        "machine_charges": serializers.CharField(),
        "ending_balance": serializers.CharField(),
        "line_count": serializers.IntegerField(),
        "updated_at": serializers.DateTimeField(),
        "closed_at": serializers.DateTimeField(allow_null=True),
        "by_license_type": serializers.ListField(child=serializers.DictField()),
        "by_pool": serializers.ListField(child=serializers.DictField()),
        "credits": serializers.ListField(child=serializers.DictField()),
        "adjustments": serializers.ListField(child=serializers.DictField()),
    },
)


class StatementView(APIView):
    @extend_schema(
        parameters=[_MONTH], responses=_STATEMENT, summary="A license's statement for one month"
    )
    def get(self, request: Request, license_id: str, month: str) -> Response:
        return Response(statement_data(_statement(request, license_id, month)))


class LinePagination(CursorPagination):
    ordering = ("start", "usage_event_id")
    page_size = 1000
    page_size_query_param = "page_size"
    max_page_size = 10_000


class MachineUsageSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    duration_seconds = serializers.CharField(help_text="Exact seconds, e.g. '5400' or '59.5'.")
    machine_id = serializers.CharField()
    region = serializers.CharField()
    pool = serializers.CharField()
    machine_type = serializers.CharField()
    license_type = serializers.CharField()
    cost = serializers.CharField()
    license_cost = serializers.CharField()
    usage_month = serializers.CharField()
    adjustment = serializers.BooleanField(help_text="Late usage of an earlier, closed month.")

    def to_representation(self, line: Charge) -> dict[str, Any]:
        currency = self.context["currency"]
        return {
            "start": iso_utc(line.start),
            "duration_seconds": exact_seconds(line.duration),
            "machine_id": line.machine_id,
            "region": line.region,
            "pool": line.pool,
            "machine_type": line.machine_type,
            "license_type": line.license_type,
            "cost": format_money(line.cost, currency),
            "license_cost": format_money(line.license_cost, currency),
            "usage_month": str(Month.of(line.period)),
            "adjustment": line.period != line.billed_period,
        }


class MachineUsageView(generics.ListAPIView):
    """The statement's machine-usage lines, oldest first, a cursor page at a time."""

    pagination_class = LinePagination
    serializer_class = MachineUsageSerializer

    def get_queryset(self) -> QuerySet[Charge]:
        self.statement = _statement(self.request, self.kwargs["license_id"], self.kwargs["month"])
        return selectors.statement_lines(self.statement)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "currency": self.statement.currency}

    @extend_schema(parameters=[_MONTH], summary="Machine-usage lines of a statement (cursor pages)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CreditInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    credited_at = serializers.DateTimeField(required=False)
    invoice_number = serializers.CharField(max_length=50)
    invoice_date = serializers.DateField()


class LicenseCreditsView(APIView):
    @extend_schema(
        responses=CreditSerializer(many=True), summary="Credits of a license, newest first"
    )
    def get(self, request: Request, license_id: str) -> Response:
        license = _license(request, license_id)
        credits = license.credits.select_related("license", "statement").order_by(
            "-credited_at", "-id"
        )
        return Response(CreditSerializer(credits, many=True).data)

    @extend_schema(
        request=CreditInputSerializer,
        responses={201: CreditSerializer, 200: CreditSerializer},
        summary="Credit a license (finance or admin key); the same invoice again is a no-op",
    )
    def post(self, request: Request, license_id: str) -> Response:
        license = _license(request, license_id)
        if not can(request.user, Capability.FINANCE, license.account):
            raise PermissionDenied(ERR_FINANCE)
        serializer = CreditInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        credit, created = credit_add(
            actor=request.user, license=license, **serializer.validated_data
        )
        credit = Credit.objects.select_related("license", "statement").get(pk=credit.pk)
        return Response(
            CreditSerializer(credit).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class TransactionsView(generics.ListAPIView):
    """Every credit of every license the caller may see."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = TransactionApiFilter
    serializer_class = CreditSerializer

    def get_queryset(self) -> QuerySet[Credit]:
        return selectors.transactions_for(self.request.user, None)

    @extend_schema(
        summary="Credits (transactions) of the licenses the caller may see",
        parameters=[
            OpenApiParameter("license", str, description="license UUID"),
            OpenApiParameter("start", str, description="credited at or after (ISO 8601)"),
            OpenApiParameter("end", str, description="credited before (ISO 8601)"),
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class BalanceSerializer(serializers.Serializer):
    """One license's month: start balance, credits, charges, ending balance."""

    license = serializers.UUIDField()
    license_name = serializers.CharField()
    period = serializers.CharField()
    status = serializers.CharField(help_text="open or closed")
    currency = serializers.CharField()
    starting_balance = serializers.CharField()
    total_credits = serializers.CharField()
    total_charges = serializers.CharField()
    ending_balance = serializers.CharField()

    def to_representation(self, statement: Statement) -> dict[str, Any]:
        return balance_data(statement)


def balance_data(statement: Statement) -> dict[str, Any]:
    currency = statement.currency
    return {
        "license": str(statement.license.uuid),
        "license_name": statement.license.name,
        "period": str(Month.of(statement.period)),
        "status": statement.status,
        "currency": currency,
        "starting_balance": format_money(statement.starting_balance, currency),
        "total_credits": format_money(statement.total_credits, currency),
        "total_charges": format_money(statement.total_charges, currency),
        "ending_balance": format_money(statement.ending_balance, currency),
    }


class BalancesView(generics.ListAPIView):
    """A row per license per month: start balance, credits, charges, ending balance."""

    serializer_class = BalanceSerializer

    def get_queryset(self) -> QuerySet[Statement]:
        return selectors.balances_for(self.request.user, None)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = request.query_params.copy()
        for outside, inside in (("from", "month_from"), ("to", "month_to")):
            if outside in params:
                params[inside] = params.pop(outside)[0]
        filterset = BalanceApiFilter(params, queryset=self.get_queryset(), request=request)
        if not filterset.is_valid():
            errors = dict(filterset.errors)
            for outside, inside in (("from", "month_from"), ("to", "month_to")):
                if inside in errors:
                    errors[outside] = errors.pop(inside)
            raise ValidationError(errors)
        page = self.paginate_queryset(filterset.qs)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Balances per license and month",
        parameters=[
            OpenApiParameter("license", str, description="license UUID"),
            OpenApiParameter("from", str, description="first month", pattern=MONTH_PATTERN),
            OpenApiParameter("to", str, description="last month", pattern=MONTH_PATTERN),
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
