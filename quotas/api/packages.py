"""API: service packages, the quota of the package an account uses, and its monthly history."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CanRead, IsPlatformAdmin
from accounts.scoping import account_or_404, get_or_404

from ..models import QuotaLedgerEntry, ServicePackage
from ..selectors.packages import ledger_in, packages_for, quota_summary
from ..services.packages import package_create, package_renew
from .common import ACCOUNT_PARAMETER, MONTH_PARAMETER, month_param, target_account


class ServicePackageSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    account = serializers.UUIDField(source="account.uuid", read_only=True)
    renewed_from = serializers.UUIDField(
        source="renewed_from.uuid", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = ServicePackage
        fields = [
            "id",
            "account",
            "tokens",
            "carried_over",
            "starts_at",
            "expires_at",
            "status",
            "ended_at",
            "renewed_from",
        ]
        read_only_fields = fields


class PackageCreateSerializer(serializers.Serializer):
    account = serializers.UUIDField()
    tokens = serializers.IntegerField(min_value=1)
    starts_at = serializers.DateTimeField()


class PackageRenewSerializer(serializers.Serializer):
    tokens = serializers.IntegerField(min_value=1)


class ServicePackageListView(APIView):
    def get_permissions(self) -> list:
        return [IsPlatformAdmin()] if self.request.method == "POST" else [CanRead()]

    @extend_schema(
        summary="Service packages: the one your account uses, and those of accounts below it",
        parameters=[
            OpenApiParameter(
                "account",
                OpenApiTypes.UUID,
                OpenApiParameter.QUERY,
                description="Only this account's packages (the aggregator's, for a tenant).",
            )
        ],
        responses=ServicePackageSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("account")
        account = account_or_404(request.user, raw) if raw else None
        packages = packages_for(request.user, account=account)
        return Response(ServicePackageSerializer(packages, many=True).data)

    @extend_schema(
        summary="Create a service package (admin key or platform staff)",
        description="12 months of firmware-update tokens from `starts_at`, for an aggregator or "
        "a stand-alone account (tenants use their aggregator's). An account has one active "
        "package: renew it rather than create another.",
        request=PackageCreateSerializer,
        responses={201: ServicePackageSerializer},
    )
    def post(self, request: Request) -> Response:
        data = PackageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = account_or_404(request.user, data.validated_data["account"])
        package = package_create(
            actor=request.user,
            account=account,
            tokens=data.validated_data["tokens"],
            starts_at=data.validated_data["starts_at"],
        )
        return Response(ServicePackageSerializer(package).data, status=status.HTTP_201_CREATED)


class ServicePackageRenewView(APIView):
    permission_classes = [IsPlatformAdmin]

    @extend_schema(
        summary="Renew a service package before it expires (admin key or platform staff)",
        description="A new 12-month package starts now with `tokens` new tokens; the tokens "
        "left on the old one carry over and its running campaigns move to the new one.",
        request=PackageRenewSerializer,
        responses={201: ServicePackageSerializer},
    )
    def post(self, request: Request, package_id: str) -> Response:
        package = get_or_404(ServicePackage.objects.all(), request.user, uuid=package_id)
        data = PackageRenewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        renewal = package_renew(
            actor=request.user, package=package, tokens=data.validated_data["tokens"]
        )
        return Response(ServicePackageSerializer(renewal).data, status=status.HTTP_201_CREATED)


_QUOTA = inline_serializer(
    "Quota",
    {
        "account": serializers.UUIDField(help_text="The account asked about."),
        "holder": serializers.UUIDField(help_text="Whose package it uses (its aggregator's)."),
        "package": serializers.UUIDField(allow_null=True),
        "state": serializers.ChoiceField(
            choices=["none", "not_started", "active", "renewed", "expired"]
        ),
        "remaining": serializers.IntegerField(help_text="The ledger's sum."),
        "reserved": serializers.IntegerField(help_text="Held by running campaigns, unspent."),
        "expires_at": serializers.DateTimeField(allow_null=True),
        "expiry_warning": serializers.BooleanField(help_text="Within three months of expiry."),
    },
)


class QuotaView(APIView):
    @extend_schema(
        summary="The remaining quota of the package the account uses",
        parameters=[ACCOUNT_PARAMETER],
        responses=_QUOTA,
    )
    def get(self, request: Request) -> Response:
        account = target_account(request)
        summary = quota_summary(account, now=timezone.now())
        return Response(
            {
                "account": account.uuid,
                "holder": summary.holder.uuid,
                "package": summary.package.uuid if summary.package else None,
                "state": summary.state,
                "remaining": summary.remaining,
                "reserved": summary.reserved,
                "expires_at": summary.expires_at,
                "expiry_warning": summary.warning,
            }
        )


class LedgerEntrySerializer(serializers.ModelSerializer):
    event_type = serializers.ChoiceField(
        choices=QuotaLedgerEntry._meta.get_field("event_type").choices
    )
    package = serializers.UUIDField(source="package.uuid")
    campaign = serializers.UUIDField(source="campaign.uuid", allow_null=True, default=None)
    campaign_name = serializers.CharField(source="campaign.name", allow_null=True, default=None)
    remaining_after = serializers.IntegerField(help_text="The remaining quota after this entry.")

    class Meta:
        model = QuotaLedgerEntry
        fields = [
            "occurred_at",
            "event_type",
            "tokens",
            "remaining_after",
            "package",
            "campaign",
            "campaign_name",
            "note",
        ]


class QuotaHistoryView(APIView):
    @extend_schema(
        summary="The quota ledger for a month: each event and its effect on the quota",
        parameters=[MONTH_PARAMETER, ACCOUNT_PARAMETER],
        responses=inline_serializer(
            "QuotaHistory",
            {
                "month": serializers.CharField(),
                "account": serializers.UUIDField(),
                "entries": LedgerEntrySerializer(many=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        month = month_param(request)
        account = target_account(request)
        entries = ledger_in(account, month).order_by("occurred_at", "id")
        return Response(
            {
                "month": str(month),
                "account": account.uuid,
                "entries": LedgerEntrySerializer(entries, many=True).data,
            }
        )
