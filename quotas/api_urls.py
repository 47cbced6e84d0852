from django.urls import path

from . import api

urlpatterns = [
    path("service-packages", api.ServicePackageListView.as_view(), name="api-service-packages"),
    path("service-packages/quota", api.QuotaView.as_view(), name="api-quota"),
    path(
        "service-packages/quota-history",
        api.QuotaHistoryView.as_view(),
        name="api-quota-history",
    ),
    path(
        "service-packages/<uuid:package_id>/renew",
        api.ServicePackageRenewView.as_view(),
        name="api-service-package-renew",
    ),
    path("campaigns", api.CampaignCreateView.as_view(), name="api-campaigns"),
    path(
        "campaigns/<uuid:campaign_id>/finish",
        api.CampaignFinishView.as_view(),
        name="api-campaign-finish",
    ),
    path("billing-report", api.BillingReportView.as_view(), name="api-billing-report"),
    path(
        "billing-report/active-devices",
        api.ActiveDevicesReportView.as_view(),
        name="api-billing-report-active-devices",
    ),
    path(
        "billing-report/firmware-updates",
        api.FirmwareUpdatesReportView.as_view(),
        name="api-billing-report-firmware-updates",
    ),
]
