"""API: seed 003's billing generation routes, kept exactly as the seed names them. Generation
recomputes daily billing rows from the stored usage (metering.services.usage_rating)."""

from datetime import date

from django.core.exceptions import ValidationError
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CanGenerate

from .billing_dates import MAX_RANGE_DAYS, parse_day_range
from .months import Month
from .services.usage_rating import GenerationResult, billing_generate

_GENERATED = inline_serializer(
    "BillingGenerated",
    {
        "start": serializers.DateField(),
        "end": serializers.DateField(),
        "rows": serializers.IntegerField(help_text="Billing rows of the range after generation."),
        "accounts": serializers.IntegerField(help_text="Accounts with rows in the range."),
    },
)
_DESCRIPTION = (
    "Recomputes the daily billing rows of every day of the range from the stored usage events "
    "(new usage is rated first), exactly as the two-minute poll computes them; running it again "
    "changes nothing. Days already invoiced keep their rows: any difference becomes an "
    "adjustment row for the next document. Platform admins and platform service keys only."
)


def _answer(result: GenerationResult) -> Response:
    return Response(
        {
            "start": result.start.isoformat(),
            "end": result.end.isoformat(),
            "rows": result.rows,
            "accounts": result.accounts,
        }
    )


class BillingGenerateMonthView(APIView):
    permission_classes = [CanGenerate]

    @extend_schema(
        summary="Generate a month's daily billing rows (platform admin or service)",
        description=_DESCRIPTION,
        responses={
            200: _GENERATED,
            400: OpenApiResponse(description="A month not written yyyy-MM, such as 2026-13."),
        },
    )
    def get(self, request: Request, month: str) -> Response:
        try:
            period = Month.parse(month)
        except ValidationError as exc:
            return Response({"month": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        return _answer(billing_generate(start=period.first_day, end=period.last_day))


class BillingGenerateRangeView(APIView):
    permission_classes = [CanGenerate]

    @extend_schema(
        summary="Generate the daily billing rows of a date range (platform admin or service)",
        description=_DESCRIPTION + f" A range covers at most {MAX_RANGE_DAYS} days.",
        parameters=[
            OpenApiParameter("start", date, required=True, description="First day, yyyy-MM-dd."),
            OpenApiParameter("end", date, required=True, description="Last day, yyyy-MM-dd."),
        ],
        request=None,
        responses={
            200: _GENERATED,
            400: OpenApiResponse(description="Bad dates, or end before start."),
        },
    )
    def post(self, request: Request) -> Response:
        try:
            start, end = parse_day_range(
                request.query_params.get("start"), request.query_params.get("end")
            )
        except ValidationError as exc:
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return _answer(billing_generate(start=start, end=end))
