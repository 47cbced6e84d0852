from django.urls import path

from . import views

app_name = "statements"

_STATEMENT = "statements/<uuid:license_id>/<str:month>/"

urlpatterns = [
    path("statements/", views.panel, name="panel"),
    path(f"{_STATEMENT}statement.csv", views.download_csv, name="download_csv"),
    path(f"{_STATEMENT}summary.csv", views.download_summary_csv, name="download_summary_csv"),
    path(f"{_STATEMENT}statement.html", views.download_html, name="download_html"),
    path(f"{_STATEMENT}statement.pdf", views.download_pdf, name="download_pdf"),
    path(f"{_STATEMENT}pdf/", views.pdf_page, name="pdf"),
    path(f"{_STATEMENT}pdf/status", views.pdf_status, name="pdf_status"),
    path("balances/", views.BalancesView.as_view(), name="balances"),
    path("transactions/", views.TransactionsView.as_view(), name="transactions"),
]
