"""What an actor may do once it may see something: roles mapped to capabilities.

Seeing is decided by accounts.scoping (outsiders get 404); this decides the 403 for an actor
that can see the object but whose role does not allow the action.
"""

from enum import StrEnum

from .models import Account, ApiKey, ApiKeyRole, Membership, Role
from .scoping import Actor, ancestor_ids, can_see_account, sees_everything


class Capability(StrEnum):
    READ = "read"  # view billing data
    INGEST = "ingest"  # send usage
    FINANCE = "finance"  # add credits, issue documents
    MANAGE = "manage"  # manage the account: members, audit log
    PLATFORM = "platform"  # platform-wide administration
    GENERATE = "generate"  # run billing generation and imports (platform admins and services)


_USER_ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.OWNER: frozenset(
        {Capability.READ, Capability.INGEST, Capability.FINANCE, Capability.MANAGE}
    ),
    Role.ADMIN: frozenset(
        {Capability.READ, Capability.INGEST, Capability.FINANCE, Capability.MANAGE}
    ),
    Role.FINANCE: frozenset({Capability.READ, Capability.INGEST, Capability.FINANCE}),
    Role.MEMBER: frozenset({Capability.READ}),
}
_KEY_ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    ApiKeyRole.ADMIN: frozenset(Capability),
    ApiKeyRole.FINANCE: frozenset({Capability.READ, Capability.INGEST, Capability.FINANCE}),
    ApiKeyRole.INGEST: frozenset({Capability.INGEST}),
    ApiKeyRole.READ: frozenset({Capability.READ}),
    ApiKeyRole.SERVICE: frozenset({Capability.READ, Capability.INGEST, Capability.GENERATE}),
}
ROLE_ORDER = [Role.OWNER, Role.ADMIN, Role.FINANCE, Role.MEMBER]


def role_on(actor: Actor, account: Account) -> str | None:
    """The user's role on the account: the strongest of its memberships there and above (an
    aggregator's owner who is also a read-only member of one tenant still owns that tenant)."""
    if isinstance(actor, ApiKey) or not actor.is_authenticated:
        return None
    cache = actor.__dict__.setdefault("_roles_by_account", {})
    if account.id not in cache:
        chain = ancestor_ids(account)
        roles = dict(
            Membership.objects.filter(user=actor, account_id__in=chain).values_list(
                "account_id", "role"
            )
        )
        held = set(roles.values())
        cache[account.id] = next((role for role in ROLE_ORDER if role in held), None)
    return cache[account.id]


def capabilities(actor: Actor, account: Account | None = None) -> frozenset[Capability]:
    """What the actor may do on `account`, or anywhere it is a member when `account` is None."""
    if isinstance(actor, ApiKey):
        if not actor.is_usable:
            return frozenset()
        if account is not None and not can_see_account(actor, account.id):
            return frozenset()
        return _KEY_ROLE_CAPABILITIES[actor.role]
    if not actor.is_authenticated:
        return frozenset()
    if sees_everything(actor):
        return frozenset(Capability)
    if account is None:
        roles = set(actor.memberships.values_list("role", flat=True))
        return frozenset().union(*(_USER_ROLE_CAPABILITIES[role] for role in roles))
    role = role_on(actor, account)
    return _USER_ROLE_CAPABILITIES[role] if role else frozenset()


def can(actor: Actor, capability: Capability, account: Account | None = None) -> bool:
    return capability in capabilities(actor, account)
