from django.urls import path

from . import api

urlpatterns = [
    path("me", api.MeView.as_view(), name="api-me"),
    path("accounts", api.AccountListCreateView.as_view(), name="api-accounts"),
    path("accounts/<uuid:account_id>", api.AccountDetailView.as_view(), name="api-account"),
    path(
        "accounts/<uuid:account_id>/members",
        api.AccountMembersView.as_view(),
        name="api-account-members",
    ),
]
