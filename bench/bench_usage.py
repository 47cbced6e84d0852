"""Metered usage (issue 10): four figures, each beside raw PostgreSQL doing the same work in the
same run.

1. `billing_generate` over a month of 5,000,000 usage events (2,000 subscriptions) vs one raw
   `INSERT ... SELECT ... GROUP BY` computing the same rows into a fresh table;
2. the poll (`usage_rate`) rating 1,000,000 new usage events vs one raw set-based upsert of the
   same rows (`INSERT ... SELECT ... GROUP BY ... ON CONFLICT`) into a table with the billing
   rows' keys;
3. the Billing page over a month of 1,000,000 billing rows vs one of 1,000 (time, queries);
4. the Billing page's CSV of 1,000,000 rows vs `COPY (SELECT ...) TO STDOUT` (rate, memory).

The world: 10 hosting partners (the senders of the usage), each with 20 tenants; 2,000
subscriptions (20 in a quick run) over the tenants, three regions and the platforms, every one 3
assets (virtual machines) measured by 4 meters: cpu_hours, memory_gb_hours and bandwidth_gb
(sum, readings are windows) and storage_gb (average, readings are points). A EUR price plan on
the partners, inherited by their tenants, with a region price for cpu_hours in eu-west and new
prices for cpu_hours and memory_gb_hours from the 15th. Events are generated with SQL in time
order, the series interleaved, as ingest stores them. The selection mode is the default (off).

Figures 3 and 4 request the Billing page of the invoices app (`invoices:grid`, and with
`export=csv` its CSV) as platform staff.
`BENCH_FIGURES=1,2` runs only the figures named.
"""

import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from accounts.models import Account, AccountKind
from metering.models import (
    AccountBilling,
    Meter,
    MeterPrice,
    Platform,
    PricePlan,
    Subscription,
    UsageCursor,
)
from metering.services.usage_rating import billing_generate, usage_rate

from .harness import (
    Context,
    Result,
    best_of,
    first_view_and_queries,
    sql,
    stream_download,
    timer,
    vacuum_analyze,
)

MONTH = date(2026, 4, 1)  # 30 days
NEXT_MONTH = date(2026, 5, 1)
DAYS = 30
PARTNERS = 10
TENANTS_PER_PARTNER = 20
TENANTS = PARTNERS * TENANTS_PER_PARTNER
SUBSCRIPTIONS = 2_000
ASSETS_PER_SUBSCRIPTION = 3
METERS = [  # code, unit, aggregation, service, default unit price
    ("cpu_hours", "vCPU-hour", "sum", "compute", Decimal("0.021500")),
    ("memory_gb_hours", "GB-hour", "sum", "compute", Decimal("0.004120")),
    ("bandwidth_gb", "GB", "sum", "network", Decimal("0.050000")),
    ("storage_gb", "GB", "average", "storage", Decimal("0.001370")),
]
REGIONS = ["eu-west", "us-east", "ap-south"]
PLACES = 2  # EUR's minor unit
TABLES = [
    "metering_billingrow",
    "metering_invoicedday",
    "metering_waitingusage",
    "metering_usagecursor",
    "metering_asset",
    "metering_subscription",
    "metering_accountbilling",
    "metering_meterprice",
    "metering_priceplan",
    "metering_platformmetermap",
    "metering_meter",
    "metering_usageevent",
]


def run(ctx: Context) -> list[Result]:
    figures = [generation, poll, grid_page, grid_csv]
    chosen = {int(n) for n in os.environ.get("BENCH_FIGURES", "").split(",") if n.strip()}
    return [
        figure(ctx)
        for number, figure in enumerate(figures, start=1)
        if not chosen or number in chosen
    ]


# -- The world ---------------------------------------------------------------------------------


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


ROOT_SLUG = "bu-platform"


def _accounts() -> tuple[list[Account], list[Account]]:
    """The partners (below one platform account) and their tenants, made by the first figure
    and kept by the others."""
    if not Account.objects.filter(slug="bu-host-00").exists():
        root = Account.objects.create(
            name="Bench platform", slug=ROOT_SLUG, kind=AccountKind.PLATFORM
        )
        partners = Account.objects.bulk_create(
            Account(
                name=f"Bench host {p:02d}",
                slug=f"bu-host-{p:02d}",
                kind=AccountKind.PARTNER,
                parent=root,
            )
            for p in range(PARTNERS)
        )
        Account.objects.bulk_create(
            Account(
                name=f"Bench tenant {p:02d}-{t:02d}",
                slug=f"bu-tenant-{p:02d}-{t:02d}",
                kind=AccountKind.CUSTOMER,
                parent=partner,
            )
            for p, partner in enumerate(partners)
            for t in range(TENANTS_PER_PARTNER)
        )
    return (
        list(Account.objects.filter(slug__startswith="bu-host-").order_by("slug")),
        list(Account.objects.filter(slug__startswith="bu-tenant-").order_by("slug")),
    )


