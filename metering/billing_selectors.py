"""Reads of the daily billing rows: the rows of a range with their filters, monthly lines, the
summary of a range beside the comparable previous one and the cost per day and meter. The
Billing page, its CSV and the billing API all read through these.

Rows are reached through accounts.scoping (the actor sees its accounts and those below), and on
pages also within the current account's tree. Totals are sums of the rows' costs, kept apart
per currency: EUR is never added to USD.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Case, CharField, Count, Max, Min, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Cast, TruncMonth

from accounts.models import Account
from accounts.scoping import Actor, get_or_404, scope
from accounts.selectors import account_tree_ids

from .billing_dates import DayRange
from .models import BillingDayTotal, BillingRow
from .months import Month

GROUP_BY = ("meter", "account", "subscription", "region", "day", "month")
ROW_RELATIONS = ("account", "subscription", "asset", "meter")
_CURRENT, _PREVIOUS = "current", "previous"
_TREE_ATTR = "_billing_tree_ids"


@dataclass(frozen=True)
class RowFilters:
    """What the rows are narrowed to besides the days; empty means any."""

    region: str = ""
    account: Account | None = None  # the billed account itself (visibility checked by callers)
    subscription: str = ""  # the subscription's external id, as rows show it
    meter: str = ""  # the meter's code
    service: str = ""
    asset: str = ""  # the asset's id


def tree_ids(account: Account) -> frozenset[int]:
    """The account's tree, read once per request: a page asks for it in every reading."""
    cached = account.__dict__.get(_TREE_ATTR)
    if cached is None:
        cached = account.__dict__[_TREE_ATTR] = account_tree_ids(account)
    return cached


def _in_view(actor: Actor, within: Account | None) -> QuerySet[BillingRow]:
    rows = scope(BillingRow.objects.all(), actor)
    if within is not None:
        rows = rows.filter(account_id__in=tree_ids(within))
    return rows


def filter_rows(rows: QuerySet[BillingRow], filters: RowFilters) -> QuerySet[BillingRow]:
    if filters.region:
        rows = rows.filter(region=filters.region)
    if filters.account is not None:
        rows = rows.filter(account_id=filters.account.pk)
    if filters.subscription:
        rows = rows.filter(subscription__external_id=filters.subscription)
    if filters.meter:
        rows = rows.filter(meter__code=filters.meter)
    if filters.service:
        rows = rows.filter(service=filters.service)
    if filters.asset:
        rows = rows.filter(asset__asset_id=filters.asset)
    return rows


def _rows_between(
    actor: Actor, start: date, end: date, filters: RowFilters, within: Account | None
) -> QuerySet[BillingRow]:
    return filter_rows(_in_view(actor, within).filter(day__gte=start, day__lte=end), filters)


# Groupings the day totals can answer: they keep days, accounts and meters, nothing finer.
_TOTALS_GROUP_BY = ("meter", "account", "day", "month")


def _day_totals_between(
    actor: Actor, start: date, end: date, filters: RowFilters, within: Account | None
) -> QuerySet[BillingDayTotal] | None:
    """The day totals that stand in for the rows of the days (same scoping, same account and
    meter filters), or None when a filter needs the rows themselves (region, subscription,
    service, asset). Sums over them equal sums over the rows: triggers keep them in step."""
    if filters.region or filters.subscription or filters.service or filters.asset:
        return None
    totals = scope(BillingDayTotal.objects.all(), actor)
    if within is not None:
        totals = totals.filter(account_id__in=tree_ids(within))
    totals = totals.filter(day__gte=start, day__lte=end)
    if filters.account is not None:
        totals = totals.filter(account_id=filters.account.pk)
    if filters.meter:
        totals = totals.filter(meter__code=filters.meter)
    return totals


def billing_rows(
    *,
    actor: Actor,
    days: DayRange,
    filters: RowFilters = RowFilters(),
    within: Account | None = None,
) -> QuerySet[BillingRow]:
    """The rows of the days the actor may see (within an account's tree on pages), oldest day
    first, with the names every page, file and answer shows."""
    return (
        _rows_between(actor, days.start, days.end, filters, within)
        .select_related(*ROW_RELATIONS)
        .order_by("day", "id")
    )


