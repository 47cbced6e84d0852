"""API: service packages, update campaigns, the quota and its history, and billing reports."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Account, ApiKey
from accounts.permissions import CanIngest, CanRead, IsPlatformAdmin
from accounts.roles import Capability, can
from accounts.scoping import account_or_404, get_or_404, scope
from accounts.selectors import default_account_for
from metering.exports import ACTIVE_DEVICES, FIRMWARE_UPDATES
from metering.months import ERR_MONTH, REPORTS_READY_BY, Month, report_available_on
from metering.selectors import Usage, report_month, report_of, reports_in_tree, total_usage

from . import services
from .exports import report_file_response
from .models import QuotaLedgerEntry, ServicePackage, UpdateCampaign
from .selectors import campaign_updates, ledger_in, package_holder, quota_summary, usage_rows

ERR_ACCOUNT_REQUIRED = "Required: name the account (its id) with ?account= for this key."
ERR_REPORT_NOT_OVER = (
    "{month} is not over yet: its usage report will be available on {day:%Y-%m-%d} "
    f"by {REPORTS_READY_BY}."
)
ERR_REPORT_NOT_READY = (
    "The usage report for {month} is not ready yet: it will be available on {day:%Y-%m-%d} "
    f"by {REPORTS_READY_BY}."
)
ERR_REPORT_ABSENT = (
    "{account} has no usage report for {month}: the month's reports were generated on "
    "{generated:%Y-%m-%d}, before the account existed."
)
ERR_REPORT_LATE = (
    "The usage report for {month} was due on {day:%Y-%m-%d} and is being generated; "
    "try again shortly."
)

MONTH_PARAMETER = OpenApiParameter(
    "month", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True, description="YYYY-MM"
)
ACCOUNT_PARAMETER = OpenApiParameter(
    "account",
    OpenApiTypes.UUID,
    OpenApiParameter.QUERY,
    description="The account's id: required for an admin key, optional otherwise (an account "
    "below the key's own).",
)


def target_account(request: Request, raw: object = None) -> Account:
    """The account a request is about: the one it names (which the caller must be able to
    see: else 404), or the key's own account, or the signed-in user's first account (the API
    has no current account; pages do)."""
    actor = request.user
    raw = raw if raw is not None else request.query_params.get("account")
    if raw:
        return account_or_404(actor, str(raw))
    if isinstance(actor, ApiKey):
        if actor.account is None:
            raise ValidationError({"account": [ERR_ACCOUNT_REQUIRED]})
        return actor.account
    account = default_account_for(actor)
    if account is None:
        raise ValidationError({"account": [ERR_ACCOUNT_REQUIRED]})
    return account


def month_param(request: Request) -> Month:
    try:
        return Month.parse(request.query_params.get("month", ""))
    except DjangoValidationError as exc:
        raise ValidationError({"month": [ERR_MONTH]}) from exc


# -- Service packages ----------------------------------------------------------------------------


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
        actor = request.user
        packages = scope(ServicePackage.objects.all(), actor)
        raw = request.query_params.get("account")
        if raw:
            packages = ServicePackage.objects.filter(
                account=package_holder(account_or_404(actor, raw))
            )
        elif isinstance(actor, ApiKey) and actor.account is not None:
            # A tenant key also sees its aggregator's package, which it uses.
            holder = package_holder(actor.account)
            packages = ServicePackage.objects.filter(Q(pk__in=packages) | Q(account=holder))
        packages = packages.select_related("account", "renewed_from").order_by("-starts_at", "-id")
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
        package = services.package_create(
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
        renewal = services.package_renew(
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


# -- Campaigns -----------------------------------------------------------------------------------


class CampaignSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    account = serializers.UUIDField(source="account.uuid", read_only=True)
    package = serializers.UUIDField(source="package.uuid", read_only=True)
    updates = serializers.SerializerMethodField(help_text="Tokens spent on firmware updates.")

    class Meta:
        model = UpdateCampaign
        fields = [
            "id",
            "account",
            "package",
            "name",
            "devices",
            "status",
            "started_at",
            "ended_at",
            "updates",
            "returned",
        ]
        read_only_fields = fields

    def get_updates(self, campaign: UpdateCampaign) -> int:
        return campaign_updates([campaign])[campaign.id]


class CampaignCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    devices = serializers.IntegerField(min_value=1)
    account = serializers.UUIDField(required=False)


_REFUSAL = inline_serializer(
    "CampaignRefused",
    {
        "detail": serializers.CharField(),
        "code": serializers.ChoiceField(
            choices=["no_package", "not_started", "expired", "not_enough_quota", "terminated"]
        ),
    },
)


def _refused(exc: services.CampaignRefused) -> Response:
    return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT)


class CampaignCreateView(APIView):
    permission_classes = [CanIngest]

    @extend_schema(
        summary="Start an update campaign: reserves one token per device",
        description="Refused with 409 and the reason when the account (or its aggregator) has "
        "no valid service package, the package expired, or fewer tokens remain than devices. "
        "An admin key names the `account`; other keys may name an account below their own.",
        request=CampaignCreateSerializer,
        responses={201: CampaignSerializer, 409: _REFUSAL},
        examples=[
            OpenApiExample(
                "Refused",
                response_only=True,
                status_codes=["409"],
                value={
                    "detail": "Not enough quota: the campaign needs 120 tokens (one per device) "
                    "but only 100 remain.",
                    "code": "not_enough_quota",
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = CampaignCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = target_account(request, data.validated_data.get("account"))
        if not can(request.user, Capability.INGEST, account):
            raise PermissionDenied("This key or role may not run update campaigns.")
        try:
            campaign = services.campaign_start(
                actor=request.user,
                account=account,
                name=data.validated_data["name"],
                devices=data.validated_data["devices"],
            )
        except services.CampaignRefused as exc:
            return _refused(exc)
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignFinishView(APIView):
    permission_classes = [CanIngest]

    @extend_schema(
        summary="Finish an update campaign: its unspent tokens return to the quota",
        description="Finishing a finished campaign changes nothing. If the package expired "
        "first, the campaign was terminated and its unused tokens are lost: 409.",
        request=None,
        responses={200: CampaignSerializer, 409: _REFUSAL},
    )
    def post(self, request: Request, campaign_id: str) -> Response:
        campaign = get_or_404(
            UpdateCampaign.objects.select_related("account"), request.user, uuid=campaign_id
        )
        if not can(request.user, Capability.INGEST, campaign.account):
            raise PermissionDenied("This key or role may not run update campaigns.")
        campaign = services.campaign_finish(actor=request.user, campaign=campaign)
        if campaign.status == "terminated":
            return _refused(
                services.CampaignRefused(
                    services.REFUSED_TERMINATED.format(
                        ended=campaign.ended_at, returned=campaign.returned
                    ),
                    "terminated",
                )
            )
        return Response(CampaignSerializer(campaign).data)


# -- Billing reports -----------------------------------------------------------------------------


def usage_document(account: Any, name: str, business_model: str, usage: Usage) -> dict[str, Any]:
    return {
        "id": account.uuid,
        "name": name,
        "business_model": business_model,
        "active_devices": usage.active_devices,
        "firmware_updates": usage.firmware_updates,
        "api_calls": usage.api_calls_document(),
    }


_CATEGORY = inline_serializer(
    "ApiCallCategory",
    {
        "total": serializers.IntegerField(),
        "events": serializers.DictField(child=serializers.IntegerField()),
    },
)
_USAGE = inline_serializer(
    "Usage",
    {
        "id": serializers.UUIDField(),
        "name": serializers.CharField(),
        "business_model": serializers.ChoiceField(choices=["active_devices", "api_calls"]),
        "active_devices": serializers.IntegerField(),
        "firmware_updates": serializers.IntegerField(),
        "api_calls": inline_serializer(
            "ApiCalls",
            {
                "device_to_service": _CATEGORY,
                "service_to_device": _CATEGORY,
                "integration": _CATEGORY,
            },
        ),
    },
)
_NOT_READY = OpenApiResponse(
    response=inline_serializer("ReportNotReady", {"detail": serializers.CharField()}),
    description="No report for this month yet; the message says when it will be ready.",
)


def _report_or_404(account: Account, month: Month) -> Any:
    report = report_of(account.pk, month)
    if report is not None:
        return report
    header = report_month(month)
    if header is not None:
        raise NotFound(
            ERR_REPORT_ABSENT.format(
                account=account.name, month=month, generated=header.generated_at
            )
        )
    day = report_available_on(month)
    today = timezone.now().date()
    if month.end > timezone.now():
        raise NotFound(ERR_REPORT_NOT_OVER.format(month=month, day=day))
    if day > today:
        raise NotFound(ERR_REPORT_NOT_READY.format(month=month, day=day))
    raise NotFound(ERR_REPORT_LATE.format(month=month, day=day))


class BillingReportView(APIView):
    @extend_schema(
        summary="The month's usage report: the account, each tenant, and their total",
        description="Each USAGE counts that account's own usage; `total` adds the account and "
        "its tenants. Generated on the third business day of the next month (Monday to "
        "Friday) and never changed afterwards. A month without a report yet is a 404 whose "
        "message says when it will be ready.",
        parameters=[MONTH_PARAMETER, ACCOUNT_PARAMETER],
        responses={
            200: inline_serializer(
                "BillingReport",
                {
                    "month": serializers.CharField(),
                    "account": _USAGE,
                    "tenants": serializers.ListField(child=_USAGE),
                    "total": _USAGE,
                },
            ),
            404: _NOT_READY,
        },
    )
    def get(self, request: Request) -> Response:
        month = month_param(request)
        account = target_account(request)
        report = _report_or_404(account, month)
        listed = usage_rows(account, month, timezone.now().date()).order_by("account_name", "id")
        tenants = [
            usage_document(r.account, r.account_name, r.business_model, Usage.from_report(r))
            for r in listed
            if r.account_id != account.pk
        ]
        return Response(
            {
                "month": str(month),
                "account": usage_document(
                    account, report.account_name, report.business_model, Usage.from_report(report)
                ),
                "tenants": tenants,
                "total": usage_document(
                    account,
                    report.account_name,
                    report.business_model,
                    total_usage(reports_in_tree(report)),
                ),
            }
        )


class _ReportFileView(APIView):
    kind = ""

    def get(self, request: Request) -> StreamingHttpResponse:
        month = month_param(request)
        account = target_account(request)
        return report_file_response(_report_or_404(account, month), self.kind)


_FILE_RESPONSES = {(200, "application/gzip"): OpenApiTypes.BINARY, 404: _NOT_READY}


class ActiveDevicesReportView(_ReportFileView):
    kind = ACTIVE_DEVICES

    @extend_schema(
        summary="The month's active devices as gzipped CSV",
        description="account_id, timestamp (the device's first connection in the month), "
        "device_id, endpoint_name; one row per active device of the account and its tenants.",
        parameters=[MONTH_PARAMETER, ACCOUNT_PARAMETER],
        responses=_FILE_RESPONSES,
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)


class FirmwareUpdatesReportView(_ReportFileView):
    kind = FIRMWARE_UPDATES

    @extend_schema(
        summary="The month's firmware updates as gzipped CSV",
        description="account_id, timestamp, campaign_name, device_id, endpoint_name; one row "
        "per firmware update of the account and its tenants.",
        parameters=[MONTH_PARAMETER, ACCOUNT_PARAMETER],
        responses=_FILE_RESPONSES,
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)
