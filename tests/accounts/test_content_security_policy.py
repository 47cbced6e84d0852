"""Content-Security-Policy: every response carries it, and no page needs an inline script."""

from html.parser import HTMLParser
from urllib.parse import urlencode

from django.urls import reverse

from statements.models import Statement
from statements.services.chart_cache import statement_charts_refresh
from tests.statements.world import StatementWorld

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(header: str) -> dict[str, str]:
    """The policy's directives by name (django-csp writes them in no fixed order)."""
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


class _ScriptParser(HTMLParser):
    """Collects every <script> element's attributes and every inline event handler."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        self.handlers += [f"<{tag} {name}>" for name, _ in attrs if name.startswith("on")]


def parse(response: object) -> _ScriptParser:
    parser = _ScriptParser()
    parser.feed(response.content.decode())
    return parser


def inline_code(parser: _ScriptParser) -> list[dict[str, str | None]]:
    """Scripts the browser would run from the page itself (data blocks only carry JSON)."""
    return [
        attrs
        for attrs in parser.scripts
        if "src" not in attrs and attrs.get("type") != "application/json"
    ]


class ContentSecurityPolicyTests(StatementWorld):
    def pages(self) -> dict[str, object]:
        # What a worker does after each poll: the panel only reads the chart cache.
        statement_charts_refresh(statement_ids=Statement.objects.values_list("id", flat=True))
        """A page of each kind, the statement panel with its charts among them."""
        panel = f"{reverse('statements:panel')}?{urlencode({'license': self.license.uuid})}"
        responses = {"login": self.client.get(reverse("login"))}
        self.client.force_login(self.owner)
        for path in (panel, reverse("accounts:home"), reverse("statements:balances")):
            responses[path] = self.client.get(path)
        responses["api docs"] = self.client.get(reverse("api-docs"))
        self.client.force_login(self.staff)
        responses["admin"] = self.client.get(reverse("admin:index"))
        return responses

    def test_every_page_carries_the_policy(self) -> None:
        for name, response in self.pages().items():
            with self.subTest(page=name):
                self.assertEqual(response.status_code, 200)
                self.assertEqual(directives(response["Content-Security-Policy"]), POLICY)

    def test_no_page_has_inline_script_or_event_handlers(self) -> None:
        for name, response in self.pages().items():
            with self.subTest(page=name):
                parser = parse(response)
                self.assertEqual(inline_code(parser), [])
                self.assertEqual(parser.handlers, [])

    def test_the_charts_travel_as_json_data_for_our_static_script(self) -> None:
        response = self.pages()[
            f"{reverse('statements:panel')}?{urlencode({'license': self.license.uuid})}"
        ]
        scripts = parse(response).scripts
        figures = [attrs["id"] for attrs in scripts if attrs.get("type") == "application/json"]
        # The cache is jsonb, which keeps its own key order; the script finds figures by id.
        self.assertEqual(
            sorted(figures),
            [
                "figure-hourly-cost",
                "figure-hourly-machine_type",
                "figure-hourly-machines",
                "figure-hourly-pool",
                "figure-hourly-region",
                "figure-pie-machine_type",
                "figure-pie-pool",
                "figure-pie-region",
            ],
        )
        self.assertEqual(
            [attrs["src"] for attrs in scripts if "src" in attrs],
            [
                "/static/vendor/plotly/plotly.min.js",
                "/static/vendor/bootstrap/js/bootstrap.bundle.min.js",
                "/static/js/submit-on-change.js",
                "/static/statements/panel.js",
            ],
        )
