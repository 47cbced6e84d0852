"""Filters for the billing pages. Each page is about one month, chosen in the same form as its
other filters so the month stays in the URL and in the CSV download."""

from datetime import date

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from accounts.filters import StyledFilterSet, style_form
from metering.models import DeviceMonth, UsageReport
from metering.months import Month

from .models import LedgerEventType, QuotaLedgerEntry

# How far back the month picker goes.
MONTHS_OFFERED = 24


def month_choices(today: date, chosen: Month | None = None) -> list[tuple[str, str]]:
    """The current month (LIVE) and the months before it, newest first (and an older month
    when one was asked for)."""
    current = Month.of(today)
    months = [current.shift(-n) for n in range(MONTHS_OFFERED)]
    if chosen is not None and chosen not in months:
        months.append(chosen)
    return [(str(m), f"{m.label} · LIVE" if m == current else m.label) for m in months]


def chosen_month(params: dict, today: date) -> Month:
    """The month asked for, or the previous month (the default) when none, a malformed one or
    a future one is."""
    try:
        month = Month.parse(params.get("month", ""))
    except ValidationError:
        return Month.of(today).previous()
    return month if month <= Month.of(today) else Month.of(today).previous()


class MonthForm(forms.Form):
    """The month picker of pages without a table (My billing)."""

    month = forms.ChoiceField(label="Month")

    def __init__(self, params: dict, today: date) -> None:
        month = chosen_month(params, today)
        super().__init__(data={"month": str(month)})
        self.fields["month"].choices = month_choices(today, month)
        style_form(self)


class MonthFilterSet(StyledFilterSet):
    """A filter set whose first field picks the month. The view has already narrowed its rows
    to that month (the month decides where they come from), so the filter itself keeps them."""

    month = django_filters.ChoiceFilter(method="keep_month", label="Month", empty_label=None)

    def __init__(self, *args: object, today: date, **kwargs: object) -> None:
        data = kwargs.get("data")
        month = chosen_month(data or {}, today)
        if data is not None:
            data = data.copy()
            data["month"] = str(month)
            kwargs["data"] = data
        super().__init__(*args, **kwargs)
        self.filters["month"].extra["choices"] = month_choices(today, month)

    def keep_month(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """The view's rows are already the chosen month's (and scope's)."""
        return queryset


class LedgerFilter(MonthFilterSet):
    q = django_filters.CharFilter(method="search", label="Search campaign or event")
    event_type = django_filters.ChoiceFilter(
        choices=LedgerEventType.choices, empty_label="Any event type", label="Event type"
    )

    class Meta:
        model = QuotaLedgerEntry
        fields = ["month", "q", "event_type"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        words = value.strip().lower()
        types = [v for v, label in LedgerEventType.choices if words in label.lower()]
        return queryset.filter(Q(campaign__name__icontains=value.strip()) | Q(event_type__in=types))


class UsageReportFilter(MonthFilterSet):
    q = django_filters.CharFilter(method="search", label="Search team name or organization")

    class Meta:
        model = UsageReport
        fields = ["month", "q"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(Q(account_name__icontains=value) | Q(organization__icontains=value))


OWN, TREE = "own", "tree"


class ActiveDeviceFilter(MonthFilterSet):
    # Like the month, the scope picks the view's rows (whose devices); the filter keeps them.
    scope = django_filters.ChoiceFilter(
        method="keep_month",
        label="Accounts",
        empty_label=None,
        choices=[(OWN, "This account"), (TREE, "This account and its tenants")],
    )
    q = django_filters.CharFilter(method="search", label="Search device or endpoint")

    class Meta:
        model = DeviceMonth
        fields = ["month", "scope", "q"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(Q(device_id__icontains=value) | Q(endpoint_name__icontains=value))
