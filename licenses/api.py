"""API: the price catalog (license types, machine types, their effective-dated rates) and
licenses. Reading needs a read key; changing the catalog or adding licenses needs an admin key."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsPlatformAdmin, ReadOrPlatform
from accounts.scoping import account_or_404, get_or_404, scope

from . import services
from .models import (
    RATE_DIGITS,
    RATE_PLACES,
    License,
    LicenseStatus,
    LicenseType,
    MachineRate,
    MachineType,
)

# DRF's own message repeats the value sent, which may be a lone surrogate no answer can render.
ERR_STATUS = "Must be one of: " + ", ".join(LicenseStatus.values) + "."


def _in_force(rates: list, moment: datetime) -> object | None:
    started = [r for r in rates if r.effective_from <= moment]
    return max(started, key=lambda r: r.effective_from) if started else None


# -- Serializers ---------------------------------------------------------------------------------


class RegionRatesField(serializers.DictField):
    """Region name -> hourly rate. The names are checked first: DRF keys a rate's error by its
    region's name, and a name that is not plain text (a lone surrogate) could not be rendered."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            for region in data:
                try:
                    services.clean_name(region, "region_rates")
                except DjangoValidationError as exc:
                    raise serializers.ValidationError(exc.message_dict["region_rates"]) from exc
        return super().to_internal_value(data)


class RateSerializer(serializers.Serializer):
    hourly_rate = serializers.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    effective_from = serializers.DateTimeField()
    region = serializers.CharField(allow_null=True, required=False)


class RateInputSerializer(serializers.Serializer):
    hourly_rate = serializers.DecimalField(
        max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, min_value=0
    )
    effective_from = serializers.DateTimeField()
    region = serializers.CharField(max_length=100, required=False, allow_blank=False)


class LicenseTypeInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    hourly_rate = serializers.DecimalField(
        max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, min_value=0
    )
    effective_from = serializers.DateTimeField(required=False)


class LicenseTypeSerializer(serializers.Serializer):
    """A license type as the API shows it; separate from its input because the rate in force
    is null until the first rate starts (a type may be created with a rate from a later day)."""

    id = serializers.UUIDField(source="uuid")
    name = serializers.CharField()
    hourly_rate = serializers.DecimalField(
        max_digits=RATE_DIGITS,
        decimal_places=RATE_PLACES,
        allow_null=True,
        help_text="The rate in force now; null until the first rate starts.",
    )
    rates = RateSerializer(many=True)

    def to_representation(self, instance: LicenseType) -> dict[str, Any]:
        rates = sorted(instance.rates.all(), key=lambda r: r.effective_from)
        current = _in_force(rates, timezone.now())
        return {
            "id": str(instance.uuid),
            "name": instance.name,
            "hourly_rate": None if current is None else str(current.hourly_rate),
            "rates": [
                {"hourly_rate": str(r.hourly_rate), "effective_from": r.effective_from}
                for r in rates
            ],
        }


class MachineTypeInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    hourly_rate = serializers.DecimalField(
        max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, min_value=0
    )
    region_rates = RegionRatesField(
        child=serializers.DecimalField(
            max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, min_value=0
        ),
        required=False,
    )
    effective_from = serializers.DateTimeField(required=False)


class MachineTypeSerializer(serializers.Serializer):
    """A machine type as the API shows it: its default and region rates in force now (null,
    or absent for a region, until they start) and every rate."""

    id = serializers.UUIDField(source="uuid")
    name = serializers.CharField()
    hourly_rate = serializers.DecimalField(
        max_digits=RATE_DIGITS,
        decimal_places=RATE_PLACES,
        allow_null=True,
        help_text="The default rate in force now; null until the first one starts.",
    )
    region_rates = serializers.DictField(
        child=serializers.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    )
    rates = RateSerializer(many=True)

    def to_representation(self, instance: MachineType) -> dict[str, Any]:
        now = timezone.now()
        rates = sorted(instance.rates.all(), key=lambda r: r.effective_from)
        by_region: dict[str | None, list[MachineRate]] = {}
        for rate in rates:
            by_region.setdefault(rate.region.name if rate.region_id else None, []).append(rate)
        current = {region: _in_force(group, now) for region, group in by_region.items()}
        default = current.pop(None, None)
        return {
            "id": str(instance.uuid),
            "name": instance.name,
            "hourly_rate": None if default is None else str(default.hourly_rate),
            "region_rates": {
                region: str(rate.hourly_rate)
                for region, rate in sorted(current.items())
                if rate is not None
            },
            "rates": [
                {
                    "hourly_rate": str(r.hourly_rate),
                    "effective_from": r.effective_from,
                    "region": r.region.name if r.region_id else None,
                }
                for r in rates
            ],
        }


class LicenseSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    account = serializers.UUIDField()
    name = serializers.CharField(max_length=200)
    status = serializers.ChoiceField(
        choices=LicenseStatus.choices, required=False, error_messages={"invalid_choice": ERR_STATUS}
    )
    created_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: License) -> dict[str, Any]:
        return {
            "id": str(instance.uuid),
            "account": str(instance.account.uuid),
            "name": instance.name,
            "status": instance.status,
            "created_at": instance.created_at,
        }


# -- Views ---------------------------------------------------------------------------------------


class LicenseTypeListCreateView(generics.ListCreateAPIView):
    serializer_class = LicenseTypeSerializer
    permission_classes = [ReadOrPlatform]

    def get_queryset(self) -> QuerySet[LicenseType]:
        return LicenseType.objects.prefetch_related("rates").order_by("name")

    @extend_schema(
        request=LicenseTypeInputSerializer,
        responses={201: LicenseTypeSerializer},
        summary="Create a license type with its hourly rate (admin key)",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = LicenseTypeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        license_type = services.license_type_create(actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(license_type).data, status=status.HTTP_201_CREATED)


class MachineTypeListCreateView(generics.ListCreateAPIView):
    serializer_class = MachineTypeSerializer
    permission_classes = [ReadOrPlatform]

    def get_queryset(self) -> QuerySet[MachineType]:
        rates = MachineRate.objects.select_related("region")
        return MachineType.objects.prefetch_related(Prefetch("rates", queryset=rates)).order_by(
            "name"
        )

    @extend_schema(
        request=MachineTypeInputSerializer,
        responses={201: MachineTypeSerializer},
        summary="Create a machine type with its hourly rate and optional region rates (admin key)",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = MachineTypeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        machine_type = services.machine_type_create(actor=request.user, **serializer.validated_data)
        return Response(
            self.get_serializer(self.get_queryset().get(pk=machine_type.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class MachineTypeRateView(APIView):
    permission_classes = [IsPlatformAdmin]

    @extend_schema(
        request=RateInputSerializer,
        responses={201: MachineTypeSerializer},
        summary="Add an hourly rate from a time on, for every region or one (admin key)",
    )
    def post(self, request: Request, machine_type_id: str) -> Response:
        machine_type = get_object_or_404(MachineType, uuid=machine_type_id)
        serializer = RateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.machine_rate_add(
            actor=request.user, machine_type=machine_type, **serializer.validated_data
        )
        fresh = MachineTypeListCreateView().get_queryset().get(pk=machine_type.pk)
        return Response(MachineTypeSerializer(fresh).data, status=status.HTTP_201_CREATED)


class LicenseTypeRateView(APIView):
    permission_classes = [IsPlatformAdmin]

    @extend_schema(
        request=RateInputSerializer,
        responses={201: LicenseTypeSerializer},
        summary="Add an hourly license rate from a time on (admin key)",
    )
    def post(self, request: Request, license_type_id: str) -> Response:
        license_type = get_object_or_404(LicenseType, uuid=license_type_id)
        serializer = RateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "region" in data:
            raise serializers.ValidationError(
                {"region": ["License rates are the same in every region."]}
            )
        services.license_rate_add(actor=request.user, license_type=license_type, **data)
        fresh = LicenseType.objects.prefetch_related("rates").get(pk=license_type.pk)
        return Response(LicenseTypeSerializer(fresh).data, status=status.HTTP_201_CREATED)


class LicenseListCreateView(generics.ListCreateAPIView):
    serializer_class = LicenseSerializer
    permission_classes = [ReadOrPlatform]

    def get_queryset(self) -> QuerySet[License]:
        return scope(License.objects.select_related("account"), self.request.user).order_by("id")

    @extend_schema(summary="Create a license for an account (admin key)")
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        account = account_or_404(request.user, data["account"])
        license = services.license_create(
            actor=request.user,
            account=account,
            name=data["name"],
            status=data.get("status", LicenseStatus.ACTIVE),
        )
        return Response(self.get_serializer(license).data, status=status.HTTP_201_CREATED)


class LicenseDetailView(generics.RetrieveAPIView):
    serializer_class = LicenseSerializer

    def get_object(self) -> License:
        return get_or_404(
            License.objects.select_related("account"),
            self.request.user,
            uuid=self.kwargs["license_id"],
        )
