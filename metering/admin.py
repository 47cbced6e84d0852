"""Admin for usage, read-only: stored events, the sessions still waiting for a price (with the
reason) and the generated monthly reports (they never change). Large tables are never counted
row by row. Priced lines are read on the statement pages and the API (their composite primary
key keeps them out of the admin). The metered-usage catalog's admin is in catalog_admin.py."""

from django.contrib import admin

from accounts.admin import ReadOnlyAdmin

from . import catalog_admin  # noqa: F401 - registers the catalog's admin
from .models import UnratedEvent, UsageEvent, UsageReport, UsageReportMonth


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
