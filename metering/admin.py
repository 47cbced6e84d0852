"""Admin for usage: stored events, the sessions still waiting for a price (with the reason) and
the generated monthly reports (read-only, they never change); platform imports' meter map,
collection regions (with "Collect now") and import records. Large tables are never counted
row by row. Priced lines are read on the statement pages and the API (their composite primary
key keeps them out of the admin). The metered-usage catalog's admin is in catalog_admin.py."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import ReadOnlyAdmin

from . import catalog_admin  # noqa: F401 - registers the catalog's admin
from .models import (
    CollectionRegion,
    PlatformMeterMap,
    UnratedEvent,
    UsageEvent,
    UsageImport,
    UsageReport,
    UsageReportMonth,
)
from .tasks import collect_usage


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "account_id", "license_id", "occurred_at", "received_at")
    list_filter = ("type",)
    search_fields = ("=event_id",)
    ordering = ("-id",)


@admin.register(UnratedEvent)
class UnratedEventAdmin(ReadOnlyAdmin):
    """Usage that could not be priced yet or was set aside as implausible, with the reason;
    every poll tries it again, so it is priced once its price exists or the limit allows it."""

    list_display = (
        "usage_event_id",
        "event_id",
        "account",
        "license",
        "reason",
        "first_seen_at",
        "last_tried_at",
    )
    list_select_related = ("usage_event", "account", "license")
    search_fields = ("reason", "=usage_event__event_id")

    @admin.display(description="sender's event id")
    def event_id(self, obj: UnratedEvent) -> str:
        return obj.usage_event.event_id


@admin.register(UsageReportMonth)
class UsageReportMonthAdmin(ReadOnlyAdmin):
    list_display = (
        "month",
        "generated_at",
        "accounts",
        "active_devices",
        "firmware_updates",
        "api_calls",
    )
    date_hierarchy = "month"


@admin.register(UsageReport)
class UsageReportAdmin(ReadOnlyAdmin):
    list_display = (
        "month",
        "account_name",
        "business_model",
        "active_devices",
        "firmware_updates",
        "api_calls_total",
        "had_package",
    )
    list_filter = ("month", "business_model", "had_package")
    search_fields = ("account_name", "organization", "=account__uuid")


@admin.register(PlatformMeterMap)
class PlatformMeterMapAdmin(admin.ModelAdmin):
    """How platform imports price a platform's usage ids (docs/platform-imports.md)."""

    list_display = ("platform", "external_id", "meter", "factor", "description")
    list_filter = ("platform", "meter")
    search_fields = ("external_id", "description")
    list_select_related = ("meter",)


@admin.register(CollectionRegion)
class CollectionRegionAdmin(admin.ModelAdmin):
    """The platform regions the hourly collection imports usage files for."""

    list_display = ("platform", "region", "enabled", "last_collected_at")
    list_filter = ("platform", "enabled")
    readonly_fields = ("last_collected_at",)
    actions = ("collect_now",)

    @admin.action(description="Collect now: import the selected regions' waiting files")
    def collect_now(self, request: HttpRequest, queryset: QuerySet[CollectionRegion]) -> None:
        ids = sorted(queryset.values_list("id", flat=True))
        collect_usage.delay_on_commit(region_ids=ids)
        self.message_user(
            request,
            format_html(
                'Collection queued for {} region(s); follow it on <a href="{}">Usage imports</a>.',
                len(ids),
                reverse("metering_imports:list"),
            ),
        )


@admin.register(UsageImport)
class UsageImportAdmin(ReadOnlyAdmin):
    """Each imported usage file: its counts, the first rejected records with their reasons
    and, for a failed file, why."""

    list_display = (
        "started_at",
        "platform",
        "region",
        "file_name",
        "status",
        "records",
        "events",
        "accepted",
        "duplicates",
        "rejected",
    )
    list_filter = ("status", "platform")
    search_fields = ("file_name", "region")
    date_hierarchy = "started_at"
