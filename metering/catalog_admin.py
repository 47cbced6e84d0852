"""Admin of metered usage: the catalog (meters, price plans with their add-only prices, each
account's plan), hosting subscriptions, assets and who is billed for them, and, read-only,
the usage still waiting to be billed (with the reason) and the daily billing rows. Every
change made here is audited; large tables are never counted row by row."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import AuditedModelAdmin, EstimatedCountPaginator, ReadOnlyAdmin

from .models import (
    AccountBilling,
    Asset,
    BillingRow,
    Meter,
    MeterPrice,
    PricePlan,
    Subscription,
    WaitingUsage,
)


@admin.register(Meter)
class MeterAdmin(AuditedModelAdmin):
    """The code is what usage names and the aggregation how its days were computed: both are
    set once (a different aggregation is a new meter)."""

    list_display = ("code", "name", "unit", "aggregation", "created_at")
    list_filter = ("aggregation",)
    search_fields = ("code", "name")

    def get_readonly_fields(self, request: HttpRequest, obj: Meter | None = None) -> tuple:
        return ("code", "aggregation", "created_at") if obj else ("created_at",)


class MeterPriceInline(admin.TabularInline):
    """Prices are add-only (a database trigger refuses changes): existing ones are shown
    read-only, new ones are added below them, none is deleted."""

    model = MeterPrice
    fields = ("meter", "region", "unit_price", "effective_from", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("meter",)
    extra = 1
    can_delete = False
    ordering = ("meter__code", "region", "-effective_from")
    verbose_name_plural = "prices (add-only: a price change is a new price with a later start)"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PricePlan)
class PricePlanAdmin(AuditedModelAdmin):
    list_display = ("name", "currency", "markup_percent", "created_at")
    list_filter = ("currency",)
    search_fields = ("name", "=uuid")
    inlines = (MeterPriceInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: PricePlan | None = None) -> tuple:
        # The prices are in the plan's currency.
        return ("uuid", "currency", "created_at") if obj else ("uuid", "created_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AccountBilling)
class AccountBillingAdmin(AuditedModelAdmin):
    """An account's own price plan; without one it uses the nearest account above's."""

    list_display = ("account", "price_plan", "updated_at")
    list_filter = ("price_plan",)
    search_fields = ("account__name", "account__slug", "=account__uuid")
    autocomplete_fields = ("account",)
    list_select_related = ("account", "price_plan")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple:
        return ("account", "updated_at") if obj else ("updated_at",)


@admin.register(Subscription)
class SubscriptionAdmin(AuditedModelAdmin):
    list_display = ("name", "external_id", "platform", "region", "account", "created_at")
    list_filter = ("platform", "region", ("account", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "external_id", "=uuid", "account__name")
    autocomplete_fields = ("account",)
    readonly_fields = ("uuid", "created_at")
    list_select_related = ("account",)


class AssignedFilter(admin.SimpleListFilter):
    title = "assignment"
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Assigned"), ("no", "Unassigned")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Asset]) -> QuerySet[Asset]:
        if self.value() in ("yes", "no"):
            return queryset.filter(client__isnull=self.value() == "no")
        return queryset


@admin.register(Asset)
class AssetAdmin(AuditedModelAdmin):
    """Assets are registered by the usage that names them; staff only choose who is billed.
    Usage of an unassigned asset waits and is rated by the next poll after it is assigned."""

    list_display = ("asset_id", "account", "client", "source", "first_seen_at", "last_seen_at")
    list_filter = (AssignedFilter,)
    search_fields = ("=asset_id", "=uuid", "description")
    autocomplete_fields = ("client",)
    fields = (
        "uuid",
        "asset_id",
        "account",
        "client",
        "source",
        "description",
        "first_seen_at",
        "last_seen_at",
        "updated_at",
    )
    readonly_fields = tuple(f for f in fields if f != "client")
    list_select_related = ("account", "client")
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WaitingUsage)
class WaitingUsageAdmin(ReadOnlyAdmin):
    """Usage the rating cannot bill yet, with the reason; each poll tries it again."""

    list_display = ("event", "account", "day", "reason", "first_seen_at", "last_tried_at")
    list_select_related = ("usage_event", "account")
    search_fields = ("reason", "=usage_event__event_id")
    ordering = ("-day", "usage_event")

    @admin.display(description="usage event")
    def event(self, obj: WaitingUsage) -> str:
        url = reverse("admin:metering_usageevent_change", args=[obj.usage_event_id])
        return format_html('<a href="{}">{}</a>', url, obj.usage_event.event_id)


@admin.register(BillingRow)
class BillingRowAdmin(ReadOnlyAdmin):
    """Made by the rating from usage events; read here, never changed."""

    list_display = (
        "day",
        "account",
        "meter",
        "asset",
        "subscription",
        "region",
        "quantity",
        "unit_price",
        "cost",
        "currency",
        "adjustment_for",
    )
    list_select_related = ("account", "meter", "asset", "subscription")
    search_fields = ("=uuid", "=asset__asset_id", "=subscription__external_id")
    ordering = ("-day", "-id")
