"""API: the billing report of a generated month and its two gzipped CSV files."""

from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Account
from metering.exports import ACTIVE_DEVICES, FIRMWARE_UPDATES
from metering.models import UsageReport
from metering.months import Month

from ..exports import report_file_response
from ..selectors.reports import ReportedUsage, ReportUnavailable, available_report, billing_report
from .common import ACCOUNT_PARAMETER, MONTH_PARAMETER, month_param, target_account


def usage_document(line: ReportedUsage) -> dict[str, Any]:
    """One USAGE object of the billing report."""
    return {
        "id": line.account.uuid,
        "name": line.name,
        "business_model": line.business_model,
        "active_devices": line.usage.active_devices,
        "firmware_updates": line.usage.firmware_updates,
        "api_calls": line.usage.api_calls_document(),
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
    description="No report for this month: the message says why (not over, not ready, being "
    "generated, before the account existed, not started), and when it will be ready if it will.",
)


def _report_or_404(account: Account, month: Month) -> UsageReport:
    try:
        return available_report(account, month, now=timezone.now())
    except ReportUnavailable as exc:
        raise NotFound(str(exc)) from exc


class BillingReportView(APIView):
    @extend_schema(
        summary="The month's usage report: the account, each tenant, and their total",
        description="Each USAGE counts that account's own usage; `total` adds the account and "
        "its tenants. Generated on the third business day of the next month (Monday to "
        "Friday) and never changed afterwards. A month without a report is a 404 whose message "
        "says why, and when it will be ready if it will be.",
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
        try:
            report = billing_report(account, month, now=timezone.now())
        except ReportUnavailable as exc:
            raise NotFound(str(exc)) from exc
        return Response(
            {
                "month": str(report.month),
                "account": usage_document(report.account),
                "tenants": [usage_document(tenant) for tenant in report.tenants],
                "total": usage_document(report.total),
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
