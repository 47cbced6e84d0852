from django.urls import path

from . import api, billing_api, billing_generate_api, catalog_api

urlpatterns = [
    path("events", api.EventsIngestView.as_view(), name="api-events"),
    path("meters", catalog_api.MeterListCreateView.as_view(), name="api-meters"),
    path("price-plans", catalog_api.PricePlanListCreateView.as_view(), name="api-price-plans"),
    path(
        "price-plans/<uuid:plan_id>/prices",
        catalog_api.PricePlanPricesView.as_view(),
        name="api-price-plan-prices",
    ),
    path(
        "subscriptions",
        catalog_api.SubscriptionListCreateView.as_view(),
        name="api-subscriptions",
    ),
    path(
        "subscriptions/<uuid:subscription_id>",
        catalog_api.SubscriptionDetailView.as_view(),
        name="api-subscription",
    ),
    path("assets", catalog_api.AssetListView.as_view(), name="api-assets"),
    path("assets/<uuid:asset_id>", catalog_api.AssetDetailView.as_view(), name="api-asset"),
    path(
        "billing/settings",
        catalog_api.BillingSettingsView.as_view(),
        name="api-billing-settings",
    ),
    path(
        "billing/generate/range",
        billing_generate_api.BillingGenerateRangeView.as_view(),
        name="api-billing-generate-range",
    ),
    path(
        "billing/generate/<str:month>",
        billing_generate_api.BillingGenerateMonthView.as_view(),
        name="api-billing-generate-month",
    ),
    path(
        "billing/yearmonth/<str:month>",
        billing_api.BillingMonthRowsView.as_view(),
        name="api-billing-month",
    ),
    path("billing/range", billing_api.BillingRangeRowsView.as_view(), name="api-billing-range"),
    path("billing/summary", billing_api.BillingSummaryView.as_view(), name="api-billing-summary"),
]
