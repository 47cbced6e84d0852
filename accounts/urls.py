from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.AccountListView.as_view(), name="home"),
    path("accounts/switch/", views.switch_account, name="switch"),
    path("accounts/<uuid:account_id>/", views.account_detail, name="detail"),
    path("audit/", views.AuditLogView.as_view(), name="audit_log"),
    path("health/", views.health, name="health"),
]
