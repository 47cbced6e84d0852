"""Filter sets for account pages, and the styled base every filter form in the site uses."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from .models import Account, AccountKind, AuditAction, AuditEvent

# Dates and months are typed as text, never <input type="date"> or type="month": browsers show
# those in the visitor's locale (mm/dd/yyyy), Chromium draws an empty month as "--------- ----",
# and some browsers have no month picker at all. The pattern lets the browser check the shape.
DATE_INPUT_ATTRS = {
    "placeholder": "YYYY-MM-DD",
    "pattern": r"\d{4}-\d{2}-\d{2}",
    "inputmode": "numeric",
    "autocomplete": "off",
}
MONTH_INPUT_ATTRS = {
    "placeholder": "YYYY-MM",
    "pattern": r"\d{4}-\d{2}",
    "inputmode": "numeric",
    "autocomplete": "off",
}


class MonthInput(forms.TextInput):
    """A YYYY-MM month typed as text."""

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__({**MONTH_INPUT_ATTRS, **(attrs or {})})


def style_form(form: forms.Form) -> forms.Form:
    """Give each widget the Bootstrap class that matches its kind, and every date field (alone
    or in a range) the YYYY-MM-DD text input."""
    for field in form.fields.values():
        widget = field.widget
        widgets = getattr(widget, "widgets", [widget])
        subfields = getattr(field, "fields", [field] * len(widgets))
        for w, subfield in zip(widgets, subfields, strict=True):
            if isinstance(subfield, forms.DateField):
                w.input_type = "text"
                w.attrs.update(DATE_INPUT_ATTRS)
            if isinstance(w, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(w, forms.Select):
                css = "form-select form-select-sm"
            else:
                css = "form-control form-control-sm"
            w.attrs["class"] = f"{w.attrs.get('class', '')} {css}".strip()
    return form


class StyledFilterSet(django_filters.FilterSet):
    """A FilterSet whose form renders with the site's look."""

    @property
    def form(self) -> forms.Form:
        form = super().form
        if not getattr(form, "_styled", False):
            style_form(form)
            form._styled = True
        return form


class AnyYesNo(forms.Select):
    """Yes / No / Any for a boolean filter, in the URL as true / false / (absent)."""

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs, choices=[("", "Any"), ("true", "Yes"), ("false", "No")])


class AccountFilter(StyledFilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    kind = django_filters.ChoiceFilter(choices=AccountKind.choices, empty_label="Any kind")
    is_active = django_filters.BooleanFilter(label="Active", widget=AnyYesNo)

    class Meta:
        model = Account
        fields = ["q", "kind", "is_active"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(name__icontains=value) | Q(organization__icontains=value) | Q(slug__icontains=value)
        )


class AuditEventFilter(StyledFilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    action = django_filters.ChoiceFilter(choices=AuditAction.choices, empty_label="Any action")
    object_type = django_filters.CharFilter(lookup_expr="icontains", label="Object type")
    created = django_filters.DateFromToRangeFilter(
        field_name="created_at", label="Between", widget=django_filters.widgets.RangeWidget
    )

    class Meta:
        model = AuditEvent
        fields = ["q", "action", "object_type", "created"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(actor_label__icontains=value) | Q(object_id=value) | Q(object_type__icontains=value)
        )
