"""The Billing page (seed 003): the grid of daily billing rows of the current account's tree, in
daily or monthly mode, with its filters, summary cards beside the comparable previous range, the
cost-per-day chart, the rows table and its CSV, and a row's details.

Rows are read only through metering.billing_selectors, within the current account's tree: a
tenant sees its own tree's rows, and another tenant's row is a 404."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_tables2 import RequestConfig

from accounts.exports import attach, download_filename
from accounts.listing import KnownCountPaginator, clamp_per_page, table_csv_response
from accounts.models import Account, BillingSettings
from accounts.roles import Capability, can
from accounts.scoping import can_see_account
from metering.billing_dates import DayRange
from metering.billing_selectors import (
    BillingSummary,
    RowFilters,
    billing_row_or_404,
    billing_rows,
    billing_summary,
    daily_cost_by_meter,
    monthly_lines,
    tree_ids,
)
from metering.models import Subscription
from metering.months import Month
from metering.services.usage_rating import billing_row_events

from .charts import grid_figures
from .exports import daily_rows_csv
from .filters import DAILY, MODES, MONTHLY, BillingGridFilter, GridQuery
from .tables import DailyRowTable, MonthlyLineTable

EVENTS_SHOWN = 50
EMPTY_TEXT = {
    DAILY: "No billing rows in these days for these filters.",
    MONTHLY: "No billing in this month for these filters.",
}


def _current_account(request: HttpRequest) -> Account:
    account = request.account
    # A user with no account has no current account: 403, like a role that may not read.
    if account is None or not can(request.user, Capability.READ, account):
        raise PermissionDenied
    return account


def _grid_filter(request: HttpRequest, account: Account) -> BillingGridFilter:
    tree = tree_ids(account)
    monthly = BillingSettings.load().default_billing_aggregation_monthly
    return BillingGridFilter(
        request.GET,
        tenants=Account.objects.filter(id__in=tree).order_by("name"),
        subscriptions=Subscription.objects.filter(account_id__in=tree).order_by("name"),
        default_mode=MONTHLY if monthly else DAILY,
        today=timezone.now().date(),
        request=request,
    )


def _rows(request: HttpRequest, account: Account, query: GridQuery) -> tuple[type, QuerySet]:
    """The table the mode shows and its rows: daily rows, or monthly lines."""
    reading = {"actor": request.user, "days": query.days, "filters": query.filters}
    if query.mode == MONTHLY:
        return MonthlyLineTable, monthly_lines(**reading, within=account)
    return DailyRowTable, billing_rows(**reading, within=account)


def _mode_links(request: HttpRequest, query: GridQuery) -> dict[str, str]:
    """The toggle: each mode keeps the filters; monthly opens on the month the days start in,
    daily on that month's days."""
    links = {}
    month = query.month
    for mode in MODES:
        params = request.GET.copy()
        for key in ("page", "start", "end", "month", "sort", "export"):
            params.pop(key, None)
        params["mode"] = mode
        if mode == MONTHLY:
            params["month"] = str(month)
        elif query.mode == DAILY:
            params["start"], params["end"] = str(query.days.start), str(query.days.end)
        else:
            params["start"], params["end"] = str(month.first_day), str(month.last_day)
        links[mode] = f"?{params.urlencode()}"
    return links


