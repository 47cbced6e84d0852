"""Admin for the price catalog and licenses. Rates are add-only and go through the services,
so a rate can never start under usage that is already priced; every change is audited."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin import AuditedModelAdmin

from . import services
from .models import (
    License,
    LicenseRate,
    LicenseType,
    MachineRate,
    MachineType,
    Pool,
    Region,
)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MachineRateInline(_ReadOnlyInline):
    model = MachineRate
    fields = ("region", "hourly_rate", "effective_from", "created_at")
    readonly_fields = fields
    ordering = ("region__name", "-effective_from")
    verbose_name_plural = "rates (add one under Machine rates)"


class LicenseRateInline(_ReadOnlyInline):
    model = LicenseRate
    fields = ("hourly_rate", "effective_from", "created_at")
    readonly_fields = fields
    ordering = ("-effective_from",)
    verbose_name_plural = "rates (add one under License rates)"


class _NamedAdmin(AuditedModelAdmin):
    """Names are what usage refers to: set once, never renamed."""

    search_fields = ("name",)
    list_display = ("name", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        return ("name", "created_at") if obj is not None else ("created_at",)


@admin.register(Region)
class RegionAdmin(_NamedAdmin):
    pass


@admin.register(Pool)
class PoolAdmin(_NamedAdmin):
    pass


class _TypeForm(forms.ModelForm):
    hourly_rate = forms.DecimalField(
        min_value=0, max_digits=18, decimal_places=6, help_text="The first rate, per hour."
    )


@admin.register(MachineType)
class MachineTypeAdmin(_NamedAdmin):
    inlines = (MachineRateInline,)
    readonly_fields = ("uuid", "created_at")

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> type:
        if obj is None:
            kwargs["form"] = _TypeForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        return ("name", "uuid", "created_at") if obj is not None else ("uuid", "created_at")

    def save_model(self, request: HttpRequest, obj: MachineType, form: Any, change: bool) -> None:
        if change:
            return
        created = services.machine_type_create(
            actor=request.user, name=obj.name, hourly_rate=form.cleaned_data["hourly_rate"]
        )
        obj.pk, obj.uuid = created.pk, created.uuid


@admin.register(LicenseType)
class LicenseTypeAdmin(MachineTypeAdmin):
    inlines = (LicenseRateInline,)

    def save_model(self, request: HttpRequest, obj: LicenseType, form: Any, change: bool) -> None:
        if change:
            return
        created = services.license_type_create(
            actor=request.user, name=obj.name, hourly_rate=form.cleaned_data["hourly_rate"]
        )
        obj.pk, obj.uuid = created.pk, created.uuid


class MachineRateForm(forms.ModelForm):
    region_name = forms.CharField(
        required=False, label="Region", help_text="Empty for the default rate of every region."
    )

    class Meta:
        model = MachineRate
        fields = ("machine_type", "hourly_rate", "effective_from")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors:
            try:
                services.machine_rate_check(
                    machine_type=data["machine_type"],
                    hourly_rate=data["hourly_rate"],
                    effective_from=data["effective_from"],
                    region=data.get("region_name") or None,
                )
            except ValidationError as exc:
                raise ValidationError(exc.messages) from exc
        return data


class LicenseRateForm(forms.ModelForm):
    class Meta:
        model = LicenseRate
        fields = ("license_type", "hourly_rate", "effective_from")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors:
            try:
                services.license_rate_check(
                    license_type=data["license_type"],
                    hourly_rate=data["hourly_rate"],
                    effective_from=data["effective_from"],
                )
            except ValidationError as exc:
                raise ValidationError(exc.messages) from exc
        return data


class _AddOnlyRateAdmin(admin.ModelAdmin):
    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(MachineRate)
class MachineRateAdmin(_AddOnlyRateAdmin):
    form = MachineRateForm
    list_display = ("machine_type", "region", "hourly_rate", "effective_from", "created_at")
    list_filter = ("machine_type", "region")
    list_select_related = ("machine_type", "region")
    fields = ("machine_type", "region_name", "hourly_rate", "effective_from")

    def save_model(self, request: HttpRequest, obj: MachineRate, form: Any, change: bool) -> None:
        data = form.cleaned_data
        created = services.machine_rate_add(
            actor=request.user,
            machine_type=data["machine_type"],
            hourly_rate=data["hourly_rate"],
            effective_from=data["effective_from"],
            region=data.get("region_name") or None,
        )
        obj.pk = created.pk


@admin.register(LicenseRate)
class LicenseRateAdmin(_AddOnlyRateAdmin):
    form = LicenseRateForm
    list_display = ("license_type", "hourly_rate", "effective_from", "created_at")
    list_filter = ("license_type",)
    list_select_related = ("license_type",)

    def save_model(self, request: HttpRequest, obj: LicenseRate, form: Any, change: bool) -> None:
        data = form.cleaned_data
        created = services.license_rate_add(
            actor=request.user,
            license_type=data["license_type"],
            hourly_rate=data["hourly_rate"],
            effective_from=data["effective_from"],
        )
        obj.pk = created.pk


@admin.register(License)
class LicenseAdmin(AuditedModelAdmin):
    list_display = ("name", "account", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "=uuid", "account__name")
    autocomplete_fields = ("account",)
    readonly_fields = ("uuid", "created_at")
    list_select_related = ("account",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[License]:
        return super().get_queryset(request).select_related("account")
