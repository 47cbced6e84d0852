"""Which price plan bills an account: its own, else its nearest ancestor's. The one place that
rule lives; the rating embeds `EFFECTIVE_PLAN_SQL` to apply it to many accounts at once."""

from collections.abc import Iterable

from django.db import connection

from accounts.models import Account

from .models import AccountBilling, PricePlan

# Deeper than any real tree; only stops a walk that a broken parent chain would never end.
MAX_DEPTH = 64

# (account_id, price_plan_id) for each account in the array parameter that has a plan of its
# own or above it: the nearest one wins. Accounts without any are absent.
EFFECTIVE_PLAN_SQL = f"""
WITH RECURSIVE chain(account_id, ancestor_id, depth) AS (
    SELECT a.id, a.id, 0 FROM {Account._meta.db_table} a WHERE a.id = ANY(%s)
    UNION ALL
    SELECT c.account_id, a.parent_id, c.depth + 1
    FROM chain c JOIN {Account._meta.db_table} a ON a.id = c.ancestor_id
    WHERE a.parent_id IS NOT NULL AND c.depth < {MAX_DEPTH}
)
SELECT DISTINCT ON (c.account_id) c.account_id, b.price_plan_id
FROM chain c
JOIN {AccountBilling._meta.db_table} b
    ON b.account_id = c.ancestor_id AND b.price_plan_id IS NOT NULL
ORDER BY c.account_id, c.depth
"""  # noqa: S608 - the table names are ours, the ids are bound


def effective_plan_ids(account_ids: Iterable[int]) -> dict[int, int | None]:
    """Each account's effective price plan id (None when neither it nor any account above it
    has a plan), in one query whatever the number of accounts."""
    ids = sorted(set(account_ids))
    found: dict[int, int | None] = dict.fromkeys(ids)
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(EFFECTIVE_PLAN_SQL, [ids])
            found.update(cursor.fetchall())
    return found


def effective_plans(account_ids: Iterable[int]) -> dict[int, PricePlan | None]:
    """Each account's effective price plan: its own, else its nearest ancestor's, else None."""
    plan_ids = effective_plan_ids(account_ids)
    plans = PricePlan.objects.in_bulk({pk for pk in plan_ids.values() if pk is not None})
    return {account_id: plans.get(pk) if pk else None for account_id, pk in plan_ids.items()}


def own_plans(account_ids: Iterable[int]) -> dict[int, PricePlan | None]:
    """Each account's own price plan, None when it has none (it then uses an ancestor's)."""
    ids = set(account_ids)
    found: dict[int, PricePlan | None] = dict.fromkeys(ids)
    billing = AccountBilling.objects.filter(account_id__in=ids, price_plan__isnull=False)
    found.update((b.account_id, b.price_plan) for b in billing.select_related("price_plan"))
    return found
