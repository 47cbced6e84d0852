"""Pages: the statement panel and its downloads, account balances and transactions.

Every page reaches licenses through statements.selectors.licenses_for (accounts.scoping): a
license of another tenant is a 404 on the panel, in every download and in the filters.
"""

from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.exports import attach, csv_response
from accounts.listing import KnownCountPaginator, TableListView, clamp_per_page
from accounts.roles import Capability, can
from metering.months import ERR_MONTH, Month

from . import documents, exports, selectors
from .charts import HOURLY_CHOICES, PIE_CHOICES
from .filters import PRESETS, BalanceFilter, TransactionFilter
from .models import PdfStatus, Statement
from .services.chart_cache import statement_charts_queue
from .services.pdf import PDF_DIRECT_LINES, statement_pdf_ready, statement_pdf_request
from .tables import BalanceTable, MachineUsageTable, TransactionTable


def _require_read(request: HttpRequest) -> None:
    # A user without any account has no current account: 403, like a role that may not read.
    if request.account is None or not can(request.user, Capability.READ, request.account):
        raise PermissionDenied


def _month(request: HttpRequest) -> tuple[date | None, str | None]:
    text = request.GET.get("month", "")
    if not text:
        return None, None
    try:
        return Month.parse(text).first_day, None
    except ValidationError:
        return None, ERR_MONTH


def _choice(request: HttpRequest, name: str, choices: dict[str, str]) -> str:
    value = request.GET.get(name, "")
    return value if value in choices else next(iter(choices))


def panel(request: HttpRequest) -> HttpResponse:
    """The statement of one license for one month: balance, summary, charts, sections and
    the machine usage, with the license and month pickers and the downloads."""
    _require_read(request)
    licenses = list(selectors.licenses_for(request.user, request.account))
    context: dict[str, Any] = {"title": "Statements", "licenses": licenses}
    if not licenses:
        return render(request, "statements/panel.html", context)
    license = (
        selectors.license_or_404(request.user, request.account, request.GET["license"])
        if request.GET.get("license")
        else licenses[0]
    )
    months = selectors.statement_months(license)
    period, month_error = _month(request)
    if period is None:
        period = selectors.statement_default_period(license) or Month.of(timezone.now()).first_day
    statement = selectors.statement_for(license, period)
    context.update(
        license=license,
        months=[(str(Month.of(p)), p.strftime("%B %Y"), status) for p, status in months],
        month=str(Month.of(period)),
        month_listed=any(listed == period for listed, _ in months),
        month_label=period.strftime("%B %Y"),
        month_error=month_error,
        statement=statement,
        pie_choices=PIE_CHOICES,
        hourly_choices=HOURLY_CHOICES,
        pie=_choice(request, "pie", PIE_CHOICES),
        metric=_choice(request, "metric", HOURLY_CHOICES),
        per_page_choices=settings.LIST_PER_PAGE_CHOICES,
        pdf_direct_lines=PDF_DIRECT_LINES,
    )
    if statement is not None:
        table = MachineUsageTable(
            selectors.statement_lines(statement),
            currency=statement.currency,
            request=request,
            empty_text="No machine usage on this statement.",
        )
        order_by = request.GET.get("sort")
        if order_by:
            table.order_by = order_by
        table.paginate(
            paginator_class=KnownCountPaginator,
            per_page=clamp_per_page(request),
            page=_page_number(request),
            count=statement.line_count,
            orphans=0,
        )
        context.update(
            sections=selectors.statement_sections(statement),
            credits=list(selectors.statement_credits(statement)),
            figures=_figures(statement),
            table=table,
        )
    return render(request, "statements/panel.html", context)


def _figures(statement: Statement) -> dict[str, str] | None:
    """The cached charts, or None while a worker builds them: building reads every line (40 s
    for 2.8 million), so a page view only queues it. A statement without lines needs none."""
    if not statement.line_count:
        return None
    figures = selectors.statement_charts(statement)
    if figures is None:
        statement_charts_queue(statement_ids=[statement.id])
    return figures


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", 1)))
    except ValueError:
        return 1


def _statement_or_404(request: HttpRequest, license_id: str, month: str) -> Statement:
    _require_read(request)
    license = selectors.license_or_404(request.user, request.account, license_id)
    try:
        period = Month.parse(month).first_day
    except ValidationError as exc:
        raise Http404(ERR_MONTH) from exc
    statement = selectors.statement_for(license, period)
    if statement is None:
        raise Http404("No statement for this month.")
    return statement


