from django.urls import path

from . import api, billing_api

urlpatterns = [
    path("events", api.EventsIngestView.as_view(), name="api-events"),
    path(
        "billing/yearmonth/<str:month>",
        billing_api.BillingMonthRowsView.as_view(),
        name="api-billing-month",
    ),
    path("billing/range", billing_api.BillingRangeRowsView.as_view(), name="api-billing-range"),
    path("billing/summary", billing_api.BillingSummaryView.as_view(), name="api-billing-summary"),
]