def monthly_lines(
    *,
    actor: Actor,
    days: DayRange,
    filters: RowFilters = RowFilters(),
    within: Account | None = None,
) -> QuerySet[dict[str, Any]]:
    """One line per (account, subscription, asset, meter, region, month) and currency: the
    month's quantity and cost are the sums of its days (adjustment rows count in the month
    they are dated); `unit_price` and `highest_price` are the lowest and highest of the month's
    unit prices (both None for imported costs), so a page shows the price when they agree.

    The lines are grouped by the rows' own columns only, their names read as aggregates:
    grouping by every name as well sorted each row by a dozen texts (a third slower, and the
    count of lines half as fast, over 300,000 rows)."""
    return (
        _rows_between(actor, days.start, days.end, filters, within)
        .annotate(month=TruncMonth("day"))
        .values(
            "month", "account_id", "subscription_id", "asset_id", "meter_id", "region", "currency"
        )
        .annotate(
            quantity=Sum("quantity"),
            cost=Sum("cost"),
            # A key has one row a day besides adjustments: no DISTINCT (a sort per line).
            days=Count("id", filter=Q(adjustment_for__isnull=True)),
            rows=Count("id"),
            highest_price=Max("unit_price"),
            unit_price=Min("unit_price"),
            # One value per line (they depend on the line's keys): aggregated, not grouped by.
            **{name: Min(name) for name in _LINE_NAMES},
            # PostgreSQL has no min() of UUIDs.
            account__uuid=Min(Cast("account__uuid", output_field=CharField())),
        )
        .order_by("month", "account__name", "meter__code", "asset__asset_id", "region")
    )


_LINE_NAMES = (
    "account__name",
    "subscription__name",
    "subscription__external_id",
    "subscription__platform",
    "asset__asset_id",
    "meter__code",
    "meter__name",
    "meter__unit",
)


# -- Summary ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    cost: Decimal
    rows: int


@dataclass(frozen=True)
class GroupTotal:
    key: str | None  # meter code, account UUID, subscription external id, region, day, month
    name: str
    currency: str
    cost: Decimal
    rows: int
    quantity: Decimal | None = None  # meters only: one unit per group
    unit: str | None = None


@dataclass(frozen=True)
class RangeTotals:
    days: DayRange
    totals: list[CurrencyTotal]
    groups: list[GroupTotal]

    def total(self, currency: str) -> Decimal:
        return next((t.cost for t in self.totals if t.currency == currency), Decimal(0))


@dataclass(frozen=True)
class Change:
    currency: str
    amount: Decimal
    percent: Decimal | None  # None when the previous range cost nothing in this currency


@dataclass(frozen=True)
class BillingSummary:
    group_by: str
    current: RangeTotals
    previous: RangeTotals
    changes: list[Change]


_GROUP_FIELDS: dict[str, tuple[str, ...]] = {
    "meter": ("meter__code", "meter__name", "meter__unit"),
    "account": ("account__uuid", "account__name"),
    "subscription": ("subscription__external_id", "subscription__name"),
    "region": ("region",),
    "day": ("day",),
    "month": ("month",),
}


def _group(group_by: str, values: dict[str, Any]) -> tuple[str | None, str]:
    """(key, name) of one grouped line."""
    if group_by == "meter":
        return values["meter__code"], values["meter__name"]
    if group_by == "account":
        return str(values["account__uuid"]), values["account__name"]
    if group_by == "subscription":
        external_id = values["subscription__external_id"]
        return external_id, values["subscription__name"] or "No subscription"
    if group_by == "region":
        return values["region"], values["region"] or "No region"
    if group_by == "day":
        return values["day"].isoformat(), values["day"].isoformat()
    month = Month.of(values["month"])
    return str(month), month.label


