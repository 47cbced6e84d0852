"""The set-based SQL of the usage rating (metering.services.usage_rating), in the order it runs.

Every statement works on temporary tables the rating creates per transaction:
- usage_scope(account_id, day): the (sending account, UTC day) pairs to recompute;
- usage_plans(account_id, plan_id, currency, places, markup): each account's effective plan;
- usage_subs(sender, external_id, subscription_id, account_id, matches): the subscriptions
  each sending account may name (its own and those of every account below it);
- usage_calc: the recomputed rows of the scope, one per group of events, priced or with the
  reason they cannot be billed yet.

The day of an event (`_DAY`, `_DAYS_*`) is the one place the selection mode lives: off, a window
belongs wholly to the day its start falls in; on, a window counts in every day it overlaps, a
`sum` meter's quantity (and an imported cost) split in proportion to its time in each day,
parts rounded to 6 decimals and the last part taking the remainder.
"""

# The UTC day a timestamp falls in.
_DAY = "(({col}) AT TIME ZONE 'UTC')::date"

# The last day a window [start, end) overlaps; a point's (or an empty window's) own day.
_LAST_DAY = (
    "CASE WHEN e.ends_at > e.occurred_at "
    "THEN ((e.ends_at - interval '1 microsecond') AT TIME ZONE 'UTC')::date "
    f"ELSE {_DAY.format(col='e.occurred_at')} END"
)

# Each event's days with its part of the quantity (q) and of the imported cost (c).
DAYS_BY_START = f"""
CROSS JOIN LATERAL (
    SELECT {_DAY.format(col="e.occurred_at")} AS day, e.quantity AS q, e.cost AS c
) d"""

DAYS_BY_OVERLAP = f"""
CROSS JOIN LATERAL (
    SELECT p.day,
           CASE WHEN p.split AND p.last THEN e.quantity - (sum(p.q) OVER () - p.q)
                ELSE p.q END AS q,
           CASE WHEN p.split AND p.last THEN e.cost - (sum(p.c) OVER () - p.c)
                ELSE p.c END AS c
    FROM (
        SELECT g.day::date AS day, g.day::date = {_LAST_DAY} AS last, s.split,
               CASE WHEN s.split THEN round(e.quantity * s.share, 6) ELSE e.quantity END AS q,
               CASE WHEN s.split THEN round(e.cost * s.share, 6) ELSE e.cost END AS c
        FROM generate_series({_DAY.format(col="e.occurred_at")}::timestamp,
                             ({_LAST_DAY})::timestamp, interval '1 day') AS g(day)
        CROSS JOIN LATERAL (
            SELECT m.aggregation = 'sum' AND e.ends_at > e.occurred_at
                   AND {_LAST_DAY} > {_DAY.format(col="e.occurred_at")} AS split,
                   CASE WHEN e.ends_at > e.occurred_at THEN
                       extract(epoch FROM least(e.ends_at, (g.day + interval '1 day')
                                                           AT TIME ZONE 'UTC')
                                        - greatest(e.occurred_at, g.day AT TIME ZONE 'UTC'))
                       / extract(epoch FROM e.ends_at - e.occurred_at)
                   END AS share
        ) s
    ) p
) d"""  # noqa: S608 - fixed SQL fragments, no input

# The (sending account, day) pairs of some usage events: their whole days in either mode.
SCOPE_FROM_EVENTS = """
INSERT INTO usage_scope (account_id, day)
SELECT DISTINCT e.account_id, d.day
FROM metering_usageevent e
LEFT JOIN metering_meter m ON m.code = e.meter
{days}
WHERE e.type = 'usage' AND {where}
ON CONFLICT DO NOTHING
"""

# The (sending account, day) pairs of rows not invoiced whose references changed since a moment:
# a price of their plan and meter added that is in force on their day, their plan's markup,
# their asset's assignment, their subscription, or the plan of their account or an account
# above it.
SCOPE_FROM_CHANGED_REFERENCES = """
WITH RECURSIVE replanned(id) AS (
    SELECT account_id FROM metering_accountbilling WHERE updated_at >= %(since)s
    UNION
    SELECT a.id FROM accounts_account a JOIN replanned r ON a.parent_id = r.id
)
INSERT INTO usage_scope (account_id, day)
SELECT DISTINCT r.sender_id, r.day
FROM metering_billingrow r
WHERE NOT EXISTS (SELECT 1 FROM metering_invoicedday i
                  WHERE i.account_id = r.account_id AND i.day = r.day)
  AND (EXISTS (SELECT 1 FROM metering_meterprice p
               WHERE p.plan_id = r.plan_id AND p.meter_id = r.meter_id
                 AND p.created_at >= %(since)s
                 AND p.effective_from < (r.day + 1)::timestamp AT TIME ZONE 'UTC')
       OR r.plan_id IN (SELECT id FROM metering_priceplan WHERE updated_at >= %(since)s)
       OR r.asset_id IN (SELECT id FROM metering_asset WHERE updated_at >= %(since)s)
       OR r.subscription_id IN (
           SELECT id FROM metering_subscription WHERE updated_at >= %(since)s)
       OR r.account_id IN (SELECT id FROM replanned))
ON CONFLICT DO NOTHING
"""

