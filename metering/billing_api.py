"""API: the daily billing rows of a month or a range of days, and their summary beside the
comparable previous range (seed 003, "Billing Generation"). Any key that may read sees the rows
of the accounts it may see; amounts are strings with the currency's decimals, quantities and
unit prices strings with 6 decimals, dates YYYY-MM-DD."""

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.money import format_money
from accounts.schema import MONTH_PATTERN
from accounts.scoping import account_or_404

from .billing_dates import DayRange, parse_day_range
from .billing_selectors import (
    GROUP_BY,
    BillingSummary,
    RangeTotals,
    RowFilters,
    billing_rows,
    billing_summary,
)
from .models import BillingRow
from .months import Month

ERR_GROUP_BY = f"Must be one of: {', '.join(GROUP_BY)}."
SIX_PLACES = Decimal("0.000001")


def six_places(value: Decimal) -> str:
    """A quantity or a unit price as the API writes it: '12.500000'."""
    return format(value.quantize(SIX_PLACES), "f")


class RowQuerySerializer(serializers.Serializer):
    """The filters every billing read takes from its query string."""

    region = serializers.CharField(required=False, allow_blank=True)
    account = serializers.UUIDField(required=False)
    subscription = serializers.CharField(required=False, allow_blank=True)
    meter = serializers.CharField(required=False, allow_blank=True)
    service = serializers.CharField(required=False, allow_blank=True)
    asset = serializers.CharField(required=False, allow_blank=True)


def row_filters(request: Request) -> RowFilters:
    """The query's filters; an account the caller may not see is a 404, like an unknown one."""
    query = RowQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    values = dict(query.validated_data)
    account = values.pop("account", None)
    return RowFilters(
        account=account_or_404(request.user, account) if account else None,
        **values,
    )


def query_days(request: Request) -> DayRange:
    params = request.query_params
    return DayRange(*parse_day_range(params.get("start"), params.get("end")))


_FILTERS = [
    OpenApiParameter("region", str, description="Only rows of this region."),
    OpenApiParameter(
        "account", OpenApiTypes.UUID, description="Only rows billed to this account (its UUID)."
    ),
    OpenApiParameter("subscription", str, description="A subscription's external id."),
    OpenApiParameter("meter", str, description="A meter's code."),
    OpenApiParameter("service", str, description="Only rows of this service."),
    OpenApiParameter("asset", str, description="An asset's id."),
]
_RANGE = [
    OpenApiParameter(
        "start", OpenApiTypes.DATE, required=True, description="First day, YYYY-MM-DD."
    ),
    OpenApiParameter(
        "end",
        OpenApiTypes.DATE,
        required=True,
        description="Last day, YYYY-MM-DD (included; at most 366 days after start).",
    ),
]


class BillingRowSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    date = serializers.DateField(help_text="The UTC day the row bills.")
    account = serializers.UUIDField(help_text="The billed account.")
    account_name = serializers.CharField()
    subscription = serializers.CharField(allow_null=True, help_text="Its external id.")
    platform = serializers.CharField(allow_null=True, help_text="The subscription's platform.")
    region = serializers.CharField()
    asset = serializers.CharField()
    service = serializers.CharField()
    source = serializers.CharField()
    meter = serializers.CharField(help_text="The meter's code.")
    unit = serializers.CharField()
    quantity = serializers.CharField(help_text="6 decimals, e.g. '12.500000'.")
    unit_price = serializers.CharField(
        allow_null=True, help_text="6 decimals; null for an imported cost."
    )
    currency = serializers.CharField()
    cost = serializers.CharField(help_text="With the currency's decimals, e.g. '1.25'.")
    adjustment_for = serializers.DateField(
        allow_null=True, help_text="The invoiced day this late usage adjusts."
    )

    def to_representation(self, row: BillingRow) -> dict[str, Any]:
        subscription = row.subscription
        return {
            "id": str(row.uuid),
            "date": row.day.isoformat(),
            "account": str(row.account.uuid),
            "account_name": row.account.name,
            "subscription": subscription.external_id if subscription else None,
            "platform": subscription.platform if subscription else None,
            "region": row.region,
            "asset": row.asset.asset_id,
            "service": row.service,
            "source": row.source,
            "meter": row.meter.code,
            "unit": row.meter.unit,
            "quantity": six_places(row.quantity),
            "unit_price": six_places(row.unit_price) if row.unit_price is not None else None,
            "currency": row.currency,
            "cost": format_money(row.cost, row.currency),
            "adjustment_for": row.adjustment_for.isoformat() if row.adjustment_for else None,
        }


