"""The Usage imports staff pages: every imported usage file with its progress and summary,
and one import's rejected records. Platform staff only; anyone else gets a 404."""

from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.listing import TableListView
from accounts.roles import Capability, can

from ..models import ImportStatus, UsageImport
from .tables import UsageImportFilter, UsageImportTable


def _staff_only(request: HttpRequest) -> None:
    if not can(request.user, Capability.PLATFORM):
        raise Http404


class UsageImportListView(TableListView):
    title = "Usage imports"
    table_class = UsageImportTable
    filterset_class = UsageImportFilter
    export_name = "usage-imports"
    required_capability = Capability.PLATFORM
    empty_text = "No usage files imported for these filters."

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        _staff_only(request)
        return super().dispatch(request, *args, **kwargs)

    def get_base_queryset(self) -> Any:
        return UsageImport.objects.all()


def usage_import_detail(request: HttpRequest, import_id: UUID) -> HttpResponse:
    _staff_only(request)
    record = get_object_or_404(UsageImport, uuid=import_id)
    context = {
        "title": f"Usage import {record.file_name}",
        "record": record,
        "running": record.status == ImportStatus.RUNNING,
        "more_rejected": max(record.rejected - len(record.errors), 0),
    }
    return render(request, "metering/usage_import_detail.html", context)
