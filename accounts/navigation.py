"""The site's navigation. A section appears once its app serves the named URL, so the header
grows as apps land without ever linking to a page that does not exist."""

from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse

from .roles import Capability


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    capability: Capability = Capability.READ


@dataclass(frozen=True)
class NavSection:
    label: str
    items: tuple[NavItem, ...] = field(default_factory=tuple)


NAVIGATION: tuple[NavSection, ...] = (
    NavSection("Accounts", (NavItem("Accounts", "accounts:home"),)),
    NavSection("Statements", (NavItem("Statements", "statements:panel"),)),
    NavSection("Balances", (NavItem("Balances", "statements:balances"),)),
    NavSection("Transactions", (NavItem("Transactions", "statements:transactions"),)),
    NavSection("Invoices", (NavItem("Invoices", "invoices:list"),)),
    NavSection("Usage", (NavItem("Usage", "invoices:usage"),)),
    NavSection(
        "Billing",
        (
            NavItem("My billing", "quotas:my_billing"),
            NavItem("Billing grid", "invoices:grid"),
            NavItem("Active devices", "quotas:active_devices"),
            NavItem("Usage reports", "quotas:usage_reports"),
            NavItem("Service package history", "quotas:package_history"),
        ),
    ),
    NavSection("Audit log", (NavItem("Audit log", "accounts:audit_log", Capability.MANAGE),)),
    NavSection(
        "Health",
        (
            NavItem("Health", "accounts:health", Capability.PLATFORM),
            NavItem("Usage imports", "metering_imports:list", Capability.PLATFORM),
        ),
    ),
)


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def visible_navigation(capabilities: frozenset[Capability]) -> list[dict]:
    """Sections with at least one served, permitted item: [{label, items: [{label, url}]}]."""
    sections = []
    for section in NAVIGATION:
        items = [
            {"label": item.label, "url": url, "name": item.url_name}
            for item in section.items
            if item.capability in capabilities and (url := _url(item.url_name))
        ]
        if items:
            sections.append({"label": section.label, "items": items})
    return sections