def download_csv(request: HttpRequest, license_id: str, month: str) -> HttpResponse:
    """Every machine-usage line of the statement, streamed."""
    statement = _statement_or_404(request, license_id, month)
    return csv_response(
        exports.document_filename(statement, "machine-usage", "csv"),
        exports.machine_usage_csv(statement),
    )


def download_summary_csv(request: HttpRequest, license_id: str, month: str) -> HttpResponse:
    statement = _statement_or_404(request, license_id, month)
    return csv_response(
        exports.document_filename(statement, "summary", "csv"), exports.summary_csv(statement)
    )


def download_html(request: HttpRequest, license_id: str, month: str) -> HttpResponse:
    """A standalone, printable HTML file: no outside assets, streamed."""
    statement = _statement_or_404(request, license_id, month)
    response = StreamingHttpResponse(
        documents.statement_html(statement), content_type="text/html; charset=utf-8"
    )
    return attach(response, exports.document_filename(statement, "statement", "html"))


def download_pdf(request: HttpRequest, license_id: str, month: str) -> HttpResponse:
    """A small statement's PDF, rendered now; a large one's as a worker built it, or its page
    that shows the build's progress while there is none for the statement as it is now."""
    statement = _statement_or_404(request, license_id, month)
    filename = exports.document_filename(statement, "statement", "pdf")
    if statement.line_count <= PDF_DIRECT_LINES:
        response = HttpResponse(documents.statement_pdf(statement), content_type="application/pdf")
        return attach(response, filename)
    built = statement_pdf_ready(statement)
    if built is None:
        return redirect("statements:pdf", license_id=license_id, month=month)
    return FileResponse(
        default_storage.open(built.file),
        as_attachment=True,
        filename=filename,
        content_type="application/pdf",
    )


@require_http_methods(["GET", "POST"])
def pdf_page(request: HttpRequest, license_id: str, month: str) -> HttpResponse:
    """The PDF of a large statement: requests its build and shows the progress (a bar that
    polls pdf_status, or a refresh link without JavaScript); POST tries a failed build again."""
    statement = _statement_or_404(request, license_id, month)
    pdf = statement_pdf_request(statement=statement, retry=request.method == "POST")
    if request.method == "POST":
        return redirect("statements:pdf", license_id=license_id, month=month)
    context = {
        "title": "Statement PDF",
        "statement": statement,
        "license": statement.license,
        "month": month,
        "month_label": statement.period.strftime("%B %Y"),
        "pdf": pdf,
        "ready": pdf.status == PdfStatus.READY,
        **_pdf_urls(license_id, month),
    }
    return render(request, "statements/pdf.html", context)


def pdf_status(request: HttpRequest, license_id: str, month: str) -> JsonResponse:
    """The build's status for the progress bar: status, percent done, whether to download."""
    statement = _statement_or_404(request, license_id, month)
    pdf = statement_pdf_request(statement=statement)
    return JsonResponse(
        {
            "status": pdf.status,
            "label": pdf.get_status_display(),
            "progress": pdf.progress,
            "ready": pdf.status == PdfStatus.READY,
            "failed": pdf.status == PdfStatus.FAILED,
            **_pdf_urls(license_id, month),
        }
    )


def _pdf_urls(license_id: str, month: str) -> dict[str, str]:
    args = [license_id, month]
    return {
        "download_url": reverse("statements:download_pdf", args=args),
        "status_url": reverse("statements:pdf_status", args=args),
    }


class BalancesView(TableListView):
    """A row per license per month: start balance, credits, charges, ending balance."""

    title = "Account balances"
    template_name = "statements/balances.html"
    table_class = BalanceTable
    filterset_class = BalanceFilter
    export_name = "balances"
    empty_text = "No balances match these filters."

    def get_base_queryset(self) -> QuerySet:
        return selectors.balances_for(self.request.user, self.request.account)


class TransactionsView(TableListView):
    """Every credit of every license the user may see."""

    title = "Transactions"
    template_name = "statements/transactions.html"
    table_class = TransactionTable
    filterset_class = TransactionFilter
    export_name = "transactions"
    empty_text = "No transactions match these filters."

    def get_base_queryset(self) -> QuerySet:
        return selectors.transactions_for(self.request.user, self.request.account)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        presets = [(key, label) for key, (label, _) in PRESETS.items()]
        return {**super().get_context_data(**kwargs), "presets": presets}
