"""Readers for bulk usage files: JSON Lines and CSV with the API's field names."""

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

INTEGER_FIELDS = ("duration_seconds", "count")
# Up to 30 digits, far beyond any column: a longer number stays text (int() refuses thousands of
# digits), and validation refuses it like any other number out of range.
_INTEGER = re.compile(r"^-?\d{1,30}$")
# Bytes that are not UTF-8 become lone surrogates, which validation refuses event by event,
# rather than stopping the whole file.
ENCODING_ERRORS = "surrogateescape"

ERR_LINE_TOO_DEEP = "line {number}: nested too deeply."
ERR_LINE_NUMBER_TOO_LONG = "line {number}: a number with more digits than can be read."


class UnreadableLine(ValueError):
    """A line that is not a JSON object; ingest reports it as rejected."""


def file_format(path: Path, declared: str | None) -> str:
    if declared:
        return declared
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def read_jsonl(stream: IO[str], first_line: int = 1) -> Iterator[Any]:
    """Events of a JSON Lines stream; `first_line` numbers its first line (a part of a file)."""
    for number, line in enumerate(stream, start=first_line):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            yield UnreadableLine(f"line {number}: {exc.msg}")
        except ValueError:
            # The one other thing json.loads refuses: an integer of thousands of digits.
            yield UnreadableLine(ERR_LINE_NUMBER_TOO_LONG.format(number=number))
        except RecursionError:
            yield UnreadableLine(ERR_LINE_TOO_DEEP.format(number=number))


def read_csv(stream: IO[str], header: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Rows as the API would send them: empty cells absent, whole numbers as integers. The
    stream's first row names the fields, unless `header` does (a part of a file)."""
    rows = csv.reader(stream)
    if header is None:
        header = next(rows, None)
        if header is None:
            return
    # Blank rows are skipped, cells beyond the header dropped, missing ones absent.
    blank_name = "" in header
    integers = [name for name in INTEGER_FIELDS if name in header]
    for row in rows:
        if not row:
            continue
        event = dict(zip(header, row, strict=False))
        if blank_name or "" in row:
            event = {key: value for key, value in event.items() if key and value}
        for name in integers:
            value = event.get(name)
            if value is not None and _INTEGER.match(value):
                event[name] = int(value)
        yield event
