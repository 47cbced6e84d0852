"""Admin for statements and credits. Statements are read-only (the poll and the close write
them); the two jobs can be run from here. Credits are added and removed through the services,
so a closed month is refused with a message and every change is audited."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.admin import ReadOnlyAdmin
from accounts.jobs import run_job
from accounts.models import JobStatus

from .models import Credit, Statement
from .services.close import close_period_check, statements_close
from .services.credits import credit_add, credit_check, credit_delete
from .services.poll import statements_poll


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = (
        "license",
        "account",
        "period",
        "status",
        "starting_balance",
        "total_credits",
        "license_charges",
        "machine_charges",
        "ending_balance",
        "line_count",
        "updated_at",
    )
    list_filter = ("status", "period")
    search_fields = ("license__name", "=license__uuid", "account__name")
    list_select_related = ("license", "account")
    date_hierarchy = "period"
    actions = ("poll_now", "close_through_selected")

    @admin.action(description="Price new usage now (the two-minute poll, once)")
    def poll_now(self, request: HttpRequest, queryset: QuerySet[Statement]) -> None:
        run = run_job("poll_events", lambda run: statements_poll().counts())
        self._report(request, run, "Poll")

    @admin.action(description="Close the selected months and every earlier one")
    def close_through_selected(self, request: HttpRequest, queryset: QuerySet[Statement]) -> None:
        through = max(queryset.values_list("period", flat=True))
        try:
            close_period_check(through, timezone.now())
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        run = run_job("close_statements", lambda run: statements_close(through=through).counts())
        self._report(request, run, "Close")

    def _report(self, request: HttpRequest, run: Any, name: str) -> None:
        if run.status == JobStatus.SKIPPED:
            self.message_user(
                request, f"{name} skipped: another run is going on.", messages.WARNING
            )
        else:
            self.message_user(request, f"{name} done: {run.counts}", messages.SUCCESS)


class CreditForm(forms.ModelForm):
    class Meta:
        model = Credit
        fields = ("license", "amount", "credited_at", "invoice_number", "invoice_date")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors:
            try:
                credit_check(
                    license=data["license"],
                    amount=data["amount"],
                    credited_at=data["credited_at"],
                    invoice_number=data["invoice_number"],
                    invoice_date=data["invoice_date"],
                )
            except ValidationError as exc:
                raise ValidationError(exc.messages) from exc
        return data


@admin.register(Credit)
class CreditAdmin(admin.ModelAdmin):
    form = CreditForm
    list_display = ("invoice_number", "license", "account", "amount", "credited_at", "invoice_date")
    list_filter = ("credited_at",)
    search_fields = ("invoice_number", "license__name", "account__name")
    list_select_related = ("license", "account")
    autocomplete_fields = ("license",)
    date_hierarchy = "credited_at"

    def has_change_permission(self, request: HttpRequest, obj: Credit | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Credit | None = None) -> bool:
        # A credit on a closed statement stays: the statement never changes.
        closed = obj is not None and obj.statement.is_closed
        return super().has_delete_permission(request, obj) and not closed

    def save_model(self, request: HttpRequest, obj: Credit, form: Any, change: bool) -> None:
        data = form.cleaned_data
        credit, _ = credit_add(
            actor=request.user,
            license=data["license"],
            amount=data["amount"],
            credited_at=data["credited_at"],
            invoice_number=data["invoice_number"],
            invoice_date=data["invoice_date"],
        )
        obj.pk = credit.pk

    def delete_model(self, request: HttpRequest, obj: Credit) -> None:
        credit_delete(actor=request.user, credit=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Credit]) -> None:
        for credit in queryset:
            try:
                credit_delete(actor=request.user, credit=credit)
            except ValidationError as exc:
                self.message_user(request, f"{credit}: {' '.join(exc.messages)}", messages.ERROR)
