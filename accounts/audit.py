"""The audit log: who changed which record, from what to what, in a tamper-evident hash chain.

Services and the admin call `audit_record` inside the transaction that makes the change, so the
change and its audit row commit together. Rows are appended under a lock so the chain never forks.
The chain is keyed (HMAC-SHA256 with AUDIT_HMAC_KEY, which the database never holds), so whoever
can rewrite the table cannot recompute hashes that verify; its head, kept elsewhere, shows
whether entries were cut off the end.
"""

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from .models import Account, ApiKey, AuditAction, AuditEvent
from .scoping import Actor, SystemActor

GENESIS_HASH = "0" * 64
# Arbitrary constant naming the PostgreSQL advisory lock that serialises appends to the chain.
_CHAIN_LOCK_KEY = 7_414_020_001
# Never written into the audit log, whatever model they sit on.
SECRET_FIELDS = frozenset({"key_hash", "password"})


def describe_actor(actor: Actor | None) -> tuple[str, str, str]:
    """(actor_type, actor_id, actor_label) for an audit row."""
    if actor is None or isinstance(actor, SystemActor):
        return "system", "", "system"
    if isinstance(actor, ApiKey):
        return "api_key", str(actor.uuid), f"{actor.name} ({actor.prefix})"
    if actor.is_authenticated:
        return "user", str(actor.pk), actor.get_username()
    return "system", "", "anonymous"


def snapshot(instance: Model, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The instance's concrete field values as JSON-safe data (foreign keys as ids)."""
    skipped = SECRET_FIELDS | set(exclude)
    values = {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if field.attname not in skipped and field.name not in skipped
    }
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def _account_of(instance: Model | None, values: dict[str, Any] | None = None) -> int | None:
    """The account a row belongs to; after a delete (pk gone) it is read from the old values."""
    if instance is None:
        return None
    values = values or {}
    if isinstance(instance, Account):
        return instance.pk if instance.pk is not None else values.get("id")
    return getattr(instance, "account_id", None) or values.get("account_id")


def _content(event: AuditEvent) -> dict[str, Any]:
    return {
        "created_at": event.created_at.isoformat(),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "account_id": event.account_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "old_values": event.old_values,
        "new_values": event.new_values,
    }


def compute_hash(event: AuditEvent, prev_hash: str) -> str:
    """HMAC-SHA256 of the entry's content and its predecessor's hash. A plain hash could be
    recomputed by anyone able to rewrite the table (say, the database owner disabling the
    trigger), and the rewritten chain would verify; without the key it cannot."""
    payload = json.dumps(
        {"content": _content(event), "prev_hash": prev_hash},
        sort_keys=True,
        separators=(",", ":"),
        cls=DjangoJSONEncoder,
    )
    return hmac.new(settings.AUDIT_HMAC_KEY.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _lock_chain() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


def audit_record(
    *,
    actor: Actor | None,
    action: AuditAction | str,
    instance: Model | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    account: Account | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry. `old` and `new` are snapshots; pass `instance` for type, id and account."""
    actor_type, actor_id, actor_label = describe_actor(actor)
    with transaction.atomic():
        _lock_chain()
        prev_hash = (
            AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
            or GENESIS_HASH
        )
        event = AuditEvent(
            created_at=timezone.now(),
            actor_type=actor_type,
            actor_id=actor_id,
            actor_label=actor_label[:200],
            account_id=account.pk if account is not None else _account_of(instance, old),
            action=action,
            object_type=object_type or (instance._meta.label_lower if instance else ""),
            object_id=object_id or (str(instance.pk) if instance is not None else ""),
            old_values=old,
            new_values=new,
            prev_hash=prev_hash,
        )
        event.hash = compute_hash(event, prev_hash)
        event.save()
    return event


def record_change(
    *,
    actor: Actor | None,
    instance: Model,
    old: dict[str, Any] | None,
    account: Account | None = None,
) -> AuditEvent | None:
    """Record a create (old is None) or an update; an update that changed nothing is not logged."""
    new = snapshot(instance)
    if old is None:
        return audit_record(
            actor=actor, action=AuditAction.CREATE, instance=instance, new=new, account=account
        )
    changed_old = {k: v for k, v in old.items() if new.get(k) != v}
    if not changed_old:
        return None
    changed_new = {k: new[k] for k in changed_old}
    return audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=instance,
        old=changed_old,
        new=changed_new,
        account=account,
    )


def record_delete(
    *, actor: Actor | None, instance: Model, old: dict[str, Any], account: Account | None = None
) -> AuditEvent:
    return audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        instance=instance,
        object_id=str(old.get("id", instance.pk)),
        old=old,
        account=account,
    )


@dataclass(frozen=True)
class ChainCheck:
    """One walk of the chain from its start: how many entries hold, the last of them (the
    head), and the first entry that does not hold, if any."""

    verified: int
    head: AuditEvent | None
    broken: AuditEvent | None


def check_chain() -> ChainCheck:
    prev_hash = GENESIS_HASH
    head = None
    verified = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        if event.prev_hash != prev_hash or compute_hash(event, event.prev_hash) != event.hash:
            return ChainCheck(verified=verified, head=head, broken=event)
        prev_hash = event.hash
        head = event
        verified += 1
    return ChainCheck(verified=verified, head=head, broken=None)


def first_broken_link() -> AuditEvent | None:
    """The first entry whose hash or link to its predecessor does not hold, or None."""
    return check_chain().broken


def chain_contains(check: ChainCheck, *, seq: int, digest: str) -> bool:
    """Whether the verified chain holds entry `seq` with hash `digest`: a head recorded
    earlier. As every hash covers the one before it, that proves nothing up to it changed; a
    missing entry means the chain was cut back or rewritten."""
    if check.broken is not None or check.head is None or seq > check.head.pk:
        return False
    return AuditEvent.objects.filter(pk=seq, hash=digest).exists()
