"""Admin for device usage: generated monthly reports, read only (they never change)."""

from django.contrib import admin

from accounts.admin import ReadOnlyAdmin

from .models import UsageReport, UsageReportMonth


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
