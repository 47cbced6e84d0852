"""Admin for platform staff: service packages are created and renewed here through the same
services as the API (so the ledger and the audit log follow); campaigns and the ledger are read
only. The package expiry and the report job can be run from here."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts.admin import ReadOnlyAdmin
from accounts.jobs import run_job

from .models import QuotaLedgerEntry, ServicePackage, UpdateCampaign
from .services.campaigns import campaign_finish
from .services.packages import package_create, package_renew, validate_new_package
from .tasks import EXPIRY_JOB, REPORT_JOB, expire_packages_work, generate_reports_work


class LedgerInline(admin.TabularInline):
    model = QuotaLedgerEntry
    fields = ("occurred_at", "event_type", "campaign", "tokens", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("occurred_at", "id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PackageAddForm(forms.ModelForm):
    class Meta:
        model = ServicePackage
        fields = ("account", "tokens", "starts_at")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("account") is not None and data.get("tokens"):
            try:
                validate_new_package(
                    account=data["account"], tokens=data["tokens"], now=timezone.now()
                )
            except ValidationError as exc:
                raise forms.ValidationError(exc.messages) from exc
        return data


class RenewForm(forms.Form):
    tokens = forms.IntegerField(min_value=1, help_text="New tokens; what is left carries over.")


@admin.register(ServicePackage)
class ServicePackageAdmin(admin.ModelAdmin):
    list_display = ("account", "status", "tokens", "carried_over", "starts_at", "expires_at")
    list_filter = ("status",)
    search_fields = ("account__name", "account__slug", "uuid")
    list_select_related = ("account",)
    autocomplete_fields = ("account",)
    inlines = (LedgerInline,)
    change_form_template = "admin/quotas/servicepackage/change_form.html"
    change_list_template = "admin/quotas/servicepackage/change_list.html"

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.inlines

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = PackageAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("account", "tokens", "starts_at")
        return (
            "uuid",
            "account",
            "status",
            "tokens",
            "carried_over",
            "starts_at",
            "expires_at",
            "ended_at",
            "renewed_from",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.get_fields(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: ServicePackage, form: Any, change: bool
    ) -> None:
        if change:
            return
        created = package_create(
            actor=request.user, account=obj.account, tokens=obj.tokens, starts_at=obj.starts_at
        )
        obj.pk = created.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The ledger is written by the services, never through the inline."""

    def get_urls(self) -> list:
        own = [
            path(
                "<int:package_id>/renew/",
                self.admin_site.admin_view(self.renew_view),
                name="quotas_servicepackage_renew",
            ),
            path(
                "run-expiry/",
                self.admin_site.admin_view(self.run_expiry_view),
                name="quotas_servicepackage_run_expiry",
            ),
            path(
                "run-reports/",
                self.admin_site.admin_view(self.run_reports_view),
                name="quotas_servicepackage_run_reports",
            ),
        ]
        return own + super().get_urls()

    def renew_view(self, request: HttpRequest, package_id: int) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        package = get_object_or_404(ServicePackage, pk=package_id)
        form = RenewForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                renewal = package_renew(
                    actor=request.user, package=package, tokens=form.cleaned_data["tokens"]
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                self.message_user(
                    request,
                    f"Renewed: {renewal.tokens} new tokens, {renewal.carried_over} carried over, "
                    f"until {renewal.expires_at:%Y-%m-%d}.",
                )
                return HttpResponseRedirect(
                    reverse("admin:quotas_servicepackage_change", args=[renewal.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Renew {package}",
            "package": package,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/quotas/servicepackage/renew.html", context)

    def _run(self, request: HttpRequest, name: str, work: Any) -> HttpResponse:
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        run = run_job(name, work)
        self.message_user(request, f"{name}: {run.get_status_display()} {run.counts}")
        return HttpResponseRedirect(reverse("admin:quotas_servicepackage_changelist"))

    def run_expiry_view(self, request: HttpRequest) -> HttpResponse:
        return self._run(request, EXPIRY_JOB, expire_packages_work)

    def run_reports_view(self, request: HttpRequest) -> HttpResponse:
        return self._run(request, REPORT_JOB, generate_reports_work)


@admin.register(UpdateCampaign)
class UpdateCampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "status", "devices", "updates", "returned", "started_at")
    list_filter = ("status",)
    search_fields = ("name", "account__name", "uuid")
    list_select_related = ("account",)
    readonly_fields = (
        "uuid",
        "account",
        "package",
        "name",
        "devices",
        "status",
        "started_at",
        "ended_at",
        "updates",
        "returned",
    )
    actions = ("finish",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Finish the selected campaigns (release unused tokens)")
    def finish(self, request: HttpRequest, queryset: QuerySet[UpdateCampaign]) -> None:
        for campaign in queryset.order_by("pk"):
            campaign_finish(actor=request.user, campaign=campaign)
        self.message_user(request, f"{queryset.count()} campaigns finished or already ended.")


@admin.register(QuotaLedgerEntry)
class QuotaLedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "account", "event_type", "campaign", "tokens", "note")
    list_filter = ("event_type",)
    search_fields = ("account__name", "campaign__name")
    list_select_related = ("account", "campaign")
    date_hierarchy = "occurred_at"
