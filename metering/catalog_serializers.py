"""Serializers of the metered-usage catalog API (meters, price plans, subscriptions, assets,
billing settings) and the billing fields metering adds to the account API."""

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api import AccountFieldExtension
from accounts.models import Account
from accounts.money import is_currency
from accounts.scoping import Actor, can_see_account

from .models import (
    DEVICE_MAX,
    NAME_MAX,
    Aggregation,
    Asset,
    Meter,
    MeterPrice,
    Platform,
    PricePlan,
    Subscription,
)
from .models.usage import PRICE_DIGITS, PRICE_PLACES
from .plans import effective_plans, own_plans
from .services.catalog import account_billing_set

# DRF's own messages repeat the value sent; these name the allowed values instead.
ERR_AGGREGATION = "Must be one of: " + ", ".join(Aggregation.values) + "."
ERR_PLATFORM = "Must be one of: " + ", ".join(Platform.values) + "."
ERR_METER = "Unknown meter."
ERR_PLAN = "Unknown price plan."
ERR_CURRENCY = "Must be an ISO 4217 currency code, such as EUR."
MARKUP_DIGITS = 7
MARKUP_PLACES = 4


class MeterSerializer(serializers.ModelSerializer):
    # Declared so the duplicate check is the service's (a clear message, no race).
    code = serializers.SlugField(max_length=NAME_MAX, help_text="What usage events name.")
    aggregation = serializers.ChoiceField(
        choices=Aggregation.choices,
        error_messages={"invalid_choice": ERR_AGGREGATION},
        help_text="How a day's readings of one asset combine: sum, max, average (mean of the "
        "quantities), latest (the last reading) or unique_count (distinct assets).",
    )

    class Meta:
        model = Meter
        fields = ["code", "name", "unit", "aggregation", "created_at"]
        read_only_fields = ["created_at"]


class MeterField(serializers.SlugRelatedField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            slug_field="code",
            queryset=Meter.objects.all(),
            error_messages={"does_not_exist": ERR_METER, "invalid": ERR_METER},
            help_text="The meter's code.",
            **kwargs,
        )


def _unit_price(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES, min_value=0, **kwargs
    )


class PriceInputSerializer(serializers.Serializer):
    meter = MeterField()
    unit_price = _unit_price(help_text="Per unit of the meter, up to 6 decimals.")
    region = serializers.CharField(
        max_length=NAME_MAX,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Only usage in this region; empty for every region without a price of its own.",
    )
    effective_from = serializers.DateTimeField(
        required=False, help_text="From when the price applies; now when left out."
    )


class PriceAddSerializer(PriceInputSerializer):
    effective_from = serializers.DateTimeField(help_text="From when the price applies.")


class PricePlanInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    currency = serializers.CharField(max_length=3)
    markup_percent = serializers.DecimalField(
        max_digits=MARKUP_DIGITS,
        decimal_places=MARKUP_PLACES,
        min_value=0,
        required=False,
        help_text="Added to imported costs (Public Azure cost records), in percent.",
    )
    prices = PriceInputSerializer(many=True, required=False)

    def validate_currency(self, value: str) -> str:
        if not is_currency(value.upper()):
            raise serializers.ValidationError(ERR_CURRENCY)
        return value.upper()


class MeterPriceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    meter = serializers.CharField()
    region = serializers.CharField(allow_null=True, help_text="Null: every region.")
    unit_price = serializers.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES)
    effective_from = serializers.DateTimeField()

    def to_representation(self, instance: MeterPrice) -> dict[str, Any]:
        return super().to_representation(
            {
                "id": instance.uuid,
                "meter": instance.meter.code,
                "region": instance.region or None,
                "unit_price": instance.unit_price,
                "effective_from": instance.effective_from,
            }
        )


class PricePlanSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    name = serializers.CharField()
    currency = serializers.CharField()
    markup_percent = serializers.DecimalField(
        max_digits=MARKUP_DIGITS, decimal_places=MARKUP_PLACES
    )
    prices = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(MeterPriceSerializer(many=True))
    def get_prices(self, plan: PricePlan) -> list[dict[str, Any]]:
        prices = sorted(plan.prices.all(), key=lambda p: (p.meter.code, p.region, p.effective_from))
        return MeterPriceSerializer(prices, many=True).data


class SubscriptionSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    external_id = serializers.CharField(
        max_length=DEVICE_MAX, help_text="The platform's own id; unique per platform."
    )
    name = serializers.CharField(max_length=200)
    account = serializers.UUIDField(help_text="The tenant account billed for its usage.")
    account_name = serializers.CharField(read_only=True)
    region = serializers.CharField(max_length=NAME_MAX, required=False, allow_blank=True)
    platform = serializers.ChoiceField(
        choices=Platform.choices, error_messages={"invalid_choice": ERR_PLATFORM}
    )
    created_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: Subscription) -> dict[str, Any]:
        return {
            "id": str(instance.uuid),
            "external_id": instance.external_id,
            "name": instance.name,
            "account": str(instance.account.uuid),
            "account_name": instance.account.name,
            "region": instance.region,
            "platform": instance.platform,
            "created_at": serializers.DateTimeField().to_representation(instance.created_at),
        }


