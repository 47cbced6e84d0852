from django.urls import path

from . import api, billing_generate_api

urlpatterns = [
    path("events", api.EventsIngestView.as_view(), name="api-events"),
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
]
