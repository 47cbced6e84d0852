"""The Usage imports staff page's table and filters."""

from typing import Any

import django_filters
import django_tables2 as tables
from django.db.models import QuerySet
from django.utils.html import format_html

from accounts.columns import CountColumn, DateTimeColumn
from accounts.filters import StyledFilterSet

from ..models import ImportStatus, Platform, UsageImport
from . import READERS


class ProgressColumn(tables.Column):
    """Records read of the file's total: a bar while the import runs, the figures after."""

    def render(self, record: UsageImport) -> str:
        total = record.records_total
        if record.status == ImportStatus.RUNNING and total:
            return format_html(
                '<progress class="w-100" max="{}" value="{}">{} of {}</progress>'
                '<div class="small text-secondary num">{} / {}</div>',
                total,
                record.records,
                record.records,
                total,
                record.records,
                total,
            )
        return format_html('<span class="num">{} / {}</span>', record.records, total or "?")

    def value(self, record: UsageImport) -> str:
        return (
            f"{record.records}/{record.records_total if record.records_total is not None else ''}"
        )


class UsageImportTable(tables.Table):
    started_at = DateTimeColumn(
        verbose_name="Started",
        linkify=("metering_imports:detail", [tables.A("uuid")]),
    )
    platform = tables.Column()
    region = tables.Column()
    file_name = tables.Column(verbose_name="File")
    status = tables.Column()
    progress = ProgressColumn(empty_values=(), orderable=False, verbose_name="Records read")
    events = CountColumn()
    accepted = CountColumn()
    duplicates = CountColumn()
    rejected = CountColumn(verbose_name="Rejected records")
    finished_at = DateTimeColumn(verbose_name="Finished")

    class Meta:
        model = UsageImport
        fields = ()
        sequence = (
            "started_at",
            "platform",
            "region",
            "file_name",
            "status",
            "progress",
            "events",
            "accepted",
            "duplicates",
            "rejected",
            "finished_at",
        )
        order_by = ("-started_at",)

    def render_status(self, value: str, record: UsageImport) -> str:
        css = {"ok": "success", "failed": "danger", "running": "info"}[record.status]
        return format_html('<span class="badge text-bg-{}">{}</span>', css, value)

    def value_status(self, value: str) -> str:
        return value


class UsageImportFilter(StyledFilterSet):
    platform = django_filters.ChoiceFilter(
        choices=[(p, Platform(p).label) for p in READERS], empty_label="Any platform"
    )
    region = django_filters.CharFilter(lookup_expr="iexact", label="Region")
    status = django_filters.ChoiceFilter(choices=ImportStatus.choices, empty_label="Any status")
    file = django_filters.CharFilter(method="search", label="File")

    class Meta:
        model = UsageImport
        fields = ["platform", "region", "status", "file"]

    def search(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return queryset.filter(file_name__icontains=value)
