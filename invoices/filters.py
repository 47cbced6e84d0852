"""The Billing grid's filters, all in the URL: the mode (daily rows or monthly lines), the days
(a date range in daily mode, a month in monthly mode), and the tenant, subscription, meter,
region, service and asset. The form turns them into a `GridQuery` for the selectors."""

from dataclasses import dataclass
from datetime import date, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from accounts.filters import DATE_INPUT_ATTRS, StyledFilterSet
from accounts.models import Account
from metering.billing_dates import MAX_RANGE_DAYS, DayRange, check_day_range, parse_day
from metering.billing_selectors import RowFilters
from metering.models import BillingRow, Meter, Subscription
from metering.months import Month

DAILY, MONTHLY = "daily", "monthly"
MODES = {DAILY: "Daily", MONTHLY: "Monthly"}
MONTHS_LISTED = 24


@dataclass(frozen=True)
class GridQuery:
    mode: str
    days: DayRange
    filters: RowFilters

    @property
    def month(self) -> Month:
        return Month.of(self.days.start)


def month_options(today: date, chosen: Month) -> list[tuple[str, str]]:
    """The last MONTHS_LISTED months, newest first, and the chosen one if it is older."""
    latest = Month.of(today)
    months = [latest.shift(-n) for n in range(MONTHS_LISTED)]
    if chosen not in months:
        months.append(chosen)
    return [(str(m), m.label) for m in months]


class _DayField(forms.CharField):
    """A YYYY-MM-DD day, read by metering.billing_dates (the routes' parser)."""

    def to_python(self, value: object) -> date | None:
        text = super().to_python(value)
        return parse_day(text) if text else None


class _MonthField(forms.CharField):
    def to_python(self, value: object) -> Month | None:
        text = super().to_python(value)
        return Month.parse(text) if text else None


class _DayFilter(django_filters.Filter):
    field_class = _DayField


class _MonthFilter(django_filters.Filter):
    field_class = _MonthField


def _keep(queryset: QuerySet, name: str, value: object) -> QuerySet:
    """The grid reads its rows through the selectors with the whole query (`grid_query`)."""
    return queryset


class BillingGridFilter(StyledFilterSet):
    mode = django_filters.ChoiceFilter(
        choices=list(MODES.items()), method=_keep, empty_label=None, widget=forms.HiddenInput
    )
    start = _DayFilter(method=_keep, label="From", widget=forms.TextInput(DATE_INPUT_ATTRS))
    end = _DayFilter(method=_keep, label="To", widget=forms.TextInput(DATE_INPUT_ATTRS))
    month = _MonthFilter(method=_keep, label="Month", widget=forms.Select)
    tenant = django_filters.ModelChoiceFilter(
        queryset=Account.objects.none(),
        to_field_name="uuid",
        method=_keep,
        empty_label="All",
        label="Tenant",
    )
    subscription = django_filters.ChoiceFilter(method=_keep, empty_label="All")
    meter = django_filters.ModelChoiceFilter(
        queryset=Meter.objects.order_by("name"),
        to_field_name="code",
        method=_keep,
        empty_label="All",
    )
    region = django_filters.CharFilter(method=_keep, label="Region")
    service = django_filters.CharFilter(method=_keep, label="Service")
    asset = django_filters.CharFilter(method=_keep, label="Asset")

    class Meta:
        model = BillingRow
        fields: list[str] = []

    def __init__(
        self,
        data: object,
        *,
        tenants: QuerySet[Account],
        subscriptions: QuerySet[Subscription],
        default_mode: str,
        today: date,
        **kwargs: object,
    ) -> None:
        data = data.copy()
        if data.get("mode") not in MODES:
            data["mode"] = default_mode
        super().__init__(data, queryset=BillingRow.objects.none(), **kwargs)
        self.today = today
        self.filters["tenant"].queryset = tenants
        self.filters["subscription"].extra["choices"] = [
            (s.external_id, f"{s.name} ({s.external_id})") for s in subscriptions
        ]
        chosen = self._chosen_month()
        self.filters["month"].extra["widget"] = forms.Select(choices=month_options(today, chosen))
        fields = self.form.fields
        for name in ("region", "service", "asset"):
            fields[name].widget.attrs["placeholder"] = "Any"
        for name in ("month", "tenant", "subscription", "meter"):
            fields[name].widget.attrs["data-submit-on-change"] = ""

    def _chosen_month(self) -> Month:
        try:
            return Month.parse(self.data.get("month", ""))
        except ValidationError:
            return Month.of(self.today)

    def this_month_so_far(self) -> DayRange:
        return DayRange(Month.of(self.today).first_day, self.today)

    def grid_query(self) -> GridQuery:
        """What the grid shows. A field the form refuses shows its error on the page and is
        left out: a bad day or month falls back to this month."""
        form = self.form
        form.is_valid()
        values = form.cleaned_data
        mode = values.get("mode") or DAILY
        if mode == MONTHLY:
            days = DayRange.of_month(values.get("month") or Month.of(self.today))
        else:
            days = self._day_range(values)
        filters = RowFilters(
            account=values.get("tenant"),
            subscription=values.get("subscription") or "",
            meter=values["meter"].code if values.get("meter") else "",
            region=values.get("region") or "",
            service=values.get("service") or "",
            asset=values.get("asset") or "",
        )
        return GridQuery(mode=mode, days=days, filters=filters)

    def _day_range(self, values: dict) -> DayRange:
        """The days asked for. Without an end: up to today (a start after today: that day);
        without a start: from the first of the end's month. Refused days show this month."""
        default = self.this_month_so_far()
        if "start" in self.form.errors or "end" in self.form.errors:
            return default
        start, end = values.get("start"), values.get("end")
        if start is None and end is None:
            return default
        if end is None:
            end = min(max(start, self.today), start + timedelta(days=MAX_RANGE_DAYS - 1))
        if start is None:
            start = Month.of(end).first_day
        try:
            check_day_range(start, end)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.form.add_error(field, message)
            return default
        return DayRange(start, end)