# Assets on first sight, in the sending account's namespace: source and description from the
# first event; the client it names (checked visible at ingest), else the sender when nothing
# sits below it, else none. Later events only widen first and last seen.
REGISTER_ASSETS = """
INSERT INTO metering_asset (uuid, account_id, asset_id, source, description, client_id,
                            first_seen_at, last_seen_at, updated_at)
SELECT gen_random_uuid(), f.account_id, f.asset, first.source, first.description,
       coalesce(client.id, CASE WHEN NOT EXISTS (
           SELECT 1 FROM accounts_account below WHERE below.parent_id = f.account_id
       ) THEN f.account_id END),
       f.first_seen, f.last_seen, %(now)s
FROM (
    SELECT e.account_id, e.asset, min(e.id) AS first_id, min(e.occurred_at) AS first_seen,
           max(coalesce(e.ends_at, e.occurred_at)) AS last_seen
    FROM metering_usageevent e
    WHERE e.type = 'usage' AND e.id > %(after)s AND e.id <= %(upto)s
    GROUP BY e.account_id, e.asset
) f
JOIN metering_usageevent first ON first.id = f.first_id
LEFT JOIN accounts_account client ON client.uuid = first.client
ON CONFLICT (account_id, asset_id) DO UPDATE
SET first_seen_at = least(metering_asset.first_seen_at, excluded.first_seen_at),
    last_seen_at = greatest(metering_asset.last_seen_at, excluded.last_seen_at)
WHERE excluded.first_seen_at < metering_asset.first_seen_at
   OR excluded.last_seen_at > metering_asset.last_seen_at
"""

# How many new usage events there are and their longest window, in one reading.
NEW_EVENTS = """
SELECT count(*), coalesce(max(extract(epoch FROM e.ends_at - e.occurred_at)), 0)::bigint
FROM metering_usageevent e
WHERE e.type = 'usage' AND e.id > %(after)s AND e.id <= %(upto)s
"""

CREATE_TEMP_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS usage_scope (
    account_id bigint NOT NULL, day date NOT NULL, PRIMARY KEY (account_id, day)
) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS usage_plans (
    account_id bigint PRIMARY KEY, plan_id bigint, currency varchar(3), places integer,
    markup numeric
) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS usage_subs (
    sender bigint, external_id varchar(200), subscription_id bigint, account_id bigint,
    matches integer, PRIMARY KEY (sender, external_id)
) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS usage_calc (
    sender bigint, meter_code varchar(100), meter_id bigint, asset varchar(200),
    asset_pk bigint, subscription varchar(200), subscription_id bigint, region varchar(100),
    day date, quantity numeric, imported_cost numeric, service varchar(100),
    source varchar(100), events integer, account_id bigint, plan_id bigint,
    currency varchar(3), price_id bigint, unit_price numeric, cost numeric, reason text
) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS usage_wait (
    usage_event_id bigint PRIMARY KEY, account_id bigint, day date, reason text
) ON COMMIT DROP;
"""

FILL_PLANS = """
INSERT INTO usage_plans (account_id, plan_id, currency, places, markup)
SELECT w.account_id, w.plan_id, p.currency, w.places, p.markup_percent
FROM unnest(%(accounts)s::bigint[], %(plans)s::bigint[], %(places)s::integer[])
     AS w(account_id, plan_id, places)
