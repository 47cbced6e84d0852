from django.urls import path

from . import views

app_name = "quotas"

urlpatterns = [
    path("", views.my_billing, name="my_billing"),
    path("devices/", views.ActiveDevicesView.as_view(), name="active_devices"),
    path("package-history/", views.PackageHistoryView.as_view(), name="package_history"),
    path("usage-reports/", views.UsageReportsView.as_view(), name="usage_reports"),
    path(
        "reports/<uuid:account_id>/<str:month>/<str:kind>.csv.gz",
        views.report_download,
        name="report_download",
    ),
]
