"""API of the metered-usage catalog: meters and price plans (platform writes, any reader
reads), hosting subscriptions and assets (scoped to what the caller sees), and the site-wide
billing settings (platform; services read them)."""

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Account, BillingSettings
from accounts.permissions import CanGenerate, IsPlatformAdmin, ReadOrPlatform
from accounts.roles import Capability, can
from accounts.scoping import account_or_404, get_or_404, scope, visible_accounts
from accounts.services import billing_settings_update

from .catalog_serializers import (
    AssetAssignSerializer,
    AssetQuerySerializer,
    AssetSerializer,
    BillingSettingsSerializer,
    MeterSerializer,
    PriceAddSerializer,
    PricePlanInputSerializer,
    PricePlanSerializer,
    SubscriptionQuerySerializer,
    SubscriptionSerializer,
)
from .models import Asset, Meter, MeterPrice, PricePlan, Subscription
from .services import catalog

ERR_ACCOUNT = "Unknown account."
ERR_CLIENT = "Unknown account, or one you may not use."
ERR_ASSIGN = "Only platform staff, an admin key or the sending account's admins may assign assets."
# The asset's client or its sender: whoever sees either sees the asset.
ASSET_OWNERS = ("client", "account")


def _plans() -> QuerySet[PricePlan]:
    prices = MeterPrice.objects.select_related("meter")
    return PricePlan.objects.prefetch_related(Prefetch("prices", queryset=prices))


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class MeterListCreateView(generics.ListCreateAPIView):
    serializer_class = MeterSerializer
    permission_classes = [ReadOrPlatform]
    queryset = Meter.objects.order_by("code")

    @extend_schema(summary="Meters (unit types) usage is measured in")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Create a meter (admin key or platform staff)")
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        meter = catalog.meter_create(actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(meter).data, status=status.HTTP_201_CREATED)


class PricePlanListCreateView(generics.ListCreateAPIView):
    serializer_class = PricePlanSerializer
    permission_classes = [ReadOrPlatform]

    def get_queryset(self) -> QuerySet[PricePlan]:
        return _plans().order_by("name")

    @extend_schema(summary="Price plans with every price, past and future")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=PricePlanInputSerializer,
        responses={201: PricePlanSerializer},
        summary="Create a price plan with its first prices (admin key or platform staff)",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = PricePlanInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        plan = catalog.price_plan_create(
            actor=request.user,
            name=data["name"],
            currency=data["currency"],
            markup_percent=data.get("markup_percent", 0),
            prices=[catalog.PriceInput(**price) for price in data.get("prices", [])],
        )
        return Response(
            PricePlanSerializer(_plans().get(pk=plan.pk)).data, status=status.HTTP_201_CREATED
        )


class PricePlanPricesView(APIView):
    permission_classes = [IsPlatformAdmin]

    @extend_schema(
        request=PriceAddSerializer,
        responses={201: PricePlanSerializer},
        summary="Add a meter's price from a time on, for every region or one (admin key)",
        description="Prices are add-only: a price change is a new price with a later start.",
    )
    def post(self, request: Request, plan_id: str) -> Response:
        plan = get_object_or_404(PricePlan, uuid=plan_id)
        serializer = PriceAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        catalog.meter_price_add(actor=request.user, plan=plan, **serializer.validated_data)
        return Response(
            PricePlanSerializer(_plans().get(pk=plan.pk)).data, status=status.HTTP_201_CREATED
        )


