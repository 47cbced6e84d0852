"""Billing pages: My billing, the active devices list, Service package history, and Usage
reports with the tenant pane. All show usage, never money, and reach accounts only through
accounts.scoping: the current account and the accounts below it."""

import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django_tables2 import RequestConfig

from accounts.api import AccountSerializer
from accounts.listing import TableListView
from accounts.models import Account
from accounts.roles import Capability, can
from accounts.scoping import account_or_404, subtree_ids
from metering.exports import REPORT_KINDS
from metering.months import REPORTS_READY_BY, Month
from metering.selectors import active_devices

from .exports import report_file_response
from .filters import TREE, ActiveDeviceFilter, LedgerFilter, MonthForm, UsageReportFilter
from .selectors.months import PeriodState, month_choice, report_period
from .selectors.packages import ledger_in, package_holder, remaining_tokens
from .selectors.reports import (
    BillingOverview,
    ReportUnavailable,
    available_report,
    billing_overview,
    tenant_in_view,
    usage_rows,
)
from .tables import ActiveDeviceTable, LedgerTable, UsageReportTable

PANE_TABS = (
    ("summary", "Summary"),
    ("billing", "Billing details"),
    ("quota", "Quota history"),
    ("attributes", "Attributes"),
)


def _current_account(request: HttpRequest) -> Account:
    account = request.account
    # request.account is lazy: a user with no account at all has a falsy one.
    if not account or not can(request.user, Capability.READ, account):
        raise PermissionDenied
    return account


def _account_in_view(request: HttpRequest, account_id: str) -> Account:
    """An account the page may show: the current account or one below it; anything else,
    including an aggregator's sibling tenants as seen from a tenant, is a 404."""
    current = _current_account(request)
    account = account_or_404(request.user, account_id)
    if not tenant_in_view(current, account):
        raise Http404("Not found.")
    return account


def billing_links(overview: BillingOverview, *, pane_query: str = "") -> dict[str, str]:
    """Where the figures of a billing overview lead. In the tenant pane (`pane_query` set) the
    quota history is the pane's own tab; on My billing it is the history page."""
    month = str(overview.period.month)
    account = overview.account
    devices_query = urlencode({"month": month, "account": account.uuid})
    links = {
        "devices": f"{reverse('quotas:active_devices')}?{devices_query}",
        "tenants": f"{reverse('quotas:usage_reports')}?{urlencode({'month': month})}",
        "history": f"?{pane_query}&tab=quota"
        if pane_query
        else f"{reverse('quotas:package_history')}?{urlencode({'month': month})}",
    }
    if overview.usage.report is not None:
        for kind in REPORT_KINDS:
            links[kind.replace("-", "_")] = reverse(
                "quotas:report_download",
                kwargs={"account_id": account.uuid, "month": month, "kind": kind},
            )
    return links


def my_billing(request: HttpRequest) -> HttpResponse:
    account = _current_account(request)
    now = timezone.now()
    choice = month_choice(account, request.GET.get("month"), now)
    overview = billing_overview(report_period(account, choice.month, now=now), now=now)
    return render(
        request,
        "quotas/my_billing.html",
        {
            "title": "My billing",
            "overview": overview,
            "links": billing_links(overview),
            "month_form": MonthForm(choice),
            "month_error": choice.error,
            "ready_by": REPORTS_READY_BY,
        },
    )


def report_download(request: HttpRequest, account_id: str, month: str, kind: str) -> HttpResponse:
    """A generated month's gzipped CSV file for the current account or one below it."""
    account = _account_in_view(request, account_id)
    if kind not in REPORT_KINDS:
        raise Http404("Not found.")
    try:
        period = Month.parse(month)
    except ValidationError as exc:
        raise Http404("Not found.") from exc
    try:
        report = available_report(account, period, now=timezone.now())
    except ReportUnavailable as exc:
        raise Http404(str(exc)) from exc
    return report_file_response(report, kind)


