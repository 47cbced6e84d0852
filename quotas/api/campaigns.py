"""API: update campaigns, run by the update service that reports firmware updates."""

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CanIngest
from accounts.roles import Capability, can
from accounts.scoping import get_or_404

from ..models import CampaignStatus, UpdateCampaign
from ..selectors.campaigns import campaign_updates
from ..services.campaigns import CampaignRefused, campaign_finish, campaign_start
from .common import target_account

ERR_MAY_NOT_RUN = "This key or role may not run update campaigns."


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
        return self.context["updates"][campaign.id]


def _campaign_response(campaign: UpdateCampaign, code: int = status.HTTP_200_OK) -> Response:
    # The spent tokens come from the selector, which counts any number of campaigns in one
    # query; a serializer asking per campaign would cost a query per row.
    serializer = CampaignSerializer(campaign, context={"updates": campaign_updates([campaign])})
    return Response(serializer.data, status=code)


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


def _refused(exc: CampaignRefused) -> Response:
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
            raise PermissionDenied(ERR_MAY_NOT_RUN)
        try:
            campaign = campaign_start(
                actor=request.user,
                account=account,
                name=data.validated_data["name"],
                devices=data.validated_data["devices"],
            )
        except CampaignRefused as exc:
            return _refused(exc)
        return _campaign_response(campaign, status.HTTP_201_CREATED)


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
            raise PermissionDenied(ERR_MAY_NOT_RUN)
        campaign = campaign_finish(actor=request.user, campaign=campaign)
        if campaign.status == CampaignStatus.TERMINATED:
            return _refused(CampaignRefused.terminated(campaign))
        return _campaign_response(campaign)