class SubscriptionListCreateView(generics.ListCreateAPIView):
    serializer_class = SubscriptionSerializer
    permission_classes = [ReadOrPlatform]

    def get_queryset(self) -> QuerySet[Subscription]:
        subscriptions = scope(Subscription.objects.select_related("account"), self.request.user)
        return subscriptions.order_by("id")

    @extend_schema(
        summary="Hosting subscriptions of the accounts the caller may see",
        parameters=[SubscriptionQuerySerializer],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = _query(SubscriptionQuerySerializer, request)
        subscriptions = self.get_queryset()
        if "account" in query:
            subscriptions = subscriptions.filter(
                account=account_or_404(request.user, query["account"])
            )
        if "platform" in query:
            subscriptions = subscriptions.filter(platform=query["platform"])
        if "region" in query:
            subscriptions = subscriptions.filter(region=query["region"])
        page = self.paginate_queryset(subscriptions)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(summary="Create a hosting subscription for an account (admin key)")
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        account = Account.objects.filter(uuid=data["account"]).first()
        if account is None:
            raise serializers.ValidationError({"account": [ERR_ACCOUNT]})
        subscription = catalog.subscription_create(
            actor=request.user,
            external_id=data["external_id"],
            name=data["name"],
            account=account,
            platform=data["platform"],
            region=data.get("region", ""),
        )
        return Response(self.get_serializer(subscription).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailView(generics.RetrieveAPIView):
    serializer_class = SubscriptionSerializer

    def get_object(self) -> Subscription:
        return get_or_404(
            Subscription.objects.select_related("account"),
            self.request.user,
            uuid=self.kwargs["subscription_id"],
        )

    @extend_schema(summary="A hosting subscription")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


def _assets() -> QuerySet[Asset]:
    return Asset.objects.select_related("account", "client")


class AssetListView(generics.ListAPIView):
    serializer_class = AssetSerializer

    def get_queryset(self) -> QuerySet[Asset]:
        return scope(_assets(), self.request.user, field=ASSET_OWNERS).order_by("id")

    @extend_schema(
        summary="Assets usage came from: those billed to or sent by accounts the caller sees",
        parameters=[AssetQuerySerializer],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = _query(AssetQuerySerializer, request)
        assets = self.get_queryset()
        if "client" in query:
            assets = assets.filter(client=account_or_404(request.user, query["client"]))
        if query["unassigned"] is not None:
            assets = assets.filter(client__isnull=query["unassigned"])
        page = self.paginate_queryset(assets)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class AssetDetailView(generics.RetrieveAPIView):
    serializer_class = AssetSerializer

    def get_object(self) -> Asset:
        return get_or_404(
            _assets(), self.request.user, field=ASSET_OWNERS, uuid=self.kwargs["asset_id"]
        )

    @extend_schema(summary="An asset")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=AssetAssignSerializer,
        summary="Bill an asset's usage to a client (platform, or the sending account's admins)",
        description="Usage of the asset that waited for an assignment is rated by the next "
        "poll; days already invoiced keep what they billed.",
    )
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        asset = self.get_object()
        actor = request.user
        if not (can(actor, Capability.PLATFORM) or can(actor, Capability.MANAGE, asset.account)):
            raise PermissionDenied(ERR_ASSIGN)
        serializer = AssetAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        client = visible_accounts(actor).filter(uuid=serializer.validated_data["client"]).first()
        if client is None:
            raise serializers.ValidationError({"client": [ERR_CLIENT]})
        catalog.asset_assign(actor=actor, asset=asset, client=client)
        return Response(self.get_serializer(self.get_object()).data)


class BillingSettingsView(APIView):
    """Site-wide: platform admins change them, platform services read them."""

    def get_permissions(self) -> list[BasePermission]:
        return [CanGenerate()] if self.request.method in ("GET", "HEAD") else [IsPlatformAdmin()]

    @extend_schema(
        responses=BillingSettingsSerializer, summary="Billing settings (admin or service key)"
    )
    def get(self, request: Request) -> Response:
        return Response(BillingSettingsSerializer(BillingSettings.load()).data)

    @extend_schema(
        request=BillingSettingsSerializer,
        responses=BillingSettingsSerializer,
        summary="Change the billing settings (admin key or platform staff)",
    )
    def patch(self, request: Request) -> Response:
        serializer = BillingSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        updated = billing_settings_update(actor=request.user, **serializer.validated_data)
        return Response(BillingSettingsSerializer(updated).data)
