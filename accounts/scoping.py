"""Tenancy: what an actor (a signed-in user or an API key) may see.

Every page, download and API call reaches customer data through these functions. An actor sees
the accounts it belongs to and every account below them; platform staff and admin keys see all.
Anything outside is a 404, never a 403 and never a leak.
"""

from collections.abc import Iterable
from typing import TypeVar
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from .models import PLATFORM_KEY_ROLES, Account, ApiKey


class SystemActor:
    """The platform itself (management commands, jobs): sees every account. Passed explicitly,
    so a missing actor can never widen what a request sees."""

    is_authenticated = True
    is_active = True
    is_staff = True

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = SystemActor()

Actor = AbstractBaseUser | AnonymousUser | ApiKey | SystemActor
M = TypeVar("M", bound=Model)

_CACHE_ATTR = "_visible_account_ids"


def subtree_ids(root_ids: Iterable[int]) -> frozenset[int]:
    """The given accounts and every account below them, in one recursive query."""
    roots = sorted(set(root_ids))
    if not roots:
        return frozenset()
    table = Account._meta.db_table
    placeholders = ", ".join(["%s"] * len(roots))
    sql = (
        f"WITH RECURSIVE tree(id) AS ("  # noqa: S608 - table name is ours, values are bound
        f" SELECT id FROM {table} WHERE id IN ({placeholders})"
        f" UNION SELECT a.id FROM {table} a JOIN tree t ON a.parent_id = t.id"
        f") SELECT id FROM tree"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, roots)
        return frozenset(row[0] for row in cursor.fetchall())


def ancestor_ids(account: Account) -> list[int]:
    """The account and the accounts above it, nearest first."""
    chain = [account.id]
    parent_id = account.parent_id
    while parent_id is not None and parent_id not in chain:
        chain.append(parent_id)
        parent_id = Account.objects.filter(id=parent_id).values_list("parent_id", flat=True).get()
    return chain


def sees_everything(actor: Actor) -> bool:
    if isinstance(actor, SystemActor):
        return True
    if isinstance(actor, ApiKey):
        return actor.role in PLATFORM_KEY_ROLES
    return bool(actor.is_authenticated and actor.is_active and actor.is_staff)


def visible_account_ids(actor: Actor) -> frozenset[int] | None:
    """Ids of the accounts the actor may see, or None when it may see every account."""
    if sees_everything(actor):
        return None
    cached = getattr(actor, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    if isinstance(actor, ApiKey):
        ids = subtree_ids([actor.account_id]) if actor.account_id else frozenset()
    elif actor.is_authenticated and actor.is_active:
        ids = subtree_ids(actor.memberships.values_list("account_id", flat=True))
    else:
        ids = frozenset()
    setattr(actor, _CACHE_ATTR, ids)
    return ids


def visible_accounts(actor: Actor) -> QuerySet[Account]:
    ids = visible_account_ids(actor)
    accounts = Account.objects.all()
    return accounts if ids is None else accounts.filter(id__in=ids)


def can_see_account(actor: Actor, account_id: int) -> bool:
    ids = visible_account_ids(actor)
    return ids is None or account_id in ids


def scope(
    queryset: QuerySet[M], actor: Actor, *, field: str | tuple[str, ...] = "account"
) -> QuerySet[M]:
    """Rows of `queryset` whose `field` (an Account foreign key path) the actor may see; given
    several fields, rows where any of them is visible (an asset: its client or its sender)."""
    ids = visible_account_ids(actor)
    if ids is None:
        return queryset
    fields = (field,) if isinstance(field, str) else field
    visible = Q()
    for name in fields:
        visible |= Q(**{f"{name}__in": ids})
    return queryset.filter(visible)


def scope_to(
    queryset: QuerySet[M], account_ids: Iterable[int], *, field: str = "account"
) -> QuerySet[M]:
    """Rows belonging to the given accounts; used for pages listing the current account's tree."""
    return queryset.filter(**{f"{field}__in": list(account_ids)})


def get_or_404(
    queryset: QuerySet[M],
    actor: Actor,
    *,
    field: str | tuple[str, ...] = "account",
    **lookup: object,
) -> M:
    """One object the actor may see, or 404 whether it does not exist or is another tenant's."""
    try:
        return scope(queryset, actor, field=field).get(**lookup)
    except (queryset.model.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404("Not found.") from exc


def account_or_404(actor: Actor, account_uuid: UUID | str) -> Account:
    return get_or_404(Account.objects.all(), actor, field="id", uuid=account_uuid)