class _RowsView(generics.ListAPIView):
    serializer_class = BillingRowSerializer

    def days(self) -> DayRange:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[BillingRow]:
        days = self.days()
        filters = row_filters(self.request)
        return billing_rows(actor=self.request.user, days=days, filters=filters)


class BillingMonthRowsView(_RowsView):
    def days(self) -> DayRange:
        try:
            return DayRange.of_month(Month.parse(self.kwargs["month"]))
        except DjangoValidationError as exc:
            raise ValidationError({"month": exc.messages}) from exc

    @extend_schema(
        summary="Daily billing rows of a month",
        parameters=[
            OpenApiParameter(
                "month", str, OpenApiParameter.PATH, description="YYYY-MM", pattern=MONTH_PATTERN
            ),
            *_FILTERS,
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class BillingRangeRowsView(_RowsView):
    def days(self) -> DayRange:
        return query_days(self.request)

    @extend_schema(summary="Daily billing rows of a range of days", parameters=[*_RANGE, *_FILTERS])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CurrencyTotalSerializer(serializers.Serializer):
    currency = serializers.CharField()
    cost = serializers.CharField()
    rows = serializers.IntegerField()


class GroupTotalSerializer(serializers.Serializer):
    key = serializers.CharField(
        allow_null=True,
        help_text="Meter code, account UUID, subscription external id (null: none), region, "
        "day YYYY-MM-DD or month YYYY-MM.",
    )
    name = serializers.CharField()
    currency = serializers.CharField()
    cost = serializers.CharField()
    rows = serializers.IntegerField()
    quantity = serializers.CharField(allow_null=True, help_text="By meter only.")
    unit = serializers.CharField(allow_null=True, help_text="By meter only.")


class RangeTotalsSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    totals = CurrencyTotalSerializer(many=True, help_text="One per currency.")
    groups = GroupTotalSerializer(many=True)


class ChangeSerializer(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.CharField(help_text="This range's total less the previous one's.")
    percent = serializers.CharField(
        allow_null=True, help_text="One decimal; null when the previous range cost nothing."
    )


class BillingSummarySerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=GROUP_BY)
    current = RangeTotalsSerializer()
    previous = RangeTotalsSerializer(
        help_text="The comparable range just before: as many whole months when the range is "
        "whole months, else as many days."
    )
    change = ChangeSerializer(many=True)


def _range_data(totals: RangeTotals) -> dict[str, Any]:
    return {
        "start": totals.days.start.isoformat(),
        "end": totals.days.end.isoformat(),
        "totals": [
            {"currency": t.currency, "cost": format_money(t.cost, t.currency), "rows": t.rows}
            for t in totals.totals
        ],
        "groups": [
            {
                "key": g.key,
                "name": g.name,
                "currency": g.currency,
                "cost": format_money(g.cost, g.currency),
                "rows": g.rows,
                "quantity": six_places(g.quantity) if g.quantity is not None else None,
                "unit": g.unit,
            }
            for g in totals.groups
        ],
    }


def summary_data(summary: BillingSummary) -> dict[str, Any]:
    return {
        "group_by": summary.group_by,
        "current": _range_data(summary.current),
        "previous": _range_data(summary.previous),
        "change": [
            {
                "currency": c.currency,
                "amount": format_money(c.amount, c.currency),
                "percent": str(c.percent) if c.percent is not None else None,
            }
            for c in summary.changes
        ],
    }


class BillingSummaryView(APIView):
    @extend_schema(
        summary="Billing totals of a range beside the comparable previous range",
        parameters=[
            *_RANGE,
            OpenApiParameter("group_by", str, enum=list(GROUP_BY), description="Default meter."),
            *_FILTERS,
        ],
        responses=BillingSummarySerializer,
    )
    def get(self, request: Request) -> Response:
        days = query_days(request)
        group_by = request.query_params.get("group_by", "meter")
        if group_by not in GROUP_BY:
            raise ValidationError({"group_by": [ERR_GROUP_BY]})
        summary = billing_summary(
            actor=request.user, days=days, group_by=group_by, filters=row_filters(request)
        )
        return Response(summary_data(summary))
