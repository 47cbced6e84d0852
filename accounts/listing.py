"""The list page every table in the site uses: a django-tables2 table, a django-filter form
whose state lives in the URL, a clamped rows-per-page and a streamed CSV of exactly the filtered,
sorted rows and the table's exported columns (`?export=csv`)."""

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.functional import cached_property
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin, Table
from django_tables2.rows import BoundRow

from .exports import csv_lines, csv_response, download_filename
from .roles import Capability, can

EXPORT_CHUNK = 2000


def clamp_rows(wanted: int) -> int:
    """Rows per page within LIST_PER_PAGE_CHOICES."""
    choices = settings.LIST_PER_PAGE_CHOICES
    return max(choices[0], min(wanted, choices[-1]))


def clamp_per_page(request: HttpRequest, default: int | None = None) -> int:
    fallback = default or settings.LIST_PER_PAGE_CHOICES[0]
    try:
        wanted = int(request.GET.get("per_page", fallback))
    except ValueError:
        return fallback
    return clamp_rows(wanted)


class KnownCountPaginator(Paginator):
    """Pages of rows whose number is already known (a statement's stored line count, the
    Billing grid's summary), so the paginator does not count them again."""

    def __init__(self, object_list: Any, per_page: int, *, count: int, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


class ClampedTable(Table):
    """A table whose pages never fail: rows per page are clamped and a page number outside
    the pages shows the nearest one. django-tables2's own `paginate` raises EmptyPage for
    those, and a table built with `request=` paginates with the raw ?per_page= and ?page=."""

    def paginate(
        self,
        paginator_class: type[Paginator] = Paginator,
        per_page: int | None = None,
        page: int | str = 1,
        *args: Any,
        **kwargs: Any,
    ) -> "ClampedTable":
        rows = clamp_rows(per_page or self._meta.per_page)
        self.paginator = paginator_class(self.rows, rows, *args, **kwargs)
        self.page = self.paginator.get_page(page)
        return self


def table_rows(table: Table, queryset: QuerySet) -> Iterator[list[Any]]:
    """The table's exported columns for each record, read in chunks so memory stays flat."""
    columns = [c for c in table.columns.iterall() if not c.column.exclude_from_export]
    yield [force_str(c.header, strings_only=True) for c in columns]
    for record in queryset.iterator(chunk_size=EXPORT_CHUNK):
        row = BoundRow(record, table=table)
        yield [force_str(row.get_cell_value(c.name), strings_only=True) for c in columns]


def table_csv_response(
    request: HttpRequest, table_class: type[Table], queryset: QuerySet, name: str
) -> HttpResponse:
    table = table_class(queryset, request=request)
    RequestConfig(request, paginate=False).configure(table)
    rows = table_rows(table, table.data.data)
    header = next(rows)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return csv_response(download_filename(name, stamp, extension="csv"), csv_lines(header, rows))


class TableListView(SingleTableMixin, FilterView):
    """Subclasses name a table, a filterset, a title and `get_base_queryset` (already scoped)."""

    template_name = "listing.html"
    title = ""
    export_name = "export"
    required_capability = Capability.READ
    paginator_class = None
    empty_text = "Nothing to show yet."
    strict = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can(request.user, self.required_capability, getattr(request, "account", None)):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_base_queryset(self) -> QuerySet:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet:
        return self.get_base_queryset()

    def get_table_pagination(self, table: Table) -> dict[str, Any]:
        pagination: dict[str, Any] = {"per_page": clamp_per_page(self.request)}
        if self.paginator_class is not None:
            pagination["paginator_class"] = self.paginator_class
        return pagination

    def get_table_kwargs(self) -> dict[str, Any]:
        # Rows per page come from clamp_per_page() through get_table_pagination(); the field
        # name hides the raw ?per_page= from django-tables2, which would apply it unclamped.
        return {"empty_text": self.empty_text, "per_page_field": "per_page_unclamped"}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["title"] = self.title
        context["per_page_choices"] = settings.LIST_PER_PAGE_CHOICES
        query = self.request.GET.copy()
        query["export"] = "csv"
        query.pop("page", None)
        context["csv_query"] = query.urlencode()
        return context

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        if self.request.GET.get("export") == "csv":
            return table_csv_response(
                self.request, self.get_table_class(), self.object_list, self.export_name
            )
        return super().render_to_response(context, **kwargs)
