"""State changes for accounts, memberships and API keys. Each is one transaction and leaves an
audit row; views, the API, commands and the admin all come through here."""

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify

from .audit import audit_record, record_change, snapshot
from .models import (
    ERR_KEY_ACCOUNT,
    KIND_RANK,
    PLATFORM_KEY_ROLES,
    Account,
    AccountKind,
    ApiKey,
    ApiKeyRole,
    AuditAction,
    BillingSettings,
    Membership,
    Role,
)
from .scoping import Actor, subtree_ids

API_KEY_PREFIX = "bk_"
PASSWORD_REDACTED = "(previous password, not recorded)"  # noqa: S105 - a label, not a secret
PASSWORD_CHANGED = "(changed)"  # noqa: S105 - a label, not a secret
ERR_PARENT_KIND = "A {child} cannot sit below a {parent}."
ERR_PLATFORM_PARENT = "A platform account has no parent."
ERR_TENANT_KIND = "A {parent} cannot hold the {child} accounts below it."
ERR_PARENT_CYCLE = "An account cannot sit below itself or one of its own tenants."
ERR_ALREADY_MEMBER = "{username} is already a member of this account."
ERR_OWNER_BY_OWNER = "Only an owner can make someone an owner."
ERR_EMAIL_TAKEN = "That username exists with a different e-mail address."


def _unique_slug(name: str, *, exclude_id: int | None = None) -> str:
    base = slugify(name)[:70] or "account"
    slug, n = base, 2
    while Account.objects.filter(slug=slug).exclude(id=exclude_id).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _may_sit_below(child_kind: str, parent_kind: str) -> bool:
    if child_kind == AccountKind.CUSTOMER and parent_kind == AccountKind.CUSTOMER:
        return True  # an aggregator and its tenants
    return KIND_RANK[AccountKind(child_kind)] > KIND_RANK[AccountKind(parent_kind)]


def validate_account_parent(
    *, kind: str, parent: Account | None, account_id: int | None = None
) -> None:
    """The account's place in the tree: its kind fits below its parent and, for an existing
    account, above the tenants it already has."""
    if kind == AccountKind.PLATFORM and parent is not None:
        raise ValidationError({"parent": ERR_PLATFORM_PARENT})
    if account_id is not None:
        tenant_kinds = set(
            Account.objects.filter(parent_id=account_id).values_list("kind", flat=True)
        )
        for tenant_kind in sorted(tenant_kinds, key=lambda k: KIND_RANK[AccountKind(k)]):
            if not _may_sit_below(tenant_kind, kind):
                raise ValidationError(
                    {"kind": ERR_TENANT_KIND.format(parent=kind, child=tenant_kind)}
                )
    if parent is None:
        return
    if account_id is not None and parent.id in subtree_ids([account_id]):
        raise ValidationError({"parent": ERR_PARENT_CYCLE})
    if not _may_sit_below(kind, parent.kind):
        raise ValidationError({"parent": ERR_PARENT_KIND.format(child=kind, parent=parent.kind)})


@transaction.atomic
def account_create(
    *,
    actor: Actor | None,
    name: str,
    kind: str,
    parent: Account | None = None,
    currency: str = "USD",
    organization: str = "",
    business_model: str | None = None,
    attributes: dict[str, Any] | None = None,
    slug: str | None = None,
) -> Account:
    validate_account_parent(kind=kind, parent=parent)
    account = Account(
        name=name,
        slug=slug or _unique_slug(name),
        kind=kind,
        parent=parent,
        currency=currency.upper(),
        organization=organization,
        attributes=attributes or {},
    )
    if business_model:
        account.business_model = business_model
    account.full_clean()
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:
        if slug:
            raise
        # Another request took the same generated slug between our check and our insert.
        account.slug = f"{account.slug[:70]}-{secrets.token_hex(3)}"
        account.save()
    record_change(actor=actor, instance=account, old=None)
    return account


@transaction.atomic
def account_update(*, actor: Actor | None, account: Account, **changes: Any) -> Account:
    old = snapshot(Account.objects.get(pk=account.pk))
    for field, value in changes.items():
        setattr(account, field, value)
    try:
        validate_account_parent(kind=account.kind, parent=account.parent, account_id=account.id)
        account.full_clean()
    except ValidationError:
        account.refresh_from_db()
        raise
    account.save()
    record_change(actor=actor, instance=account, old=old)
    return account


