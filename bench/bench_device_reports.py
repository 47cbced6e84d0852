"""Monthly device usage reports vs the raw query.

Scale (full): 1,000 accounts (40 aggregators with 24 tenants each), 200,000 devices and
5,000,000 device connections in one month, plus 250,000 in each neighbouring month so the month
boundary has to be respected. Events are generated in time order with accounts interleaved, as
ingest stores them.

Ours: `usage_reports_generate` for the month, the whole job: the one-scan SQL, the per-account
figures, the gzipped CSV files of every account (its own rows and those of its tenants) written
to storage, and the report rows. Raw: `SELECT account_id, COUNT(DISTINCT device_id) ... GROUP
BY account_id` over the same rows, fetched. PostgreSQL's planner may run that either with the
idempotency index (in account order) or with a sort; we time both plans and compare with the
faster. Target: ours <= 1.5x raw. Each side is timed three times, interleaved; the best counts.
"""

from datetime import UTC, datetime

from django.db import connection, transaction

from accounts.models import Account, AccountKind
from metering.models import UsageReport, UsageReportMonth
from metering.months import Month
from metering.services.reports import usage_reports_generate

from .harness import Context, Result, best_of, current_rss_mb, sql, timer, vacuum_analyze

MONTH = Month(2026, 4)
AGGREGATORS = 40
TENANTS_PER_AGGREGATOR = 24
DEVICES_PER_ACCOUNT = 200
TARGET = 1.5

RAW = """
SELECT account_id, COUNT(DISTINCT device_id) FROM metering_usageevent
WHERE type = 'device_connection' AND occurred_at >= %s AND occurred_at < %s
GROUP BY account_id
"""

# Events spread evenly over a period in time order; event g belongs to account (g mod N) and
# to one of that account's devices.
GENERATE = """
INSERT INTO metering_usageevent (account_id, event_id, type, occurred_at, received_at,
    fingerprint, machine_id, machine_type, region, pool, license_type, device_id,
    endpoint_name, category, event_name)
SELECT a.ids[1 + g %% a.n], %(prefix)s || g, 'device_connection',
       %(start)s::timestamptz
           + (g::float8 / %(events)s) * (%(end)s::timestamptz - %(start)s::timestamptz),
       now(), md5(g::text), '', '', '', '', '',
       'dev-' || ((g / a.n) * 7919 %% %(devices)s),
       'endpoint-' || ((g / a.n) * 7919 %% %(devices)s), '', ''
FROM generate_series(0, %(events)s - 1) AS g,
     (SELECT array_agg(id ORDER BY id) AS ids, count(*)::int AS n FROM accounts_account
      WHERE slug LIKE 'bench-%%') AS a
"""


def _accounts() -> int:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    aggregators = Account.objects.bulk_create(
        Account(
            name=f"Bench aggregator {i:03d}",
            slug=f"bench-agg-{i:03d}",
            kind=AccountKind.CUSTOMER,
            created_at=now,
        )
        for i in range(AGGREGATORS)
    )
    Account.objects.bulk_create(
        Account(
            name=f"Bench tenant {i:03d}-{j:02d}",
            slug=f"bench-tenant-{i:03d}-{j:02d}",
            kind=AccountKind.CUSTOMER,
            parent=aggregator,
            created_at=now,
        )
        for i, aggregator in enumerate(aggregators)
        for j in range(TENANTS_PER_AGGREGATOR)
    )
    return Account.objects.filter(slug__startswith="bench-").count()


def _generate(prefix: str, start: datetime, end: datetime, events: int, devices: int) -> None:
    sql(
        GENERATE,
        {"prefix": prefix, "start": start, "end": end, "events": events, "devices": devices},
    )


def _forget_month() -> None:
    """Between timed runs: remove the generated month (the tables refuse deletes by trigger,
    so as a replica session, where ordinary triggers do not fire)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM metering_usagereport")
        cursor.execute("DELETE FROM metering_usagereportmonth")


def _ours() -> None:
    usage_reports_generate(
        month=MONTH,
        campaign_names={},
        packaged_account_ids=set(),
        now=datetime(2026, 5, 6, tzinfo=UTC),
    )


def _raw(plan: str) -> list[tuple]:
    with transaction.atomic(), connection.cursor() as cursor:
        if plan == "sort":
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(RAW, [MONTH.start, MONTH.end])
        return cursor.fetchall()


def run(ctx: Context) -> list[Result]:
    accounts = _accounts()
    events = ctx.scale(5_000_000, 250_000)
    edge = events // 20
    devices = ctx.scale(DEVICES_PER_ACCOUNT, 20)
    with timer() as loading:
        _generate("m-", MONTH.start, MONTH.end, events, devices)
        _generate("p-", MONTH.previous().start, MONTH.start, edge, devices)
        _generate("n-", MONTH.end, MONTH.next().end, edge, devices)
        vacuum_analyze("metering_usageevent", "accounts_account")
    loaded = loading()

    raw_times = {"default": [], "sort": []}
    ours_times = []
    expected = dict(_raw("default"))
    for _ in range(3):
        for plan in raw_times:
            raw_times[plan].append(best_of(1, lambda plan=plan: _raw(plan)))
        ours_times.append(best_of(1, _ours, setup=_forget_month))

    # The figures must be the raw query's, account by account.
    reported = dict(
        UsageReport.objects.filter(month=MONTH.first_day, active_devices__gt=0).values_list(
            "account_id", "active_devices"
        )
    )
    header = UsageReportMonth.objects.get(month=MONTH.first_day)
    correct = reported == expected and header.active_devices == sum(expected.values())

    ours = min(ours_times)
    raw_default, raw_sort = min(raw_times["default"]), min(raw_times["sort"])
    raw = min(raw_default, raw_sort)
    plan = sql(f"EXPLAIN {RAW}", [MONTH.start, MONTH.end])
    return [
        Result(
            name="device usage reports for a month",
            scale=f"{accounts:,} accounts, {events:,} connections of "
            f"{accounts * devices:,} devices in the month (+{2 * edge:,} around it)",
            ours=ours,
            raw=raw,
            unit="s",
            target=f"ours <= {TARGET}x raw",
            passed=correct and ours <= TARGET * raw,
            notes={
                "figures_match_raw": correct,
                "active_devices": header.active_devices,
                "report_accounts": header.accounts,
                "raw_default_plan_s": round(raw_default, 3),
                "raw_sort_plan_s": round(raw_sort, 3),
                "raw_default_plan": plan[0][0],
                "ours_runs_s": [round(t, 3) for t in ours_times],
                "load_s": round(loaded, 1),
                "rss_mb": round(current_rss_mb(), 1),
            },
        )
    ]
