from django.urls import path

from . import views

app_name = "invoices"

urlpatterns = [
    path("billing/grid/", views.grid, name="grid"),
    path("billing/grid/rows/<uuid:row_id>/", views.row_details, name="row"),
]
