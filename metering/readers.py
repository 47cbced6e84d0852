"""Readers for bulk usage files: JSON Lines and CSV with the API's field names."""

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

INTEGER_FIELDS = ("duration_seconds", "count")
_INTEGER = re.compile(r"^-?\d+$")


class UnreadableLine(ValueError):
    """A line that is not a JSON object; ingest reports it as rejected."""


def file_format(path: Path, declared: str | None) -> str:
    if declared:
        return declared
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def read_jsonl(stream: IO[str]) -> Iterator[Any]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            yield UnreadableLine(f"line {number}: {exc.msg}")


def read_csv(stream: IO[str]) -> Iterator[dict[str, Any]]:
    """Rows as the API would send them: empty cells absent, whole numbers as integers."""
    for row in csv.DictReader(stream):
        event = {key: value for key, value in row.items() if key and value not in ("", None)}
        for name in INTEGER_FIELDS:
            value = event.get(name)
            if isinstance(value, str) and _INTEGER.match(value):
                event[name] = int(value)
        yield event