def _world(subscriptions: int) -> None:
    """Empty usage tables; partners, tenants, the subscriptions (subscription n belongs to
    tenant n mod 200), the meters and the plan."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    start = _midnight(MONTH) - timedelta(days=90)
    partners, tenants = _accounts()
    platforms = [p for p in Platform.values if p != Platform.OTHER]
    Subscription.objects.bulk_create(
        Subscription(
            external_id=f"sub-{n:05d}",
            name=f"Subscription {n:05d}",
            account=tenant,
            region=REGIONS[n % len(REGIONS)],
            platform=platforms[n % len(platforms)],
            created_at=start,
        )
        for n in range(subscriptions)
        for tenant in [tenants[n % TENANTS]]
    )
    plan = PricePlan.objects.create(name="Bench hosting EUR", currency="EUR")
    AccountBilling.objects.bulk_create(
        AccountBilling(account=partner, price_plan=plan) for partner in partners
    )
    middle = _midnight(MONTH) + timedelta(days=14)
    for code, unit, aggregation, _, price in METERS:
        meter = Meter.objects.create(code=code, name=code, unit=unit, aggregation=aggregation)
        MeterPrice.objects.create(plan=plan, meter=meter, unit_price=price, effective_from=start)
        if code in ("cpu_hours", "memory_gb_hours"):
            MeterPrice.objects.create(
                plan=plan, meter=meter, unit_price=price * Decimal("0.9"), effective_from=middle
            )
        if code == "cpu_hours":
            MeterPrice.objects.create(
                plan=plan,
                meter=meter,
                region="eu-west",
                unit_price=price * Decimal("1.1"),
                effective_from=start,
            )


def _series(subscriptions: int) -> int:
    return subscriptions * ASSETS_PER_SUBSCRIPTION * len(METERS)


# Event g is reading g / S of series g % S (S series: subscription, asset, meter), at
# start + reading * step: windows [t, t + step) for the sum meters, points for storage.
_EVENTS_SQL = """
INSERT INTO metering_usageevent (account_id, event_id, type, occurred_at, ends_at, received_at,
    fingerprint, meter, quantity, asset, subscription, region, service, source, description,
    machine_id, machine_type, pool, license_type, device_id, endpoint_name, category,
    event_name)
SELECT w.partners[1 + (x.sub %% %(tenants)s) / %(tenants_per_partner)s], %(prefix)s || g,
       'usage', x.at,
       CASE WHEN x.meter < 3 THEN x.at + %(step)s * interval '1 second' END, now(),
       md5(%(prefix)s || g),
       (%(meters)s::text[])[1 + x.meter],
       round((CASE x.meter WHEN 0 THEN (1 + x.sub %% 8) * %(hours)s
                           WHEN 1 THEN (2 + x.sub %% 16) * %(hours)s
                           WHEN 2 THEN 4 * %(hours)s
                           ELSE 40 + x.sub %% 200 END
              * (0.5 + random()))::numeric, 6),
       'vm-' || x.sub || '-' || x.asset, 'sub-' || lpad(x.sub::text, 5, '0'),
       (%(regions)s::text[])[1 + x.sub %% 3], (%(services)s::text[])[1 + x.meter],
       'virtual_machine', '', '', '', '', '', '', '', '', ''
FROM generate_series(0, %(last)s) AS g
CROSS JOIN LATERAL (
    SELECT (g %% %(series)s) / 12 AS sub, ((g %% %(series)s) / 4) %% 3 AS asset,
           g %% 4 AS meter,
           %(start)s::timestamptz + (g / %(series)s) * %(step)s * interval '1 second' AS at
) x,
(SELECT array_agg(id ORDER BY slug) AS partners FROM accounts_account
 WHERE slug LIKE 'bu-host-%%') w