class SubscriptionQuerySerializer(serializers.Serializer):
    account = serializers.UUIDField(required=False, help_text="Only this account's.")
    platform = serializers.ChoiceField(
        choices=Platform.choices, required=False, error_messages={"invalid_choice": ERR_PLATFORM}
    )
    region = serializers.CharField(max_length=NAME_MAX, required=False)


class AssetSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    asset_id = serializers.CharField()
    account = serializers.UUIDField(
        allow_null=True,
        help_text="The account that sends its usage; null when the caller may not see it.",
    )
    client = serializers.UUIDField(
        allow_null=True,
        help_text="The account billed for it; null when unassigned (see `status`) or when the "
        "caller may not see it.",
    )
    source = serializers.CharField()
    description = serializers.CharField()
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=["assigned", "unassigned"])

    @staticmethod
    def _visible(actor: Actor, account: Account | None) -> UUID | None:
        """An account's id, unless the caller may not see that account (no leak)."""
        if account is None or not can_see_account(actor, account.id):
            return None
        return account.uuid

    def to_representation(self, instance: Asset) -> dict[str, Any]:
        actor: Actor = self.context["request"].user
        return super().to_representation(
            {
                "id": instance.uuid,
                "asset_id": instance.asset_id,
                "account": self._visible(actor, instance.account),
                "client": self._visible(actor, instance.client),
                "source": instance.source,
                "description": instance.description,
                "first_seen_at": instance.first_seen_at,
                "last_seen_at": instance.last_seen_at,
                "status": "assigned" if instance.client_id else "unassigned",
            }
        )


class AssetQuerySerializer(serializers.Serializer):
    client = serializers.UUIDField(required=False, help_text="Only assets billed to it.")
    unassigned = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Only assets without a client."
    )


class AssetAssignSerializer(serializers.Serializer):
    client = serializers.UUIDField(help_text="The account to bill for the asset's usage.")


class BillingSettingsSerializer(serializers.Serializer):
    use_overlap_usage_selection = serializers.BooleanField(
        required=False,
        help_text="Off: a usage window belongs wholly to the day its start falls in. On: a "
        "window crossing midnight is split over the days it overlaps. Only days not yet "
        "invoiced change.",
    )
    default_billing_aggregation_monthly = serializers.BooleanField(
        required=False, help_text="The Billing grid opens in monthly mode."
    )
    updated_at = serializers.DateTimeField(read_only=True)


# -- The billing fields of the account API ----------------------------------------------------

_PLANS = "_price_plans"  # (own plan, effective plan) per account, loaded once per page


def account_plans_prepare(accounts: list[Account]) -> None:
    ids = [account.id for account in accounts]
    own, effective = own_plans(ids), effective_plans(ids)
    for account in accounts:
        setattr(account, _PLANS, (own[account.id], effective[account.id]))


def _plans_of(account: Account) -> tuple[PricePlan | None, PricePlan | None]:
    if not hasattr(account, _PLANS):
        account_plans_prepare([account])
    return getattr(account, _PLANS)


@extend_schema_field({"type": "string", "format": "uuid", "nullable": True})
class PricePlanField(serializers.Field):
    """The account's own price plan by id; null: it uses the nearest account above's."""

    default_error_messages = {"unknown": ERR_PLAN}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, **kwargs)

    def get_attribute(self, instance: Account) -> PricePlan | None:
        return _plans_of(instance)[0]

    def to_representation(self, value: PricePlan) -> str:
        return str(value.uuid)

    def to_internal_value(self, data: Any) -> PricePlan:
        plan_id = serializers.UUIDField().to_internal_value(data)
        plan = PricePlan.objects.filter(uuid=plan_id).first()
        if plan is None:
            self.fail("unknown")
        return plan


@extend_schema_field({"type": "string", "format": "uuid", "nullable": True, "readOnly": True})
class EffectivePricePlanField(serializers.Field):
    """The plan that bills the account: its own, else its nearest ancestor's."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def get_attribute(self, instance: Account) -> PricePlan | None:
        return _plans_of(instance)[1]

    def to_representation(self, value: PricePlan) -> str:
        return str(value.uuid)


def _account_billing_fields() -> dict[str, serializers.Field]:
    return {
        "price_plan": PricePlanField(
            help_text="The account's own price plan (id); null to use the nearest account above's."
        ),
        "effective_price_plan": EffectivePricePlanField(
            help_text="The plan that bills the account: its own, else its nearest ancestor's."
        ),
    }


def _account_billing_save(*, actor: Actor, account: Account, values: dict[str, Any]) -> None:
    account_billing_set(actor=actor, account=account, price_plan=values["price_plan"])


ACCOUNT_BILLING_FIELDS = AccountFieldExtension(
    fields=_account_billing_fields, save=_account_billing_save, prepare=account_plans_prepare
)