@transaction.atomic
def billing_settings_update(*, actor: Actor | None, **changes: bool) -> BillingSettings:
    """Change the site-wide billing settings. A new selection mode applies to the days the
    rating recomputes from then on, never to days already invoiced."""
    BillingSettings.load()
    settings_row = BillingSettings.objects.select_for_update().get(pk=1)
    old = snapshot(settings_row)
    for field, value in changes.items():
        setattr(settings_row, field, value)
    if any(old[field] != value for field, value in changes.items()):
        settings_row.save()
        record_change(actor=actor, instance=settings_row, old=old)
    return settings_row


def user_password_changed(*, actor: Actor | None, user: AbstractBaseUser) -> None:
    """Record that a password was set or changed; the value itself never enters the log."""
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=user,
        old={"password": PASSWORD_REDACTED},
        new={"password": PASSWORD_CHANGED},
    )


def password_reset_link(user: AbstractBaseUser) -> str:
    """A path (relative to the site) where the user sets a password."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


def _send_welcome(*, user: AbstractBaseUser, account: Account, site_url: str) -> None:
    body = render_to_string(
        "registration/welcome_email.txt",
        {
            "user": user,
            "account": account,
            "link": site_url.rstrip("/") + password_reset_link(user),
        },
    )
    send_mail(
        f"You have been added to {account.name}",
        body,
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
    )


@transaction.atomic
def membership_add(
    *,
    actor: Actor | None,
    account: Account,
    username: str,
    email: str,
    role: str,
    actor_role: str | None = None,
    site_url: str = "",
) -> Membership:
    """Add a user to an account. A new user gets no usable password and an e-mail with a link
    to set one. `actor_role` is the actor's own role there (None for platform staff and keys)."""
    if role == Role.OWNER and actor_role not in (None, Role.OWNER):
        raise ValidationError({"role": ERR_OWNER_BY_OWNER})
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    created_user = user is None
    if user is None:
        user = user_model(username=username, email=email)
        user.set_unusable_password()
        user.full_clean()
        user.save()
        record_change(actor=actor, instance=user, old=None, account=account)
    elif email and user.email and user.email.lower() != email.lower():
        raise ValidationError({"email": ERR_EMAIL_TAKEN})
    if Membership.objects.filter(user=user, account=account).exists():
        raise ValidationError({"username": ERR_ALREADY_MEMBER.format(username=username)})
    membership = Membership.objects.create(user=user, account=account, role=role)
    record_change(actor=actor, instance=membership, old=None)
    if created_user and user.email:
        transaction.on_commit(lambda: _send_welcome(user=user, account=account, site_url=site_url))
    return membership


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *,
    actor: Actor | None,
    name: str,
    role: str,
    account: Account | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never stored and never shown again."""
    if role not in ApiKeyRole.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}; one of {', '.join(ApiKeyRole.values)}."}
        )
    if (role in PLATFORM_KEY_ROLES) != (account is None):
        raise ValidationError({"account": ERR_KEY_ACCOUNT})
    prefix = secrets.token_hex(4)
    while ApiKey.objects.filter(prefix=prefix).exists():
        prefix = secrets.token_hex(4)
    secret = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name,
        role=role,
        account=account,
        prefix=prefix,
        key_hash=hash_api_key(secret),
        expires_at=expires_at,
        created_by=actor if actor is not None and not isinstance(actor, ApiKey) else None,
    )
    record_change(actor=actor, instance=key, old=None)
    return key, secret


@transaction.atomic
def api_key_revoke(*, actor: Actor | None, key: ApiKey) -> ApiKey:
    old = snapshot(key)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        record_change(actor=actor, instance=key, old=old)
    return key


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The usable key matching `raw`, or None. Touches last_used_at at most once a minute."""
    if not raw.startswith(API_KEY_PREFIX):
        return None
    prefix = raw[len(API_KEY_PREFIX) :].split("_", 1)[0]
    key = ApiKey.objects.select_related("account").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.key_hash, hash_api_key(raw)) or not key.is_usable:
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