"""


def _events(*, prefix: str, start: datetime, days: float, count: int, subscriptions: int) -> float:
    """`count` events from `start`, spread evenly over `days` days; returns the reading step
    in seconds."""
    series = _series(subscriptions)
    readings = -(-count // series)
    step = days * 86400 / readings
    sql("SELECT setseed(0.42)")
    sql(
        _EVENTS_SQL,
        {
            "prefix": prefix,
            "last": count - 1,
            "series": series,
            "tenants": TENANTS,
            "tenants_per_partner": TENANTS_PER_PARTNER,
            "start": start,
            "step": step,
            "hours": step / 3600,
            "meters": [m[0] for m in METERS],
            "services": [m[3] for m in METERS],
            "regions": REGIONS,
        },
    )
    return step


def _after(day: date) -> datetime:
    """A poll's moment well after the usage of the days before `day`."""
    return _midnight(day) + timedelta(days=1)


# -- The raw statement of both rating figures ----------------------------------------------------

# The rating's rules in one statement: group by (sender, meter, asset, subscription, region,
# UTC day of the start), aggregate by the meter's rule, bill the subscription's account with
# its effective plan (its own, else its nearest ancestor's), the unit price in force at the
# day's start (a region price first), the cost rounded to the currency's cents per row.
_RAW_ROWS = """
WITH RECURSIVE tree(account_id, plan_id) AS (
    SELECT a.id, b.price_plan_id FROM accounts_account a
    LEFT JOIN metering_accountbilling b ON b.account_id = a.id
    WHERE a.parent_id IS NULL
    UNION ALL
    SELECT a.id, coalesce(b.price_plan_id, t.plan_id) FROM accounts_account a
    JOIN tree t ON a.parent_id = t.account_id
    LEFT JOIN metering_accountbilling b ON b.account_id = a.id
)
SELECT gen_random_uuid(), s.account_id, g.sender, s.id, a.id, g.meter_id, g.region, g.day,
       g.service, g.source, g.quantity, p.id, pr.id, pr.unit_price, p.currency,
       round(g.quantity * pr.unit_price, %(places)s), g.events, now()
FROM (
    SELECT e.account_id AS sender, m.id AS meter_id, e.asset, e.subscription, e.region,
           (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
           CASE m.aggregation
               WHEN 'sum' THEN sum(e.quantity)
               WHEN 'max' THEN max(e.quantity)
               WHEN 'average' THEN round(avg(e.quantity), 6)
               WHEN 'latest' THEN (array_agg(e.quantity ORDER BY e.occurred_at DESC,
                                             e.event_id DESC)
                                   FILTER (WHERE m.aggregation = 'latest'))[1]
               WHEN 'unique_count' THEN 1
           END AS quantity,
           max(e.service) AS service, max(e.source) AS source, count(*) AS events
    FROM metering_usageevent e
    JOIN metering_meter m ON m.code = e.meter
    WHERE e.type = 'usage' AND {where}
    GROUP BY e.account_id, m.id, m.aggregation, e.asset, e.subscription, e.region, 6
) g
JOIN metering_subscription s ON s.external_id = g.subscription
JOIN metering_asset a ON a.account_id = g.sender AND a.asset_id = g.asset
JOIN tree t ON t.account_id = s.account_id
JOIN metering_priceplan p ON p.id = t.plan_id
CROSS JOIN LATERAL (
    SELECT mp.id, mp.unit_price FROM metering_meterprice mp
    WHERE mp.plan_id = p.id AND mp.meter_id = g.meter_id AND mp.region IN (g.region, '')
      AND mp.effective_from <= g.day::timestamp AT TIME ZONE 'UTC'
    ORDER BY mp.region = '', mp.effective_from DESC
    LIMIT 1
) pr
"""

_RAW_COLUMNS = (
    "uuid, account_id, sender_id, subscription_id, asset_id, meter_id, region, day, service, "
    "source, quantity, plan_id, price_id, unit_price, currency, cost, events, updated_at"
)

_RAW_UPSERT = f"""
INSERT INTO bench_raw_rows ({_RAW_COLUMNS})
{_RAW_ROWS.format(where="e.id > %(after)s")}
ON CONFLICT (account_id, subscription_id, asset_id, meter_id, region, day, adjustment_for)
DO UPDATE SET sender_id = excluded.sender_id, service = excluded.service,
    source = excluded.source, quantity = excluded.quantity, plan_id = excluded.plan_id,
    price_id = excluded.price_id, unit_price = excluded.unit_price,
    currency = excluded.currency, cost = excluded.cost, events = excluded.events,
    updated_at = excluded.updated_at
"""


