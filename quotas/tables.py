"""Tables for the billing pages."""

import django_tables2 as tables
from django.utils.html import format_html

from accounts.columns import CountColumn, DateTimeColumn, NumberColumn
from accounts.formats import format_count
from accounts.models import BusinessModel
from metering.models import DeviceMonth

from .models import QuotaLedgerEntry


class LedgerTable(tables.Table):
    occurred_at = DateTimeColumn(verbose_name="When (UTC)")
    event_type = tables.Column(verbose_name="Event type")
    campaign = tables.Column(
        accessor="campaign__name", verbose_name="Campaign", order_by="campaign__name"
    )
    campaign_account = tables.Column(
        accessor="campaign__account__name", verbose_name="Account", orderable=False
    )
    tokens = NumberColumn(verbose_name="Effect on quota")
    remaining_after = CountColumn(verbose_name="Remaining after")
    note = tables.Column(verbose_name="Detail", orderable=False)

    class Meta:
        model = QuotaLedgerEntry
        fields = ()
        sequence = (
            "occurred_at",
            "event_type",
            "campaign",
            "campaign_account",
            "tokens",
            "remaining_after",
            "note",
        )
        order_by = ("occurred_at",)

    def render_event_type(self, record: QuotaLedgerEntry) -> str:
        css = "success" if record.tokens > 0 else ("danger" if record.tokens < 0 else "secondary")
        return format_html(
            '<span class="badge rounded-pill text-bg-{} bg-opacity-75">{}</span>',
            css,
            record.get_event_type_display(),
        )

    def value_event_type(self, record: QuotaLedgerEntry) -> str:
        return record.get_event_type_display()

    def render_tokens(self, value: int) -> str:
        return ("+" if value > 0 else "") + format_count(value)

    def value_tokens(self, value: int) -> int:
        return value


class UsageReportTable(tables.Table):
    """One row per account in the month; the same columns whether the rows come from the
    generated reports or the live rollups."""

    account_name = tables.Column(verbose_name="Team name")
    organization = tables.Column(verbose_name="Organization")
    business_model = tables.Column(verbose_name="Business model")
    active_devices = CountColumn(verbose_name="Active devices")
    firmware_updates = CountColumn(verbose_name="Firmware updates")
    api_calls_total = CountColumn(verbose_name="API calls")
    account_id = tables.Column(
        accessor="uuid", verbose_name="Account ID", visible=False, orderable=False
    )

    class Meta:
        fields = ()
        sequence = (
            "account_name",
            "organization",
            "business_model",
            "active_devices",
            "firmware_updates",
            "api_calls_total",
            "account_id",
        )
        order_by = ("account_name",)
        attrs = {"class": "table table-sm table-hover align-middle", "id": "usage-reports"}

    def render_account_name(self, record: object, value: str) -> str:
        """The team name opens the account's pane on this page, keeping month and filters."""
        query = self.request.GET.copy()
        query["tenant"] = str(record.uuid)
        query.pop("tab", None)
        own_id = getattr(record, "account_id", None) or record.pk
        you = " (you)" if own_id == self.request.account.pk else ""
        return format_html(
            '<a href="?{}" class="fw-semibold tenant-link">{}</a>'
            '<span class="text-secondary small">{}</span>',
            query.urlencode(),
            value,
            you,
        )

    def value_account_name(self, value: str) -> str:
        return value

    def render_business_model(self, value: str) -> str:
        # Live rows are accounts (django-tables2 already shows the choice's label); generated
        # rows are reports, which keep the bare value.
        return BusinessModel(value).label if value in BusinessModel.values else value

    def value_business_model(self, value: str) -> str:
        return self.render_business_model(value)


class ActiveDeviceTable(tables.Table):
    account = tables.Column(accessor="account__name", verbose_name="Account")
    device_id = tables.Column(verbose_name="Device ID")
    endpoint_name = tables.Column(verbose_name="Endpoint name")
    first_seen_at = DateTimeColumn(verbose_name="First connection (UTC)")
    last_seen_at = DateTimeColumn(verbose_name="Last connection (UTC)")
    connections = CountColumn(verbose_name="Connections")

    class Meta:
        model = DeviceMonth
        fields = ()
        sequence = (
            "account",
            "device_id",
            "endpoint_name",
            "first_seen_at",
            "last_seen_at",
            "connections",
        )
        order_by = ("device_id",)
