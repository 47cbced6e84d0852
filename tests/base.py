"""The people every test class starts with, built once per class (setUpTestData):

- `account` (a customer aggregator) with one tenant `tenant`;
- `owner` (role owner of `account`) and `teammate` (read-only member of `account`);
- `outsider`, owner of the unrelated `outsider_account`;
- `staff`, platform staff who sees everything.

Plus helpers to call the API with a Bearer key, read page tables and CSV downloads, and run a
management command as its command line would.
"""

import csv
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from html.parser import HTMLParser
from typing import Any
from unittest import mock

from django.core.management import ManagementUtility
from django.test import TestCase
from django.test.client import Client
from django.urls import reverse

from accounts.models import Account, AccountKind, ApiKey, Role
from accounts.services import api_key_create

from .factories import AccountFactory, MembershipFactory, UserFactory


class _TableParser(HTMLParser):
    """Collects the body rows of every <table> as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._in_body = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None
        elif tag == "td" and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_tables(response: Any) -> list[list[list[str]]]:
    """Every table of a page as rows of cell texts (header rows left out)."""
    parser = _TableParser()
    parser.feed(response.content.decode())
    return parser.tables


def csv_rows(response: Any) -> list[list[str]]:
    """A (streamed) CSV download parsed into rows, header first."""
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def run_cli(*argv: str) -> tuple[int, str, str]:
    """Run a command the way `python manage.py ...` does: (exit status, stdout, stderr).
    The command closes every connection when it ends; that would end the test's transaction."""
    out, err = io.StringIO(), io.StringIO()
    status = 0
    with (
        redirect_stdout(out),
        redirect_stderr(err),
        mock.patch("django.core.management.base.connections.close_all"),
    ):
        try:
            ManagementUtility(["manage.py", *argv]).execute()
        except SystemExit as exc:
            status = exc.code
    return status, out.getvalue(), err.getvalue()


class BillingTestCase(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.platform = AccountFactory(name="Platform", slug="platform", kind=AccountKind.PLATFORM)
        cls.account = AccountFactory(name="Alpha Devices", slug="alpha", parent=cls.platform)
        cls.tenant = AccountFactory(name="Alpha Tenant", slug="alpha-tenant", parent=cls.account)
        cls.outsider_account = AccountFactory(
            name="Outsider Co", slug="outsider", parent=cls.platform
        )
        cls.owner = UserFactory(username="owner")
        cls.teammate = UserFactory(username="teammate")
        cls.outsider = UserFactory(username="outsider")
        cls.staff = UserFactory(username="staff", is_staff=True)
        MembershipFactory(user=cls.owner, account=cls.account, role=Role.OWNER)
        MembershipFactory(user=cls.teammate, account=cls.account, role=Role.MEMBER)
        MembershipFactory(user=cls.outsider, account=cls.outsider_account, role=Role.OWNER)

    # -- pages -------------------------------------------------------------------------------

    def login(self, user: Any) -> Client:
        self.client.force_login(user)
        return self.client

    def switch_to(self, account: Account) -> None:
        self.client.post(reverse("accounts:switch"), {"account": str(account.uuid)})

    # -- API ---------------------------------------------------------------------------------

    @staticmethod
    def make_key(role: str, account: Account | None = None, **extra: Any) -> tuple[ApiKey, str]:
        return api_key_create(actor=None, name=f"{role} key", role=role, account=account, **extra)

    def api(
        self, method: str, path: str, key: str | None = None, data: Any = None, **extra: Any
    ) -> Any:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
        body = json.dumps(data) if data is not None else None
        call = getattr(self.client, method.lower())
        if body is None:
            return call(path, **headers, **extra)
        return call(path, data=body, content_type="application/json", **headers, **extra)
