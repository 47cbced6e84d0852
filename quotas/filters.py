"""Filters for the billing pages. Each page is about one month, chosen in the same form as its
other filters so the month stays in the URL and in the CSV download."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from accounts.filters import StyledFilterSet, style_form
from metering.models import DeviceMonth, UsageReport

from .models import LedgerEventType, QuotaLedgerEntry
from .selectors.months import MonthChoice


def month_options(choice: MonthChoice) -> list[tuple[str, str]]:
    """The picker's months, newest first, the current one marked LIVE."""
    return [
        (str(m), f"{m.label} · LIVE" if m == choice.current else m.label) for m in choice.months
    ]


class MonthForm(forms.Form):
    """The month picker of pages without a table (My billing)."""

    month = forms.ChoiceField(label="Month")

    def __init__(self, choice: MonthChoice) -> None:
        super().__init__(data={"month": str(choice.month)})
        self.fields["month"].choices = month_options(choice)
        style_form(self)


class MonthFilterSet(StyledFilterSet):
    """A filter set whose first field picks the month. The view has already chosen the month
    (`quotas.selectors.month_choice`) and narrowed its rows to it (the month decides where they
    come from), so the filter itself keeps them."""

    month = django_filters.ChoiceFilter(method="keep_month", label="Month", empty_label=None)

    def __init__(self, *args: object, choice: MonthChoice, **kwargs: object) -> None:
        data = kwargs.get("data")
        if data is not None:
            data = data.copy()
            data["month"] = str(choice.month)
            kwargs["data"] = data
        super().__init__(*args, **kwargs)
        self.filters["month"].extra["choices"] = month_options(choice)

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
