"""Metered usage (seeds 002, 003, 004): meters, price plans, hosting subscriptions, assets and
the daily billing rows the rating makes of `usage` events."""

import uuid

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, validate_currency

from .events import DEVICE_MAX, NAME_MAX, QUANTITY_DIGITS, QUANTITY_PLACES, UsageEvent

PRICE_DIGITS = 18
PRICE_PLACES = 6
ROW_MONEY_DIGITS = 20
ROW_MONEY_PLACES = 4


class Aggregation(models.TextChoices):
    SUM = "sum", "Sum"
    MAX = "max", "Maximum"
    AVERAGE = "average", "Average"
    LATEST = "latest", "Latest reading"
    UNIQUE_COUNT = "unique_count", "Distinct assets"


class Meter(models.Model):
    """What usage is measured in (seed 004 calls it a unit type): how a day's readings of one
    asset combine into the day's quantity."""

    code = models.SlugField(max_length=NAME_MAX, unique=True)
    name = models.CharField(max_length=200)
    unit = models.CharField(max_length=50, help_text="For example vCPU-hour, GB-hour or GB.")
    aggregation = models.CharField(max_length=20, choices=Aggregation.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})"


class PricePlan(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    currency = models.CharField(max_length=3, validators=[validate_currency])
    markup_percent = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Added to imported costs (Public Azure cost records), in percent.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(markup_percent__gte=0), name="price_plan_markup_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class MeterPrice(models.Model):
    """A meter's unit price in a plan from `effective_from` on. Add-only (a database trigger
    refuses updates and deletes): a price change is a new row. A region's price beats the
    default (region empty) for usage in that region."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(PricePlan, on_delete=models.PROTECT, related_name="prices")
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="prices")
    region = models.CharField(max_length=NAME_MAX, blank=True)
    unit_price = models.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES)
    effective_from = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["plan", "meter", "region", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "meter", "region", "effective_from"],
                name="one_meter_price_per_start",
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="meter_price_not_negative"),
        ]

    def __str__(self) -> str:
        where = self.region or "default"
        return f"{self.meter.code} {where} {self.unit_price} from {self.effective_from:%Y-%m-%d}"


class AccountBilling(models.Model):
    """An account's billing fields. Without a price plan the nearest ancestor's applies."""

    account = models.OneToOneField(
        Account, primary_key=True, on_delete=models.CASCADE, related_name="billing"
    )
    price_plan = models.ForeignKey(
        PricePlan, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Billing of {self.account}"


class Platform(models.TextChoices):
    AZURE_STACK = "azure_stack", "Azure Stack"
    AZURE_LOCAL = "azure_local", "Azure Local"
    PUBLIC_AZURE = "public_azure", "Public Azure"
    CLOUDSTACK = "cloudstack", "CloudStack"
    OTHER = "other", "Other"


class Subscription(models.Model):
    """A tenant's hosting subscription on a cloud platform (seed 003). Usage naming it is billed
    to its account."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    external_id = models.CharField(max_length=DEVICE_MAX)
    name = models.CharField(max_length=200)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="subscriptions")
    region = models.CharField(max_length=NAME_MAX, blank=True)
    platform = models.CharField(max_length=20, choices=Platform.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "external_id"], name="one_subscription_per_platform_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"


