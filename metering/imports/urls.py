from django.urls import path

from . import views

app_name = "metering_imports"

urlpatterns = [
    path("", views.UsageImportListView.as_view(), name="list"),
    path("<uuid:import_id>/", views.usage_import_detail, name="detail"),
]