def _raw(statement: str, params: dict[str, Any]) -> float:
    """Time one raw statement with the settings a one-off query would get: enough memory to
    hash and sort in memory, no JIT."""
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SET jit = off")
        with timer() as elapsed:
            cursor.execute(statement, params)
        cursor.execute("RESET work_mem")
        cursor.execute("RESET jit")
    return elapsed()


def _totals(table: str, first: date, last: date) -> tuple:
    return tuple(
        sql(
            f"SELECT count(*), sum(cost), sum(quantity) FROM {table} WHERE day BETWEEN %s AND %s",
            [first, last],
        )[0]
    )


def _warm() -> None:
    """Read the events once, so whichever side runs first does not pay for the disk."""
    sql("SELECT count(*), sum(quantity) FROM metering_usageevent")


# -- 1. Generation -----------------------------------------------------------------------------


def _raw_generation() -> float:
    """The raw statement computing the month's rows into a fresh bare table."""
    sql("DROP TABLE IF EXISTS bench_raw_rows")
    sql("CREATE TABLE bench_raw_rows (LIKE metering_billingrow INCLUDING IDENTITY)")
    return _raw(
        f"INSERT INTO bench_raw_rows ({_RAW_COLUMNS}) "
        + _RAW_ROWS.format(where="e.occurred_at >= %(start)s AND e.occurred_at < %(end)s"),
        {"start": _midnight(MONTH), "end": _midnight(NEXT_MONTH), "places": PLACES},
    )


def generation(ctx: Context) -> Result:
    """Generation of a month whose usage the polls have rated (the rows are there and come
    out the same), twice interleaved with the raw statement, best of each; then, beside it,
    the first generation into an empty billing rows table."""
    count = ctx.scale(5_000_000, 50_000)
    subscriptions = ctx.scale(SUBSCRIPTIONS, 20)
    _world(subscriptions)
    with timer() as loading:
        _events(
            prefix="g", start=_midnight(MONTH), days=DAYS, count=count, subscriptions=subscriptions
        )
        vacuum_analyze("metering_usageevent")
    loaded = loading()
    last = MONTH + timedelta(days=DAYS - 1)
    now = _after(NEXT_MONTH)
    with timer() as polling:
        usage_rate(now=now)  # the assets exist, and the rows, as after the month's polls
    polled = polling()
    polled_totals = _totals("metering_billingrow", MONTH, last)
    vacuum_analyze("metering_billingrow", "metering_asset")
    _warm()
    ours_runs, raw_runs, written = [], [], 0
    for _ in range(2):
        raw_runs.append(_raw_generation())
        with timer() as elapsed:
            generated = billing_generate(start=MONTH, end=last, now=now)
        ours_runs.append(elapsed())
        written += generated.rating.rows_written
    raw_totals = _totals("bench_raw_rows", MONTH, last)
    sql("DROP TABLE bench_raw_rows")
    sql("TRUNCATE metering_billingrow CASCADE")
    with timer() as elapsed:
        billing_generate(start=MONTH, end=last, now=now)
    first = elapsed()
    our_totals = _totals("metering_billingrow", MONTH, last)
    same = our_totals == raw_totals == polled_totals and generated.rows == our_totals[0]
    ours, raw = min(ours_runs), min(raw_runs)
    return Result(
        name="1. billing generation (a month)",
        scale=f"{count:,} usage events of {subscriptions:,} subscriptions, {our_totals[0]:,} rows",
        ours=ours,
        raw=raw,
        unit="s",
        target="ours <= 1.5x raw",
        passed=ours <= 1.5 * raw and same,
        notes={
            "rows": our_totals[0],
            "total_cost": str(our_totals[1]),
            "raw_rows": raw_totals[0],
            "raw_total_cost": str(raw_totals[1]),
            "same_rows_and_cost": same,
            "ours_runs_s": [round(t, 3) for t in ours_runs],
            "raw_runs_s": [round(t, 3) for t in raw_runs],
            "rows_written_by_regeneration": written,
            "first_generation_into_empty_table_s": round(first, 3),
            "first_generation_ratio": round(first / raw, 2),
            "first_poll_of_the_month_s": round(polled, 3),
            "load_s": round(loaded, 1),
        },
    )


# -- 2. The poll -------------------------------------------------------------------------------