class Asset(models.Model):
    """A resource usage comes from, registered by the rating on first sight of its id within
    the sending account's namespace. `client` is the account billed for it; empty means
    unassigned, and its usage (outside a subscription) waits until it is assigned."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", help_text="The sending account."
    )
    asset_id = models.CharField(max_length=DEVICE_MAX)
    source = models.CharField("source type", max_length=NAME_MAX, blank=True)
    description = models.CharField(max_length=500, blank=True)
    client = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.PROTECT, related_name="assets"
    )
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset_id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "asset_id"], name="one_asset_per_namespace")
        ]

    def __str__(self) -> str:
        return self.asset_id


class BillingRow(models.Model):
    """Priced usage of one (account, subscription, asset, meter, region, UTC day): the meter's
    aggregation of the day's usage times the plan's unit price in force at the day's start,
    rounded half up to the currency's minor unit. An imported cost is priced as is, plus the
    plan's markup, with no unit price.

    The rating writes rows only from ids it has just joined, so the database does not check
    their foreign keys a row at a time (as for usage events and charge lines): at a million
    rows those checks at commit cost a fifth of a poll. Deleting a referenced object is still
    refused by Django (PROTECT), and the admin does not delete them.

    Rows follow their events until their (account, day) is invoiced; from then on a database
    trigger refuses to change them, and late usage for that day lands in an adjustment row
    (`adjustment_for` that day) dated the day it was priced."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Indexed by the row key, which starts with the account.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+"
    )
    sender = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,
        related_name="+",
        help_text="The account whose usage events made the row.",
    )
    subscription = models.ForeignKey(
        Subscription,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_constraint=False,
        related_name="+",
    )
    asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+"
    )
    meter = models.ForeignKey(
        Meter, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+"
    )
    region = models.CharField(max_length=NAME_MAX, blank=True)
    day = models.DateField()
    adjustment_for = models.DateField(null=True, blank=True)
    service = models.CharField(max_length=NAME_MAX, blank=True)
    source = models.CharField(max_length=NAME_MAX, blank=True)
    quantity = models.DecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES)
    # Not indexed: only a plan's or a price's deletion looks rows up by them (and both are
    # refused while rows use them); every index costs the rating's writes.
    plan = models.ForeignKey(
        PricePlan, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+"
    )
    price = models.ForeignKey(
        MeterPrice,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    unit_price = models.DecimalField(
        max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES, null=True, blank=True
    )
    imported_cost = models.DecimalField(
        max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, null=True, blank=True
    )
    currency = models.CharField(max_length=3)
    cost = models.DecimalField(max_digits=ROW_MONEY_DIGITS, decimal_places=ROW_MONEY_PLACES)
    events = models.IntegerField(help_text="How many usage events the row aggregates.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "account",
                    "subscription",
                    "asset",
                    "meter",
                    "region",
                    "day",
                    "adjustment_for",
                ],
                name="one_billing_row_per_key",
                nulls_distinct=False,
            )
        ]
        indexes = [
            models.Index(fields=["day", "account"], name="billingrow_day_account"),
            models.Index(fields=["sender", "day"], name="billingrow_sender_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.meter_id} {self.quantity} {self.cost} {self.currency}"


class InvoicedDay(models.Model):
    """A day of an account that an issued document bills: its billing rows never change again
    (a database trigger refuses), and late usage for it becomes adjustment rows."""

    pk = models.CompositePrimaryKey("account", "day")
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, db_constraint=False, related_name="+"
    )
    day = models.DateField()
    invoiced_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}"


class WaitingUsage(models.Model):
    """A usage event the rating cannot bill yet (unknown meter or subscription, an unassigned
    asset, no price plan or price): stored, shown to staff with the reason, and rated by the
    first poll after the missing piece appears."""

    usage_event = models.OneToOneField(
        UsageEvent,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    account = models.ForeignKey(
        Account,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="The sending account.",
    )
    day = models.DateField()
    reason = models.TextField()
    first_seen_at = models.DateTimeField()
    last_tried_at = models.DateTimeField()

    class Meta:
        ordering = ["usage_event"]
        verbose_name_plural = "waiting usage"

    def __str__(self) -> str:
        return f"{self.usage_event_id}: {self.reason}"


class UsageCursor(models.Model):
    """How far the usage rating has read the events, the longest usage window seen (how far
    back a day's recomputation looks for windows overlapping it) and the signature of the
    references (meters, prices, plans, subscriptions, assignments) at the last retry of
    waiting usage."""

    name = models.CharField(max_length=50, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    max_window_seconds = models.BigIntegerField(default=0)
    references = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_event_id}"


class PlatformMeterMap(models.Model):
    """How a platform's own usage identifiers map to our meters: an Azure Stack meter id, a
    CloudStack offering, template or usage type, an Azure Local resource kind, a Public Azure
    meter category. `factor` converts the platform's unit to the meter's."""

    platform = models.CharField(max_length=20, choices=Platform.choices)
    external_id = models.CharField(max_length=DEVICE_MAX)
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+")
    factor = models.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES, default=1)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["platform", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "external_id"], name="one_meter_map_per_platform_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.external_id} → {self.meter.code}"


class BillingDayTotal(models.Model):
    """The billing rows of one (day, account, meter, currency) summed: cost, quantity and how
    many rows. Database triggers keep it in step with every write to the rows (migration
    0011), so the Billing page's cards, chart and row count read a few totals per day whatever
    the number of assets and subscriptions behind them."""

    pk = models.CompositePrimaryKey("day", "account", "meter", "currency")
    day = models.DateField()
    account = models.ForeignKey(
        Account, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    meter = models.ForeignKey(
        Meter, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    currency = models.CharField(max_length=3)
    cost = models.DecimalField(max_digits=ROW_MONEY_DIGITS + 4, decimal_places=ROW_MONEY_PLACES)
    quantity = models.DecimalField(max_digits=QUANTITY_DIGITS + 4, decimal_places=QUANTITY_PLACES)
    rows = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.day} {self.account_id} {self.meter_id} {self.cost} {self.currency}"
