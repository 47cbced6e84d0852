"""Streamed CSV downloads in constant memory: every cell written for machines
(`accounts.formats`), with spreadsheet formulas neutralised."""

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpResponseBase, StreamingHttpResponse
from django.utils.text import slugify

from .formats import csv_boolean, csv_date, csv_timestamp

# A text cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_EXTENSION = re.compile(r"^[a-z0-9]+(\.[a-z0-9]+)*$")


def is_formula(text: str) -> bool:
    """Would a spreadsheet run this text cell as a formula?"""
    return text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.match(text)


def csv_safe(value: Any) -> Any:
    """The value as a CSV cell: booleans, times and dates in the CSV formats, numbers plain,
    and a leading apostrophe on text that a spreadsheet would run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return csv_boolean(value)
    if isinstance(value, datetime):
        return csv_timestamp(value)
    if isinstance(value, date):
        return csv_date(value)
    if isinstance(value, Decimal):
        # Fixed point: str() would write some decimals as 1E+3.
        return format(value, "f")
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if is_formula(text) else text


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([csv_safe(h) for h in header])
    for row in rows:
        yield writer.writerow([csv_safe(v) for v in row])


def download_filename(*parts: object, extension: str) -> str:
    """The name every download of the site is saved under: its parts (account, license,
    period, what it is) as ASCII slugs joined by dashes, so the name carries no path, quote or
    non-ASCII character whatever the names hold: `alpha-render-2026-05-statement.pdf`."""
    if not _EXTENSION.match(extension):
        raise ValueError(f"Not a file extension: {extension!r}")
    words = [slug for part in parts if (slug := slugify(str(part)))]
    return f"{'-'.join(words) or 'download'}.{extension}"


def attach(response: HttpResponseBase, filename: str) -> HttpResponseBase:
    """Mark the response as a download saved under `filename` (from download_filename)."""
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_response(filename: str, lines: Iterable[str]) -> StreamingHttpResponse:
    return attach(StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8"), filename)