def billing_summary(
    *,
    actor: Actor,
    days: DayRange,
    group_by: str = "meter",
    filters: RowFilters = RowFilters(),
    within: Account | None = None,
) -> BillingSummary:
    """The range's costs per currency and per group, beside those of the comparable previous
    range (`DayRange.previous`), and the change per currency. One query reads both ranges."""
    if group_by not in GROUP_BY:
        raise ValueError(f"Not a summary grouping: {group_by!r}")
    previous = days.previous()
    totals = None
    if group_by in _TOTALS_GROUP_BY:
        totals = _day_totals_between(actor, previous.start, days.end, filters, within)
    if totals is not None:
        source, row_count = totals, Sum("rows")
    else:
        source = _rows_between(actor, previous.start, days.end, filters, within)
        row_count = Count("id")
    if group_by == "month":
        source = source.annotate(month=TruncMonth("day"))
    lines = (
        source.annotate(
            period=Case(When(day__gte=days.start, then=Value(_CURRENT)), default=Value(_PREVIOUS))
        )
        .values("period", "currency", *_GROUP_FIELDS[group_by])
        .annotate(cost=Sum("cost"), rows=row_count, quantity=Sum("quantity"))
        .order_by()
    )
    groups: dict[str, list[GroupTotal]] = {_CURRENT: [], _PREVIOUS: []}
    for line in lines:
        key, name = _group(group_by, line)
        groups[line["period"]].append(
            GroupTotal(
                key=key,
                name=name,
                currency=line["currency"],
                cost=line["cost"],
                rows=line["rows"],
                quantity=line["quantity"] if group_by == "meter" else None,
                unit=line["meter__unit"] if group_by == "meter" else None,
            )
        )
    current = _range_totals(days, groups[_CURRENT], group_by)
    before = _range_totals(previous, groups[_PREVIOUS], group_by)
    currencies = sorted({t.currency for t in current.totals} | {t.currency for t in before.totals})
    changes = [_change(c, current.total(c), before.total(c)) for c in currencies]
    return BillingSummary(group_by=group_by, current=current, previous=before, changes=changes)


def _range_totals(days: DayRange, groups: list[GroupTotal], group_by: str) -> RangeTotals:
    costs: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for group in groups:
        costs[group.currency] += group.cost
        counts[group.currency] += group.rows
    if group_by in ("day", "month"):
        groups.sort(key=lambda g: (g.key, g.currency))
    else:
        groups.sort(key=lambda g: (-g.cost, g.name, g.key or "", g.currency))
    totals = [CurrencyTotal(c, costs[c], counts[c]) for c in sorted(costs)]
    return RangeTotals(days=days, totals=totals, groups=groups)


def _change(currency: str, now: Decimal, before: Decimal) -> Change:
    percent = None if not before else ((now - before) * 100 / before).quantize(Decimal("0.1"))
    return Change(currency=currency, amount=now - before, percent=percent)


# -- The chart ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DailyMeterCost:
    day: date
    meter: str
    name: str
    currency: str
    cost: Decimal


def daily_cost_by_meter(
    *,
    actor: Actor,
    days: DayRange,
    filters: RowFilters = RowFilters(),
    within: Account | None = None,
) -> list[DailyMeterCost]:
    """Each day's cost per meter and currency, for the stacked cost-per-day chart."""
    source = _day_totals_between(actor, days.start, days.end, filters, within)
    if source is None:
        source = _rows_between(actor, days.start, days.end, filters, within)
    lines = (
        source.values("day", "meter__code", "meter__name", "currency")
        .annotate(cost=Sum("cost"))
        .order_by("day", "meter__name", "meter__code", "currency")
    )
    return [
        DailyMeterCost(
            day=line["day"],
            meter=line["meter__code"],
            name=line["meter__name"],
            currency=line["currency"],
            cost=line["cost"],
        )
        for line in lines
    ]


# -- One row ------------------------------------------------------------------------------------


def billing_row_or_404(
    *, actor: Actor, row_id: object, within: Account | None = None
) -> BillingRow:
    """One row the actor may see (within the account's tree on pages), with what its details
    show; another tenant's row is a 404 like a row that does not exist."""
    rows = _in_view(actor, within).select_related(
        *ROW_RELATIONS, "sender", "plan", "price", "price__meter"
    )
    return get_or_404(rows, actor, uuid=row_id)
