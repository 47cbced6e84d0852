"""Reading billing pages in tests: figures by their data-figure mark, and table rows."""

import re
from html.parser import HTMLParser
from typing import Any


def figures(response: Any) -> dict[str, str]:
    """{"devices": "2", ...} from the page's data-figure elements (first of each name)."""
    found: dict[str, str] = {}
    for name, text in re.findall(r'data-figure="([^"]+)">([^<]*)<', response.content.decode()):
        found.setdefault(name, text.strip())
    return found


class _Rows(HTMLParser):
    def __init__(self, table_id: str | None) -> None:
        super().__init__()
        self.table_id = table_id
        self.depth = 0  # inside the wanted table's tbody
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.in_table = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if tag == "table" and (self.table_id is None or attrs.get("id") == self.table_id):
            self.in_table = not self.rows
        elif self.in_table and tag == "tbody":
            self.depth = 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag == "td":
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tbody" and self.depth:
            self.depth = 0
            self.in_table = False

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table_rows(response: Any, table_id: str | None = None) -> list[list[str]]:
    """The body rows of the first table (or the table with this id) as cell texts."""
    parser = _Rows(table_id)
    parser.feed(response.content.decode())
    return parser.rows


def csv_text(response: Any) -> str:
    return b"".join(response.streaming_content).decode()