JOIN metering_priceplan p ON p.id = w.plan_id
"""

# Every sending account of the scope sees its own subscriptions and those below it.
FILL_SUBSCRIPTIONS = """
WITH RECURSIVE senders AS (SELECT DISTINCT account_id FROM usage_scope),
tree(sender, account_id) AS (
    SELECT account_id, account_id FROM senders
    UNION ALL
    SELECT t.sender, a.id FROM accounts_account a JOIN tree t ON a.parent_id = t.account_id
)
INSERT INTO usage_subs (sender, external_id, subscription_id, account_id, matches)
SELECT t.sender, s.external_id, min(s.id), min(s.account_id), count(*)
FROM metering_subscription s JOIN tree t ON t.account_id = s.account_id
GROUP BY t.sender, s.external_id
"""

ANALYZE_LOOKUPS = "ANALYZE usage_scope, usage_subs, usage_plans"

# One group per (sending account, meter, asset, subscription, region, day) of the scope's
# events, aggregated by the meter's rule, then attributed, planned and priced. {days} is one
# of the DAYS_* joins; {window} narrows the events by start time and id.
CALCULATE = """
INSERT INTO usage_calc
SELECT g.sender, g.meter_code, g.meter_id, g.asset, a.id, g.subscription, s.subscription_id,
       g.region, g.day, g.quantity, g.imported_cost, g.service, g.source, g.events,
       b.account_id, pl.plan_id, pl.currency, pr.id, pr.unit_price,
       CASE WHEN g.imported_cost IS NOT NULL
            THEN round(g.imported_cost * (1 + pl.markup / 100), pl.places)
            ELSE round(g.quantity * pr.unit_price, pl.places) END,
       CASE
           WHEN g.meter_id IS NULL THEN format('Unknown meter ''%%s''', g.meter_code)
           WHEN g.subscription <> '' AND s.subscription_id IS NULL
               THEN format('Unknown subscription ''%%s''', g.subscription)
           WHEN s.matches > 1 THEN format(
               'Subscription id ''%%s'' names subscriptions on several platforms',
               g.subscription)
           WHEN b.account_id IS NULL
               THEN format('Asset ''%%s'' is not assigned to a client', g.asset)
           WHEN pl.plan_id IS NULL THEN 'No price plan for the billed account'
           WHEN g.imported_cost IS NULL AND pr.id IS NULL THEN format(
               'No price for meter ''%%s'' in force on %%s', g.meter_code, g.day)
       END
FROM (
    SELECT e.account_id AS sender, e.meter AS meter_code, m.id AS meter_id, e.asset,
           e.subscription, e.region, d.day,
           CASE m.aggregation
               WHEN 'sum' THEN sum(d.q)
               WHEN 'max' THEN max(d.q)
               WHEN 'average' THEN round(avg(d.q), 6)
               WHEN 'latest' THEN (array_agg(d.q ORDER BY e.occurred_at DESC, e.event_id DESC)
                                   FILTER (WHERE m.aggregation = 'latest'))[1]
               WHEN 'unique_count' THEN 1
           END AS quantity,
           sum(d.c) AS imported_cost, max(e.service) AS service, max(e.source) AS source,
           count(*) AS events
    FROM metering_usageevent e
    LEFT JOIN metering_meter m ON m.code = e.meter
    {days}
    {scope_join}
    WHERE e.type = 'usage' AND e.id <= %(upto)s
      AND e.occurred_at >= %(lo)s AND e.occurred_at < %(hi)s {day_filter}
    -- The sort follows these keys in order: numbers and the asset (which sets most groups
    -- apart) first, so most comparisons of a million events stop before the text keys.
    GROUP BY d.day, e.account_id, m.id, e.asset, e.meter, m.aggregation, e.subscription,
             e.region
) g
LEFT JOIN metering_asset a ON a.account_id = g.sender AND a.asset_id = g.asset
LEFT JOIN usage_subs s ON g.subscription <> '' AND s.sender = g.sender
                      AND s.external_id = g.subscription AND s.matches = 1
CROSS JOIN LATERAL (
    SELECT CASE WHEN g.subscription <> '' THEN s.account_id ELSE a.client_id END AS account_id
) b
LEFT JOIN usage_plans pl ON pl.account_id = b.account_id
LEFT JOIN LATERAL (
    SELECT p.id, p.unit_price FROM metering_meterprice p
    WHERE p.plan_id = pl.plan_id AND p.meter_id = g.meter_id AND p.region IN (g.region, '')
      AND p.effective_from <= g.day::timestamp AT TIME ZONE 'UTC'
    ORDER BY p.region = '', p.effective_from DESC
    LIMIT 1
) pr ON g.imported_cost IS NULL
"""

# Whether some group of a run of days cannot be billed yet: only then are its events looked up
# (a join the planner, knowing nothing of usage_calc yet, may otherwise start from the events).
ANY_WAITING = """
SELECT EXISTS (SELECT 1 FROM usage_calc
               WHERE reason IS NOT NULL AND day BETWEEN %(first)s AND %(last)s)
