"""Admin for platform staff. Every save and delete made here is written to the audit log."""

from typing import Any

from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import NestedObjects
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection, router, transaction
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import cached_property

from . import services
from .audit import record_change, record_delete, snapshot
from .models import Account, ApiKey, AuditEvent, BillingSettings, JobRun, Membership


class EstimatedCountPaginator(Paginator):
    """Large tables (audit log, job runs, usage) are not counted row by row: unfiltered lists use
    the planner's estimate; filtered lists count only what the filter selects."""

    @cached_property
    def count(self) -> int:
        query = self.object_list.query
        if not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
                    [query.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > 0:
                return row[0]
        return super().count


def delete_audited(request: HttpRequest, obj: Model) -> None:
    """Delete `obj` and record it and every row the delete cascades to (members, keys...)."""
    collector = NestedObjects(using=router.db_for_write(type(obj)))
    collector.collect([obj])
    cascaded = sorted(
        (
            row
            for model, rows in collector.model_objs.items()
            if not model._meta.auto_created
            for row in rows
            if row is not obj
        ),
        key=lambda row: (row._meta.label_lower, row.pk),
    )
    doomed = [(row, snapshot(row)) for row in [obj, *cascaded]]
    with transaction.atomic():
        obj.delete()
        for row, old in doomed:
            record_delete(actor=request.user, instance=row, old=old)


class AuditedModelAdmin(admin.ModelAdmin):
    """Writes an audit row for each create, change and delete, inlines included."""

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        old = snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        record_change(actor=request.user, instance=obj, old=old)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        delete_audited(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: Any, change: bool
    ) -> None:
        olds = {
            f.instance.pk: snapshot(type(f.instance).objects.get(pk=f.instance.pk))
            for f in formset.forms
            if f.instance.pk and f.has_changed()
        }
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            delete_audited(request, obj)
        for obj in instances:
            obj.save()
            record_change(actor=request.user, instance=obj, old=olds.get(obj.pk))
        formset.save_m2m()


class ReadOnlyAdmin(admin.ModelAdmin):
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class AccountAdminForm(forms.ModelForm):
    """Checks the kind against the parent (and, on a tenant row, against the account above)."""

    class Meta:
        model = Account
        fields = (
            "name",
            "slug",
            "kind",
            "parent",
            "currency",
            "organization",
            "business_model",
            "attributes",
            "is_active",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind:
            try:
                services.validate_account_parent(
                    kind=kind, parent=cleaned.get("parent"), account_id=self.instance.pk
                )
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    # On a tenant row the parent is the hidden link to the account above.
                    shown = field in self.fields and not self.fields[field].widget.is_hidden
                    self.add_error(field if shown else "kind", messages)
        return cleaned


class TenantInline(admin.TabularInline):
    model = Account
    form = AccountAdminForm
    fk_name = "parent"
    fields = ("name", "slug", "kind", "currency", "organization", "is_active")
    extra = 0
    show_change_link = True
    verbose_name = "tenant"
    verbose_name_plural = "tenants (accounts below this one)"


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role")
    autocomplete_fields = ("user",)
    extra = 0


@admin.register(Account)
class AccountAdmin(AuditedModelAdmin):
    form = AccountAdminForm
    list_display = (
        "name",
        "slug",
        "kind",
        "parent",
        "currency",
        "business_model",
        "is_active",
        "created_at",
    )
    list_filter = ("kind", "business_model", "is_active", "currency")
    search_fields = ("name", "slug", "organization", "uuid")
    readonly_fields = ("uuid", "created_at")
    autocomplete_fields = ("parent",)
    prepopulated_fields = {"slug": ("name",)}
    inlines = (TenantInline, MembershipInline)
    list_select_related = ("parent",)


@admin.register(Membership)
class MembershipAdmin(AuditedModelAdmin):
    list_display = ("user", "account", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__email", "account__name")
    autocomplete_fields = ("user", "account")
    list_select_related = ("user", "account")


@admin.register(ApiKey)
class ApiKeyAdmin(AuditedModelAdmin):
    list_display = (
        "name",
        "prefix",
        "role",
        "account",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("role",)
    search_fields = ("name", "prefix", "account__name")
    readonly_fields = ("uuid", "prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    autocomplete_fields = ("account",)
    actions = ("revoke",)
    list_select_related = ("account",)

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return ["name", "role", "account", "expires_at"]
        return ["name", "role", "account", "expires_at", *self.readonly_fields]

    def get_readonly_fields(
        self, request: HttpRequest, obj: ApiKey | None = None
    ) -> tuple[str, ...]:
        if obj is None:
            return ()
        return (*self.readonly_fields, "role", "account")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, secret = services.api_key_create(
            actor=request.user,
            name=obj.name,
            role=obj.role,
            account=obj.account,
            expires_at=obj.expires_at,
        )
        obj.pk, obj.prefix = key.pk, key.prefix
        self.message_user(
            request,
            f"The new key is {secret} — copy it now, it will not be shown again.",
            messages.WARNING,
        )

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            services.api_key_revoke(actor=request.user, key=key)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "actor_label",
        "actor_type",
        "account",
        "action",
        "object_type",
        "object_id",
    )
    list_filter = ("action", "actor_type", "object_type")
    search_fields = ("=object_id", "actor_label", "object_type")
    date_hierarchy = "created_at"
    list_select_related = ("account",)


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ("name", "status", "started_at", "finished_at", "counts")
    list_filter = ("status", "name")
    search_fields = ("name", "error")
    date_hierarchy = "started_at"


@admin.register(BillingSettings)
class BillingSettingsAdmin(AuditedModelAdmin):
    """One row of site-wide settings: the list opens it, it cannot be added twice or deleted."""

    fields = ("use_overlap_usage_selection", "default_billing_aggregation_monthly", "updated_at")
    readonly_fields = ("updated_at",)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        settings_row = BillingSettings.load()
        return HttpResponseRedirect(
            reverse("admin:accounts_billingsettings_change", args=[settings_row.pk])
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not BillingSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class AuditedUserAdmin(AuditedModelAdmin, UserAdmin):
    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            services.user_password_changed(actor=request.user, user=User.objects.get(pk=id))
        return response


admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)
admin.site.site_header = "Billing administration"
admin.site.site_title = "Billing admin"


# django-axes registers its own admin for failed sign-ins; ours audits the unlock (deleting a
# locked name's or address's attempts) like every other delete made in the admin.
admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(AuditedModelAdmin, AxesAccessAttemptAdmin):
    pass