def poll(ctx: Context) -> Result:
    """The poll after the day before was rated (its assets exist): `count` new events over
    the next days, six readings a day of each series."""
    count = ctx.scale(1_000_000, 50_000)
    subscriptions = ctx.scale(SUBSCRIPTIONS, 20)
    _world(subscriptions)
    series = _series(subscriptions)
    _events(
        prefix="p",
        start=_midnight(MONTH) - timedelta(days=1),
        days=1,
        count=series,
        subscriptions=subscriptions,
    )
    usage_rate(now=_after(MONTH))
    after = UsageCursor.objects.get(name="usage").last_event_id
    days = max(1, round(count / series / 6))
    step = _events(
        prefix="n", start=_midnight(MONTH), days=days, count=count, subscriptions=subscriptions
    )
    vacuum_analyze("metering_usageevent", "metering_asset", "metering_billingrow")
    last = MONTH + timedelta(days=days - 1)
    _warm()
    sql("DROP TABLE IF EXISTS bench_raw_rows")
    sql("CREATE TABLE bench_raw_rows (LIKE metering_billingrow INCLUDING ALL)")
    raw = _raw(_RAW_UPSERT, {"after": after, "places": PLACES})
    raw_totals = _totals("bench_raw_rows", MONTH, last)
    sql("DROP TABLE bench_raw_rows")
    with timer() as elapsed:
        result = usage_rate(now=_after(last))
    ours = elapsed()
    our_totals = _totals("metering_billingrow", MONTH, last)
    same = our_totals == raw_totals
    return Result(
        name="2. poll (usage rating)",
        scale=f"{count:,} new usage events over {days} days, {our_totals[0]:,} rows",
        ours=ours,
        raw=raw,
        unit="s",
        target="ours <= 2x raw",
        passed=ours <= 2 * raw and same and result.events == count,
        notes={
            "rows": our_totals[0],
            "total_cost": str(our_totals[1]),
            "raw_rows": raw_totals[0],
            "raw_total_cost": str(raw_totals[1]),
            "same_rows_and_cost": same,
            "events_rated": result.events,
            "reading_step_s": round(step),
        },
    )


# -- 3. The Billing page and 4. its CSV -----------------------------------------------------------


# Billing rows straight into the table: key g % K (an asset and a meter) on day g / K, K keys
# a day, so `count` rows fill the month.
_ROWS_SQL = """
WITH assets AS (
    SELECT id, account_id, row_number() OVER (ORDER BY id) - 1 AS n FROM metering_asset
), subs AS (
    SELECT id, account_id, region, row_number() OVER (ORDER BY id) - 1 AS n
    FROM metering_subscription
), meters AS (
    SELECT m.id, p.id AS price_id, p.plan_id, p.unit_price,
           row_number() OVER (ORDER BY m.id) - 1 AS n
    FROM metering_meter m JOIN metering_meterprice p ON p.meter_id = m.id AND p.region = ''
    WHERE p.effective_from = (SELECT min(effective_from) FROM metering_meterprice)
)
INSERT INTO metering_billingrow (uuid, account_id, sender_id, subscription_id, asset_id,
    meter_id, region, day, service, source, quantity, plan_id, price_id, unit_price, currency,
    cost, events, updated_at)
SELECT gen_random_uuid(), s.account_id, a.account_id, s.id, a.id, m.id, s.region,
       %(first)s::date + (g / %(keys)s)::int, 'compute', 'virtual_machine', q.q, m.plan_id,
       m.price_id, m.unit_price, 'EUR', round(q.q * m.unit_price, 2), 6, now()
FROM generate_series(0, %(count)s - 1) AS g
JOIN assets a ON a.n = (g %% %(keys)s) / 4
JOIN subs s ON s.n = a.n %% %(subscriptions)s
JOIN meters m ON m.n = g %% 4
CROSS JOIN LATERAL (SELECT round((1 + random() * 100)::numeric, 6) AS q) q
"""