"""

# The rows of the scope are matched with usage_calc by key: an index keeps that a lookup a row
# whatever plan is picked for a billing rows table whose statistics lag behind the poll.
INDEX_CALC = (
    "CREATE INDEX IF NOT EXISTS usage_calc_key ON usage_calc (account_id, day, asset_pk, meter_id)"
)
ANALYZE_CALC = "ANALYZE usage_calc"

# The scope's rows on days not invoiced: written when new or changed, kept when equal.
_NOT_INVOICED = (
    "NOT EXISTS (SELECT 1 FROM metering_invoicedday i "
    "WHERE i.account_id = {t}.account_id AND i.day = {t}.day)"
)

UPSERT_ROWS = f"""
INSERT INTO metering_billingrow (
    uuid, account_id, sender_id, subscription_id, asset_id, meter_id, region, day,
    adjustment_for, service, source, quantity, plan_id, price_id, unit_price, imported_cost,
    currency, cost, events, updated_at)
SELECT gen_random_uuid(), c.account_id, c.sender, c.subscription_id, c.asset_pk, c.meter_id,
       c.region, c.day, NULL, c.service, c.source, c.quantity, c.plan_id, c.price_id,
       c.unit_price, c.imported_cost, c.currency, c.cost, c.events, %(now)s
FROM usage_calc c
WHERE c.reason IS NULL AND {_NOT_INVOICED.format(t="c")}
  -- Rows already stored as computed are left out in one hash anti-join (the key compared
  -- with plain equalities, so it can hash), rather than probed one by one by ON CONFLICT.
  AND NOT EXISTS (
      SELECT 1 FROM metering_billingrow r
      WHERE r.account_id = c.account_id AND r.asset_id = c.asset_pk
        AND coalesce(r.subscription_id, 0) = coalesce(c.subscription_id, 0)
        AND r.meter_id = c.meter_id AND r.region = c.region AND r.day = c.day
        AND r.adjustment_for IS NULL
        AND (r.sender_id, r.service, r.source, r.quantity, r.plan_id, r.price_id,
             r.unit_price, r.imported_cost, r.currency, r.cost, r.events)
            IS NOT DISTINCT FROM
            (c.sender, c.service, c.source, c.quantity, c.plan_id, c.price_id, c.unit_price,
             c.imported_cost, c.currency, c.cost, c.events)
  )
ON CONFLICT ON CONSTRAINT one_billing_row_per_key DO UPDATE
SET sender_id = excluded.sender_id, service = excluded.service, source = excluded.source,
    quantity = excluded.quantity, plan_id = excluded.plan_id, price_id = excluded.price_id,
    unit_price = excluded.unit_price, imported_cost = excluded.imported_cost,
    currency = excluded.currency, cost = excluded.cost, events = excluded.events,
    updated_at = excluded.updated_at
WHERE (metering_billingrow.sender_id, metering_billingrow.service, metering_billingrow.source,
       metering_billingrow.quantity, metering_billingrow.plan_id, metering_billingrow.price_id,
       metering_billingrow.unit_price, metering_billingrow.imported_cost,
       metering_billingrow.currency, metering_billingrow.cost, metering_billingrow.events)
      IS DISTINCT FROM
      (excluded.sender_id, excluded.service, excluded.source, excluded.quantity,
       excluded.plan_id, excluded.price_id, excluded.unit_price, excluded.imported_cost,
       excluded.currency, excluded.cost, excluded.events)
"""  # noqa: S608 - fixed SQL fragments, no input

# A row of the scope (not an adjustment, on a day not invoiced) whose group no longer bills.
DELETE_STALE_ROWS = f"""
DELETE FROM metering_billingrow r
USING usage_scope sc
WHERE r.sender_id = sc.account_id AND r.day = sc.day AND r.adjustment_for IS NULL
  AND {_NOT_INVOICED.format(t="r")}
  AND NOT EXISTS (
      SELECT 1 FROM usage_calc c
      WHERE c.reason IS NULL AND c.account_id = r.account_id AND c.asset_pk = r.asset_id
        AND coalesce(c.subscription_id, 0) = coalesce(r.subscription_id, 0)
        AND c.meter_id = r.meter_id AND c.region = r.region AND c.day = r.day
  )
"""  # noqa: S608 - fixed SQL fragments, no input

# Adjustments concern invoiced days only (an open adjustment row is for an invoiced day too),
# so when no account has an invoiced day among the scope's days there is nothing to look at.
ANY_INVOICED = """
SELECT EXISTS (SELECT 1 FROM metering_invoicedday i
               WHERE i.day BETWEEN (SELECT min(day) FROM usage_scope)
                               AND (SELECT max(day) FROM usage_scope))
