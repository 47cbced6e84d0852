"""API: seed 003's billing generation routes, kept exactly as the seed names them. Generation
recomputes daily billing rows from the stored usage (metering.services.usage_rating)."""

import re
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

from .months import FIRST_YEAR, LAST_YEAR, Month
from .services.usage_rating import GenerationResult, billing_generate

ERR_DAY = "Must be a date written yyyy-MM-dd, e.g. 2026-04-30."
ERR_DAY_RANGE = f"Must be a date from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31."
ERR_END_BEFORE_START = "Must not be before start."
MAX_RANGE_DAYS = 366
ERR_RANGE_TOO_LONG = f"A range covers at most {MAX_RANGE_DAYS} days."
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(text: object) -> date:
    """A `yyyy-MM-dd` date: ValidationError with ERR_DAY or ERR_DAY_RANGE otherwise."""
    if not isinstance(text, str) or not _DAY.match(text):
        raise ValidationError(ERR_DAY)
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(ERR_DAY) from exc
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(ERR_DAY_RANGE)
    return day


def parse_day_range(start: object, end: object) -> tuple[date, date]:
    """The days from `start` to `end` inclusive, both `yyyy-MM-dd`, at most MAX_RANGE_DAYS.
    Raises ValidationError with a message per field (`start`, `end`)."""
    errors: dict[str, list[str]] = {}
    days: dict[str, date] = {}
    for field, text in (("start", start), ("end", end)):
        if text in (None, ""):
            errors[field] = ["This query parameter is required."]
            continue
        try:
            days[field] = parse_day(text)
        except ValidationError as exc:
            errors[field] = exc.messages
    if not errors:
        if days["end"] < days["start"]:
            errors["end"] = [ERR_END_BEFORE_START]
        elif (days["end"] - days["start"]).days >= MAX_RANGE_DAYS:
            errors["end"] = [ERR_RANGE_TOO_LONG]
    if errors:
        raise ValidationError(errors)
    return days["start"], days["end"]


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