def grid(request: HttpRequest) -> HttpResponse:
    account = _current_account(request)
    grid_filter = _grid_filter(request, account)
    query = grid_filter.grid_query()
    table_class, rows = _rows(request, account, query)
    if request.GET.get("export") == "csv":
        name = f"billing {account.name} {query.days.start} {query.days.end} {query.mode}"
        if query.mode != DAILY:
            return table_csv_response(request, table_class, rows, name)
        # Daily rows can be millions: sorted as the table sorts them, written by PostgreSQL.
        table = table_class(rows)
        RequestConfig(request, paginate=False).configure(table)
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        filename = download_filename(name, stamp, extension="csv")
        response = StreamingHttpResponse(
            daily_rows_csv(table.data.data), content_type="text/csv; charset=utf-8"
        )
        return attach(response, filename)
    reading = {"actor": request.user, "days": query.days, "filters": query.filters}
    summary = billing_summary(**reading, group_by="meter", within=account)
    # RequestConfig sorts and pages it (a table built with request= would page it, and count
    # its rows, once more).
    table = table_class(rows, empty_text=EMPTY_TEXT[query.mode])
    pagination: dict[str, Any] = {"per_page": clamp_per_page(request)}
    if query.mode == DAILY:
        # The summary has counted the same rows: the table need not count them again.
        count = sum(t.rows for t in summary.current.totals)
        pagination.update(paginator_class=KnownCountPaginator, count=count)
    RequestConfig(request, paginate=pagination).configure(table)
    points = daily_cost_by_meter(**reading, within=account)
    csv_query = request.GET.copy()
    csv_query.pop("page", None)
    csv_query["export"] = "csv"
    context: dict[str, Any] = {
        "title": "Billing grid",
        "account": account,
        "form": grid_filter.form,
        "query": query,
        "modes": MODES,
        "mode_links": _mode_links(request, query),
        "summary": summary,
        "previous_label": _previous_label(summary.previous.days, whole=query.days.whole_months),
        "cards": _cards(summary),
        "meters": _meters(summary),
        "figures": grid_figures(points, query.days),
        "table": table,
        "per_page_choices": settings.LIST_PER_PAGE_CHOICES,
        "csv_query": csv_query.urlencode(),
        "filtered": query.filters != RowFilters(),
    }
    return render(request, "invoices/grid.html", context)


def _previous_label(days: DayRange, *, whole: bool) -> str:
    if whole and days.whole_months:
        months = len(Month.of(days.start).until(Month.of(days.end)))
        return "Previous month" if months == 1 else f"Previous {months} months"
    return f"Previous {days.days} day{pluralize(days.days)}"


def _cards(summary: BillingSummary) -> list[dict[str, Any]]:
    """Per currency: this range, the previous one and the change, for the summary cards."""
    rows_now = {t.currency: t.rows for t in summary.current.totals}
    return [
        {
            "currency": change.currency,
            "cost": summary.current.total(change.currency),
            "previous": summary.previous.total(change.currency),
            "change": change.amount,
            "percent": change.percent,
            "rows": rows_now.get(change.currency, 0),
        }
        for change in summary.changes
    ]


def _meters(summary: BillingSummary) -> list[dict[str, Any]]:
    """Each meter and currency of either range: its cost now and in the previous range."""
    before = {(g.key, g.currency): g.cost for g in summary.previous.groups}
    lines = [
        {
            "name": g.name,
            "unit": g.unit,
            "currency": g.currency,
            "cost": g.cost,
            "previous": before.pop((g.key, g.currency), Decimal(0)),
        }
        for g in summary.current.groups
    ]
    lines += [
        {
            "name": g.name,
            "unit": g.unit,
            "currency": g.currency,
            "cost": Decimal(0),
            "previous": g.cost,
        }
        for g in summary.previous.groups
        if (g.key, g.currency) in before
    ]
    return lines


def row_details(request: HttpRequest, row_id: str) -> HttpResponse:
    account = _current_account(request)
    row = billing_row_or_404(actor=request.user, row_id=row_id, within=account)
    events = billing_row_events(row, limit=EVENTS_SHOWN)
    # Back to the grid on the row's day and asset.
    back = {"mode": DAILY, "start": row.day, "end": row.day, "asset": row.asset.asset_id}
    return render(
        request,
        "invoices/row.html",
        {
            "title": f"Billing row {row.day:%Y-%m-%d}",
            "row": row,
            "events": events,
            # The usage may come from an account above the viewer (a platform import).
            "sender_visible": can_see_account(request.user, row.sender_id),
            "markup": row.plan.markup_percent if row.imported_cost is not None else None,
            "back_url": f"{reverse('invoices:grid')}?{urlencode(back)}",
        },
    )
