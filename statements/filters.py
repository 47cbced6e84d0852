"""Server-side filters for balances and transactions; the same filter sets serve the pages,
their CSV downloads and the API."""

from datetime import date, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.filters import MonthInput, StyledFilterSet
from licenses.models import License
from metering.months import Month

from .models import Credit, Statement, StatementStatus
from .selectors import licenses_for

PRESETS = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}


class MonthField(forms.CharField):
    """A YYYY-MM month."""

    widget = MonthInput

    def to_python(self, value: Any) -> date | None:
        value = super().to_python(value)
        if not value:
            return None
        return Month.parse(value).first_day


class MonthFilter(django_filters.Filter):
    field_class = MonthField


def _page_licenses(request: HttpRequest | None) -> QuerySet[License]:
    """On pages: the licenses of the current account's tree the user may see."""
    if request is None:
        return License.objects.none()
    return licenses_for(request.user, request.account)


def _api_licenses(request: HttpRequest | None) -> QuerySet[License]:
    """In the API: every license the key or user may see."""
    if request is None:
        return License.objects.none()
    return licenses_for(request.user, None)


class LicenseFilter(django_filters.ModelChoiceFilter):
    """A license the user may see, named in the URL by its UUID."""

    def __init__(self, api: bool = False, **kwargs: Any) -> None:
        super().__init__(
            queryset=_api_licenses if api else _page_licenses,
            to_field_name="uuid",
            empty_label="All licenses",
            label="License",
            **kwargs,
        )


class BalanceFilter(StyledFilterSet):
    license = LicenseFilter()
    month_from = MonthFilter(field_name="period", lookup_expr="gte", label="From month")
    month_to = MonthFilter(field_name="period", lookup_expr="lte", label="To month")
    status = django_filters.ChoiceFilter(
        choices=StatementStatus.choices, empty_label="Open or closed"
    )
    balance = django_filters.ChoiceFilter(
        label="Ending balance",
        choices=[("negative", "Below zero"), ("positive", "Zero or more")],
        empty_label="Any",
        method="filter_balance",
    )

    class Meta:
        model = Statement
        fields = ["license", "month_from", "month_to", "status", "balance"]

    def filter_balance(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "negative":
            return queryset.filter(ending_balance__lt=0)
        return queryset.filter(ending_balance__gte=0)


class TransactionFilter(StyledFilterSet):
    license = LicenseFilter()
    credited = django_filters.DateFromToRangeFilter(
        field_name="credited_at", label="Credited between"
    )
    preset = django_filters.ChoiceFilter(
        label="Or the",
        choices=[(key, label) for key, (label, _) in PRESETS.items()],
        empty_label="Any time",
        method="filter_preset",
    )

    class Meta:
        model = Credit
        fields = ["license", "credited", "preset"]

    def filter_preset(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(credited_at__gte=timezone.now() - PRESETS[value][1])


class TransactionApiFilter(django_filters.FilterSet):
    """GET /api/v1/transactions?license=&start=&end= (ISO 8601 times, end excluded)."""

    license = LicenseFilter(api=True)
    start = django_filters.IsoDateTimeFilter(field_name="credited_at", lookup_expr="gte")
    end = django_filters.IsoDateTimeFilter(field_name="credited_at", lookup_expr="lt")

    class Meta:
        model = Credit
        fields = ["license", "start", "end"]


class BalanceApiFilter(django_filters.FilterSet):
    """GET /api/v1/balances?license=&from=YYYY-MM&to=YYYY-MM (the view maps from/to)."""

    license = LicenseFilter(api=True)
    month_from = MonthFilter(field_name="period", lookup_expr="gte")
    month_to = MonthFilter(field_name="period", lookup_expr="lte")

    class Meta:
        model = Statement
        fields = ["license", "month_from", "month_to"]
