"""Pages: accounts overview and detail, the account switcher, the audit log, staff health, the
favicon and the sign-in lockout page."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from . import selectors, services
from .filters import AccountFilter, AuditEventFilter
from .listing import TableListView, clamp_per_page
from .models import Account
from .roles import Capability, can
from .scoping import account_or_404
from .tables import AccountTable, AuditEventTable, MembershipTable

ERR_SIGN_IN_LOCKED = (
    "Too many failed sign-ins for this user name or from this address. Try again in {minutes} "
    "minutes, or ask platform staff to unlock it."
)


class AccountListView(TableListView):
    """The home page: the current account and every account below it."""

    title = "Accounts"
    table_class = AccountTable
    filterset_class = AccountFilter
    export_name = "accounts"
    empty_text = "No accounts match these filters."

    def get_base_queryset(self) -> QuerySet:
        if self.request.account is None:  # platform staff on a site with no accounts yet
            return Account.objects.none()
        return selectors.accounts_below(self.request.account)


def account_detail(request: HttpRequest, account_id: str) -> HttpResponse:
    account = account_or_404(request.user, account_id)
    members = None
    if can(request.user, Capability.MANAGE, account):
        members = MembershipTable(account.memberships.select_related("user"), prefix="m-")
        RequestConfig(request, paginate={"per_page": clamp_per_page(request)}).configure(members)
    tenants = AccountTable(selectors.accounts_below(account).filter(parent=account), prefix="t-")
    RequestConfig(request, paginate={"per_page": clamp_per_page(request)}).configure(tenants)
    return render(
        request,
        "accounts/account_detail.html",
        {
            "account": account,
            "members": members,
            "tenants": tenants,
            "has_tenants": tenants.paginator.count > 0,
            "title": account.name,
        },
    )


@require_POST
def switch_account(request: HttpRequest) -> HttpResponse:
    account = account_or_404(request.user, request.POST.get("account", ""))
    request.session[selectors.SESSION_ACCOUNT_KEY] = str(account.uuid)
    target = request.POST.get("next") or reverse("accounts:home")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("accounts:home")
    return HttpResponseRedirect(target)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, leaving an audit entry (without the password)."""

    def form_valid(self, form: forms.Form) -> HttpResponse:
        response = super().form_valid(form)
        services.user_password_changed(actor=self.request.user, user=form.user)
        return response


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """Setting a password from an e-mailed link (new members), leaving an audit entry."""

    def form_valid(self, form: forms.Form) -> HttpResponse:
        response = super().form_valid(form)
        services.user_password_changed(actor=form.user, user=form.user)
        return response


class AuditLogView(TableListView):
    title = "Audit log"
    table_class = AuditEventTable
    filterset_class = AuditEventFilter
    export_name = "audit-log"
    required_capability = Capability.MANAGE
    empty_text = "No changes recorded for these filters."

    def get_base_queryset(self) -> QuerySet:
        return selectors.audit_events_for(self.request.user, self.request.account).select_related(
            "account"
        )


def health(request: HttpRequest) -> HttpResponse:
    if not can(request.user, Capability.PLATFORM):
        raise PermissionDenied
    from billing_site.schedule import BEAT_SCHEDULE

    context: dict[str, Any] = {
        "title": "Health",
        "checks": [selectors.database_check(), selectors.broker_check()],
        "jobs": selectors.job_health(BEAT_SCHEDULE),
        "broker_url_scheme": settings.CELERY_BROKER_URL.split("://", 1)[0],
    }
    return render(request, "accounts/health.html", context)


@login_not_required
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever a page links to (the admin links to none).
    Temporary, because the target's hashed name changes when the icon does."""
    return HttpResponseRedirect(static("favicon.svg"))


def sign_in_locked(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """What django-axes answers a sign-in from a locked-out user name or address with
    (AXES_LOCKOUT_CALLABLE), instead of the sign-in form's usual error."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {"title": "Sign-in locked", "message": ERR_SIGN_IN_LOCKED.format(minutes=minutes)}
    return render(request, "registration/locked_out.html", context, status=429)