"""

# For each key of the scope on an invoiced day: what the day's usage now comes to, what the
# invoiced rows (the day's own and its invoiced adjustments) already billed, and the open
# adjustment row carrying the difference, if any. Only keys where these disagree come back.
ADJUSTMENTS = """
WITH wanted AS (
    SELECT c.account_id, c.sender, c.subscription_id, c.asset_pk AS asset_id, c.meter_id,
           c.region, c.day AS for_day, c.quantity, c.imported_cost, c.cost, c.plan_id,
           c.price_id, c.unit_price, c.currency, c.service, c.source, c.events
    FROM usage_calc c
    WHERE c.reason IS NULL AND EXISTS (
        SELECT 1 FROM metering_invoicedday i WHERE i.account_id = c.account_id AND i.day = c.day)
), scoped AS (
    SELECT r.*, coalesce(r.adjustment_for, r.day) AS for_day,
           EXISTS (SELECT 1 FROM metering_invoicedday i
                   WHERE i.account_id = r.account_id AND i.day = r.day) AS invoiced
    FROM metering_billingrow r
    JOIN usage_scope sc ON sc.account_id = r.sender_id
                       AND sc.day = coalesce(r.adjustment_for, r.day)
), billed AS (
    SELECT account_id, subscription_id, asset_id, meter_id, region, for_day,
           sum(quantity) FILTER (WHERE invoiced) AS quantity,
           sum(imported_cost) FILTER (WHERE invoiced) AS imported_cost,
           sum(cost) FILTER (WHERE invoiced) AS cost,
           max(id) FILTER (WHERE NOT invoiced AND adjustment_for IS NOT NULL) AS open_id
    FROM scoped
    GROUP BY account_id, subscription_id, asset_id, meter_id, region, for_day
)
SELECT coalesce(w.account_id, b.account_id), w.sender, coalesce(w.subscription_id,
       b.subscription_id), coalesce(w.asset_id, b.asset_id), coalesce(w.meter_id, b.meter_id),
       coalesce(w.region, b.region), coalesce(w.for_day, b.for_day),
       coalesce(w.quantity, 0) - coalesce(b.quantity, 0),
       coalesce(w.imported_cost, 0) - coalesce(b.imported_cost, 0),
       coalesce(w.cost, 0) - coalesce(b.cost, 0),
       w.plan_id, w.price_id, w.unit_price, w.currency, w.service, w.source,
       coalesce(w.events, 0), b.open_id
FROM wanted w
FULL JOIN billed b
  ON b.account_id = w.account_id AND b.subscription_id IS NOT DISTINCT FROM w.subscription_id
 AND b.asset_id = w.asset_id AND b.meter_id = w.meter_id AND b.region = w.region
 AND b.for_day = w.for_day
WHERE (w.account_id IS NOT NULL OR b.open_id IS NOT NULL)
  AND (b.open_id IS NOT NULL OR coalesce(w.cost, 0) <> coalesce(b.cost, 0)
       OR coalesce(w.quantity, 0) <> coalesce(b.quantity, 0))
"""

# Usage of the scope that did not make a row: each event with its group's reason (an event
# overlapping several days keeps one entry, the first reason found). The scope's entries not
# found again are billed now and go; the others keep when they were first seen.

WAITING_FIND = """
INSERT INTO usage_wait (usage_event_id, account_id, day, reason)
SELECT DISTINCT ON (e.id) e.id, e.account_id, {start_day}, c.reason
FROM usage_calc c
JOIN metering_usageevent e
  ON e.account_id = c.sender AND e.meter = c.meter_code AND e.asset = c.asset
 AND e.subscription = c.subscription AND e.region = c.region
LEFT JOIN metering_meter m ON m.code = e.meter
{days}
WHERE c.reason IS NOT NULL AND e.type = 'usage' AND e.id <= %(upto)s
  AND e.occurred_at >= %(lo)s AND e.occurred_at < %(hi)s AND d.day = c.day
ORDER BY e.id, c.day
ON CONFLICT DO NOTHING
"""

WAITING_START_DAY = _DAY.format(col="e.occurred_at")

WAITING_CLEAR = """
DELETE FROM metering_waitingusage w
USING usage_scope sc
WHERE w.account_id = sc.account_id AND w.day = sc.day
  AND NOT EXISTS (SELECT 1 FROM usage_wait u WHERE u.usage_event_id = w.usage_event_id)
"""

WAITING_KEEP = """
INSERT INTO metering_waitingusage (usage_event_id, account_id, day, reason, first_seen_at,
                                   last_tried_at)
SELECT u.usage_event_id, u.account_id, u.day, u.reason, %(now)s, %(now)s FROM usage_wait u
ON CONFLICT (usage_event_id) DO UPDATE
SET reason = excluded.reason, last_tried_at = excluded.last_tried_at
"""