class _MonthListView(TableListView):
    """A table about one month of the current account's tree."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # 403 before anything else for a user without an account.
        current = _current_account(request)
        self.now = timezone.now()
        self.choice = month_choice(current, request.GET.get("month"), self.now)
        self.month = self.choice.month
        return super().dispatch(request, *args, **kwargs)

    def get_filterset_kwargs(self, filterset_class: type) -> dict[str, Any]:
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["data"] = self.request.GET.copy()
        kwargs["choice"] = self.choice
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["month"] = self.month
        context["month_error"] = self.choice.error
        context["is_live"] = self.month == self.choice.current
        return context


class PackageHistoryView(_MonthListView):
    title = "Service package history"
    table_class = LedgerTable
    filterset_class = LedgerFilter
    export_name = "service-package-history"
    template_name = "quotas/package_history.html"
    empty_text = "No quota events in this month for these filters."

    def get_base_queryset(self) -> QuerySet:
        return ledger_in(_current_account(self.request), self.month)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        holder = package_holder(_current_account(self.request))
        context["holder"] = holder
        context["opening"] = remaining_tokens(holder, before=self.month.start)
        context["closing"] = remaining_tokens(holder, before=min(self.month.end, self.now))
        return context


class ActiveDevicesView(_MonthListView):
    title = "Active devices"
    table_class = ActiveDeviceTable
    filterset_class = ActiveDeviceFilter
    export_name = "active-devices"
    template_name = "quotas/active_devices.html"
    empty_text = "No device connected in this month."

    def subject(self) -> Account:
        """Whose devices: the current account, or one below it named by ?account=."""
        raw = self.request.GET.get("account")
        return _account_in_view(self.request, raw) if raw else _current_account(self.request)

    def get_base_queryset(self) -> QuerySet:
        subject = self.subject()
        tree = self.request.GET.get("scope") == TREE
        ids = subtree_ids([subject.pk]) if tree else [subject.pk]
        return active_devices(ids, self.month).select_related("account")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["subject"] = self.subject()
        context["with_tenants"] = self.request.GET.get("scope") == TREE
        return context


class UsageReportsView(_MonthListView):
    title = "Usage reports"
    table_class = UsageReportTable
    filterset_class = UsageReportFilter
    export_name = "usage-reports"
    template_name = "quotas/usage_reports.html"
    empty_text = "No account matches these filters."

    @cached_property
    def period(self) -> PeriodState:
        return report_period(_current_account(self.request), self.month, now=self.now)

    def get_base_queryset(self) -> QuerySet:
        return usage_rows(self.period)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["overview"] = billing_overview(self.period, now=self.now)
        context["ready_by"] = REPORTS_READY_BY
        raw = self.request.GET.get("tenant")
        if raw:
            context["pane"] = self._pane(raw)
        return context

    def _pane(self, raw: str) -> dict[str, Any]:
        tenant = _account_in_view(self.request, raw)
        tab = self.request.GET.get("tab", "summary")
        if tab not in dict(PANE_TABS):
            tab = "summary"
        base = self.request.GET.copy()
        base.pop("tab", None)
        closed = self.request.GET.copy()
        for key in ("tenant", "tab"):
            closed.pop(key, None)
        overview = billing_overview(report_period(tenant, self.month, now=self.now), now=self.now)
        ledger = LedgerTable(
            ledger_in(tenant, self.month).order_by("occurred_at", "id"),
            prefix="q-",
            empty_text="No quota events in this month.",
            exclude=("campaign_account",),
            attrs={"class": "table table-sm align-middle", "id": "pane-ledger"},
        )
        RequestConfig(self.request, paginate=False).configure(ledger)
        return {
            "tenant": tenant,
            "tab": tab,
            "tabs": [(key, label, f"?{_with(base, tab=key)}") for key, label in PANE_TABS],
            "close_url": f"?{closed.urlencode()}",
            "overview": overview,
            "links": billing_links(overview, pane_query=base.urlencode()),
            "ledger": ledger,
            "attributes": json.dumps(
                AccountSerializer(tenant, context={"request": self.request}).data,
                indent=2,
                cls=DjangoJSONEncoder,
            ),
        }


def _with(query: Any, **values: str) -> str:
    query = query.copy()
    for key, value in values.items():
        query[key] = value
    return query.urlencode()
