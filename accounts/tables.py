"""Tables for account pages."""

import json

import django_tables2 as tables
from django.utils.html import format_html

from .columns import BooleanColumn, CountColumn, DateTimeColumn
from .models import Account, AuditEvent, Membership


class AccountTable(tables.Table):
    name = tables.LinkColumn("accounts:detail", args=[tables.A("uuid")])
    kind = tables.Column()
    parent = tables.Column(verbose_name="Parent", accessor="parent__name", order_by="parent__name")
    organization = tables.Column(verbose_name="Organization / team")
    currency = tables.Column()
    business_model = tables.Column(verbose_name="Business model")
    tenant_count = CountColumn(verbose_name="Tenants")
    is_active = BooleanColumn(verbose_name="Active")
    created_at = DateTimeColumn(verbose_name="Created", format="Y-m-d")

    class Meta:
        model = Account
        fields = ()
        sequence = (
            "name",
            "kind",
            "parent",
            "organization",
            "currency",
            "business_model",
            "tenant_count",
            "is_active",
            "created_at",
        )
        order_by = ("name",)


class MembershipTable(tables.Table):
    username = tables.Column(accessor="user__username", verbose_name="User")
    email = tables.Column(accessor="user__email", verbose_name="E-mail")
    role = tables.Column()
    created_at = DateTimeColumn(verbose_name="Member since", format="Y-m-d")

    class Meta:
        model = Membership
        fields = ()
        empty_text = "No members yet."
        sequence = ("username", "email", "role", "created_at")
        order_by = ("username",)


def _values(value: dict | None) -> str:
    return "" if not value else json.dumps(value, sort_keys=True)


def _collapsed(value: dict | None) -> str:
    """The changed fields by name; the values open on click (a <details>, no JavaScript)."""
    if not value:
        return "—"
    fields = ", ".join(sorted(value))
    return format_html(
        '<details><summary class="small">{}</summary><code class="small text-wrap">{}</code>'
        "</details>",
        fields if len(fields) <= 60 else fields[:57] + "…",
        _values(value),
    )


class AuditEventTable(tables.Table):
    created_at = DateTimeColumn(verbose_name="When (UTC)", format="Y-m-d H:i:s")
    actor_label = tables.Column(verbose_name="Who")
    actor_type = tables.Column(verbose_name="Via")
    account = tables.Column(accessor="account__name", verbose_name="Account", orderable=False)
    action = tables.Column()
    object_type = tables.Column(verbose_name="Object type")
    object_id = tables.Column(verbose_name="Object id")
    old_values = tables.Column(verbose_name="Old values", orderable=False)
    new_values = tables.Column(verbose_name="New values", orderable=False)

    class Meta:
        model = AuditEvent
        fields = ()
        sequence = (
            "created_at",
            "actor_label",
            "actor_type",
            "account",
            "action",
            "object_type",
            "object_id",
            "old_values",
            "new_values",
        )
        order_by = ("-created_at",)

    def render_old_values(self, value: dict | None) -> str:
        return _collapsed(value)

    def render_new_values(self, value: dict | None) -> str:
        return _collapsed(value)

    def value_old_values(self, value: dict | None) -> str:
        return _values(value)

    def value_new_values(self, value: dict | None) -> str:
        return _values(value)