def _rows_world(big: int, small: int) -> None:
    """The world, its assets, `big` billing rows in MONTH and `small` in NEXT_MONTH."""
    subscriptions = SUBSCRIPTIONS
    _world(subscriptions)
    keys = -(-big // DAYS)
    sql(
        "INSERT INTO metering_asset (uuid, account_id, asset_id, source, description,"
        " first_seen_at, last_seen_at, updated_at)"
        " SELECT gen_random_uuid(), s.account_id, 'vm-' || n, 'virtual_machine', '',"
        " %(seen)s, %(seen)s, now()"
        " FROM generate_series(0, %(assets)s - 1) n,"
        " LATERAL (SELECT (array_agg(id ORDER BY slug))"
        "[1 + (n %% %(subscriptions)s %% %(tenants)s) / %(tenants_per_partner)s]"
        " AS account_id FROM accounts_account WHERE slug LIKE 'bu-host-%%') s",
        {
            "seen": _midnight(MONTH),
            "assets": -(-keys // 4),
            "subscriptions": subscriptions,
            "tenants": TENANTS,
            "tenants_per_partner": TENANTS_PER_PARTNER,
        },
    )
    sql("SELECT setseed(0.42)")
    for first, count in ((MONTH, big), (NEXT_MONTH, small)):
        sql(
            _ROWS_SQL,
            {
                "first": first,
                "count": count,
                "keys": -(-count // DAYS),
                "subscriptions": subscriptions,
            },
        )
    vacuum_analyze("metering_billingrow", "metering_asset")


def _staff_client() -> Client:
    """Platform staff viewing the bench platform's whole tree."""
    user, _ = get_user_model().objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True}
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    root = Account.objects.get(slug=ROOT_SLUG)
    client.post(reverse("accounts:switch"), {"account": str(root.uuid)})
    return client


def _range(first: date) -> str:
    return f"?start={first:%Y-%m-%d}&end={first + timedelta(days=DAYS - 1):%Y-%m-%d}"


def grid_page(ctx: Context) -> Result:
    big = ctx.scale(1_000_000, 50_000)
    name, target = "3. Billing page", "big <= 1.5x small, same queries"
    scale = f"a month of {big:,} billing rows vs one of 1,000"
    url = reverse("invoices:grid")
    _rows_world(big, 1_000)
    client = _staff_client()

    def page(first: date) -> Callable[[], None]:
        def get() -> None:
            response = client.get(url + _range(first))
            assert response.status_code == 200, response.status_code

        return get

    queries, first_views = {}, {}
    with override_settings(DEBUG=False):
        for first in (MONTH, NEXT_MONTH):
            first_views[first], queries[first] = first_view_and_queries(page(first))
        ours = best_of(5, page(MONTH))
        raw = best_of(5, page(NEXT_MONTH))
    return Result(
        name=name,
        scale=scale,
        ours=ours,
        raw=raw,
        unit="s",
        target=target,
        passed=ours <= 1.5 * raw and queries[MONTH] == queries[NEXT_MONTH],
        notes={
            "queries_big": queries[MONTH],
            "queries_small": queries[NEXT_MONTH],
            "first_view_big_s": first_views[MONTH],
            "first_view_small_s": first_views[NEXT_MONTH],
        },
    )


# The columns of the grid's CSV, as they are stored (no formula guard, no rounding), in the
# grid's order of days.
_COPY_SQL = """
COPY (
    SELECT r.day, acc.name, s.name, s.external_id, s.platform, r.region, a.asset_id, r.service,
           m.name, r.quantity, m.unit, r.unit_price, r.cost, r.currency, r.adjustment_for,
           r.uuid
    FROM metering_billingrow r
    JOIN accounts_account acc ON acc.id = r.account_id
    LEFT JOIN metering_subscription s ON s.id = r.subscription_id
    JOIN metering_asset a ON a.id = r.asset_id
    JOIN metering_meter m ON m.id = r.meter_id
    WHERE r.day BETWEEN %s AND %s
    ORDER BY r.day DESC, r.id
) TO STDOUT WITH (FORMAT csv)
"""


def grid_csv(ctx: Context) -> Result:
    count = ctx.scale(1_000_000, 50_000)
    name = "4. Billing page CSV"
    target = "ours/raw >= 0.5, memory growth < 50 MB"
    scale = f"{count:,} billing rows of a month"
    url = reverse("invoices:grid")
    _rows_world(count, 1_000)
    last = MONTH + timedelta(days=DAYS - 1)
    client = _staff_client()

    def raw_copy() -> None:
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(_COPY_SQL, [MONTH, last]) as copy,
        ):
            for _ in copy:
                pass

    raw_seconds = best_of(2, raw_copy)
    download = stream_download(client, url + _range(MONTH) + "&export=csv")
    ours, raw = count / download.seconds, count / raw_seconds
    return Result(
        name=name,
        scale=scale,
        ours=ours,
        raw=raw,
        unit="rows/s",
        target=target,
        passed=download.status == 200
        and ours / raw >= 0.5
        and download.memory_growth_mb < 50
        and download.newlines == count + 1,
        notes={
            "memory_growth_mb": round(download.memory_growth_mb, 1),
            "lines_with_header": download.newlines,
            "bytes": download.size,
            "seconds": round(download.seconds, 3),
        },
    )
