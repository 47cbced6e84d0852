from django.urls import path

from . import api

_STATEMENT = "licenses/<uuid:license_id>/statements/<str:month>"

urlpatterns = [
    path(_STATEMENT, api.StatementView.as_view(), name="api-statement"),
    path(f"{_STATEMENT}/machine-usage", api.MachineUsageView.as_view(), name="api-machine-usage"),
    path(
        "licenses/<uuid:license_id>/credits",
        api.LicenseCreditsView.as_view(),
        name="api-license-credits",
    ),
    path("transactions", api.TransactionsView.as_view(), name="api-transactions"),
    path("balances", api.BalancesView.as_view(), name="api-balances"),
]
