"""Top-level URLs: pages per app, the versioned API, its schema and docs, admin and auth."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as account_views

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("metering.api_urls")),
    path("", include("quotas.api_urls")),
    path("", include("licenses.api_urls")),
    path("", include("statements.api_urls")),
]

urlpatterns = [
    path("favicon.ico", account_views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", account_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "password/set/<uidb64>/<token>/",
        account_views.PasswordSetView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/set/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file (?script), not inline, as
    # the Content-Security-Policy requires; our template adds a way back to the site.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html"),
        name="api-docs",
    ),
    # Before quotas' billing/ pages: the Billing grid lives at billing/grid/.
    path("", include("invoices.urls")),
    path("billing/", include("quotas.urls")),
    path("usage-imports/", include("metering.imports.urls")),
    path("", include("statements.urls")),
    path("", include("accounts.urls")),
]

handler404 = "accounts.errors.not_found"
handler500 = "accounts.errors.server_error"
