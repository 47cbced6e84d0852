from django.urls import path

from . import api

urlpatterns = [
    path("license-types", api.LicenseTypeListCreateView.as_view(), name="api-license-types"),
    path(
        "license-types/<uuid:license_type_id>/rates",
        api.LicenseTypeRateView.as_view(),
        name="api-license-type-rates",
    ),
    path("machine-types", api.MachineTypeListCreateView.as_view(), name="api-machine-types"),
    path(
        "machine-types/<uuid:machine_type_id>/rates",
        api.MachineTypeRateView.as_view(),
        name="api-machine-type-rates",
    ),
    path("licenses", api.LicenseListCreateView.as_view(), name="api-licenses"),
    path("licenses/<uuid:license_id>", api.LicenseDetailView.as_view(), name="api-license"),
]
