from django.urls import path

from .api import campaigns, packages, reports

urlpatterns = [
    path(
        "service-packages",
        packages.ServicePackageListView.as_view(),
        name="api-service-packages",
    ),
    path("service-packages/quota", packages.QuotaView.as_view(), name="api-quota"),
    path(
        "service-packages/quota-history",
        packages.QuotaHistoryView.as_view(),
        name="api-quota-history",
    ),
    path(
        "service-packages/<uuid:package_id>/renew",
        packages.ServicePackageRenewView.as_view(),
        name="api-service-package-renew",
    ),
    path("campaigns", campaigns.CampaignCreateView.as_view(), name="api-campaigns"),
    path(
        "campaigns/<uuid:campaign_id>/finish",
        campaigns.CampaignFinishView.as_view(),
        name="api-campaign-finish",
    ),
    path("billing-report", reports.BillingReportView.as_view(), name="api-billing-report"),
    path(
        "billing-report/active-devices",
        reports.ActiveDevicesReportView.as_view(),
        name="api-billing-report-active-devices",
    ),
    path(
        "billing-report/firmware-updates",
        reports.FirmwareUpdatesReportView.as_view(),
        name="api-billing-report-firmware-updates",
    ),
]
