"""Audit log: what services and the API record, that secrets stay out, and the hash chain."""

import hashlib
import io
import json
import threading
from collections.abc import Callable
from itertools import pairwise

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, transaction
from django.test import TransactionTestCase, override_settings

from accounts import services
from accounts.audit import (
    GENESIS_HASH,
    _content,
    audit_record,
    compute_hash,
    first_broken_link,
)
from accounts.management.commands.verify_audit_log import (
    EMPTY_HEAD_LINE,
    ERR_HEAD_FORMAT,
    ERR_HEAD_MISSING,
)
from accounts.models import Account, AuditEvent
from accounts.services import ERR_PARENT_CYCLE
from tests.base import BillingTestCase, run_cli

TABLE = AuditEvent._meta.db_table


def assert_no_secrets(test: BillingTestCase, *secrets: str) -> None:
    """No audit row mentions a secret column or a secret value."""
    for event in AuditEvent.objects.all():
        dumped = json.dumps([event.old_values, event.new_values])
        test.assertNotIn("key_hash", dumped)
        test.assertNotIn("password", dumped)
        for secret in secrets:
            test.assertNotIn(secret, dumped)


class ServiceAuditTests(BillingTestCase):
    def test_account_create_records_the_new_values(self) -> None:
        account = services.account_create(
            actor=self.staff, name="Gamma", kind="customer", parent=self.account, currency="EUR"
        )
        event = AuditEvent.objects.get()
        self.assertEqual(
            (event.actor_type, event.actor_id, event.actor_label),
            ("user", str(self.staff.pk), "staff"),
        )
        self.assertEqual(
            (event.account_id, event.action, event.object_type, event.object_id),
            (account.pk, "create", "accounts.account", str(account.pk)),
        )
        self.assertIsNone(event.old_values)
        self.assertEqual(
            {k: event.new_values[k] for k in ("name", "slug", "kind", "parent_id", "currency")},
            {
                "name": "Gamma",
                "slug": "gamma",
                "kind": "customer",
                "parent_id": self.account.pk,
                "currency": "EUR",
            },
        )
        self.assertEqual(event.new_values["uuid"], str(account.uuid))

    def test_account_update_records_only_what_changed(self) -> None:
        services.account_update(
            actor=self.owner, account=self.tenant, name="Renamed", organization="Alpha Tenant Org"
        )
        event = AuditEvent.objects.get()
        self.assertEqual((event.action, event.account_id), ("update", self.tenant.pk))
        self.assertEqual(event.old_values, {"name": "Alpha Tenant"})
        self.assertEqual(event.new_values, {"name": "Renamed"})

    def test_an_update_that_changes_nothing_is_not_logged(self) -> None:
        services.account_update(actor=self.owner, account=self.tenant, name="Alpha Tenant")
        self.assertEqual(AuditEvent.objects.count(), 0)

    def test_a_refused_update_changes_and_logs_nothing(self) -> None:
        with self.assertRaisesMessage(ValidationError, ERR_PARENT_CYCLE):
            services.account_update(actor=self.owner, account=self.account, parent=self.tenant)
        self.assertEqual(Account.objects.get(pk=self.account.pk).parent, self.platform)
        self.assertEqual(AuditEvent.objects.count(), 0)

    def test_a_kind_that_cannot_hold_the_tenants_is_refused_and_not_logged(self) -> None:
        distributor = services.account_create(
            actor=None, name="Nu", kind="distributor", parent=self.platform
        )
        services.account_create(actor=None, name="Xi", kind="partner", parent=distributor)
        before = AuditEvent.objects.count()
        for kind in ("customer", "partner"):
            with (
                self.subTest(kind=kind),
                self.assertRaisesMessage(
                    ValidationError, f"A {kind} cannot hold the partner accounts below it."
                ),
            ):
                services.account_update(
                    actor=self.staff, account=Account.objects.get(pk=distributor.pk), kind=kind
                )
        self.assertEqual(Account.objects.get(pk=distributor.pk).kind, "distributor")
        self.assertEqual(AuditEvent.objects.count(), before)

    def test_membership_add_records_the_user_and_the_membership(self) -> None:
        membership = services.membership_add(
            actor=self.owner,
            account=self.account,
            username="newbie",
            email="newbie@example.com",
            role="finance",
        )
        user_event, membership_event = AuditEvent.objects.order_by("id")
        self.assertEqual(
            (user_event.action, user_event.object_type, user_event.object_id),
            ("create", "auth.user", str(membership.user_id)),
        )
        self.assertEqual(user_event.account_id, self.account.pk)
        self.assertEqual(user_event.new_values["username"], "newbie")
        self.assertEqual(
            (membership_event.object_type, membership_event.account_id),
            ("accounts.membership", self.account.pk),
        )
        self.assertEqual(
            {k: membership_event.new_values[k] for k in ("user_id", "account_id", "role")},
            {"user_id": membership.user_id, "account_id": self.account.pk, "role": "finance"},
        )
        assert_no_secrets(self)

    def test_api_key_create_and_revoke_keep_the_secret_out(self) -> None:
        key, secret = services.api_key_create(
            actor=self.staff, name="Exporter", role="read", account=self.account
        )
        services.api_key_revoke(actor=self.staff, key=key)
        created, revoked = AuditEvent.objects.order_by("id")
        self.assertEqual(
            (created.action, created.object_type, created.account_id),
            ("create", "accounts.apikey", self.account.pk),
        )
        self.assertEqual(created.new_values["prefix"], key.prefix)
        self.assertNotIn("key_hash", created.new_values)
        self.assertEqual(revoked.action, "update")
        self.assertEqual(revoked.old_values, {"revoked_at": None})
        self.assertEqual(list(revoked.new_values), ["revoked_at"])
        assert_no_secrets(self, secret, key.key_hash)


class ApiAuditTests(BillingTestCase):
    def test_api_changes_are_recorded_with_the_key_as_actor(self) -> None:
        key, secret = self.make_key("admin")
        before = AuditEvent.objects.count()
        response = self.api(
            "post",
            "/api/v1/accounts",
            secret,
            {"name": "Delta", "kind": "customer", "parent": str(self.account.uuid)},
        )
        self.assertEqual(response.status_code, 201)
        account = Account.objects.get(slug="delta")
        event = AuditEvent.objects.order_by("-id").first()
        self.assertEqual(AuditEvent.objects.count(), before + 1)
        self.assertEqual(
            (event.actor_type, event.actor_id, event.actor_label),
            ("api_key", str(key.uuid), f"admin key ({key.prefix})"),
        )
        self.assertEqual(
            (event.account_id, event.action, event.object_type, event.object_id),
            (account.pk, "create", "accounts.account", str(account.pk)),
        )
        assert_no_secrets(self, secret)

    def test_member_added_through_the_api_by_a_user_is_recorded(self) -> None:
        self.login(self.owner)
        response = self.api(
            "post",
            f"/api/v1/accounts/{self.account.uuid}/members",
            data={"username": "newbie", "email": "newbie@example.com", "role": "member"},
        )
        self.assertEqual(response.status_code, 201)
        events = list(AuditEvent.objects.order_by("id"))
        self.assertEqual(
            [(e.actor_label, e.action, e.object_type, e.account_id) for e in events],
            [
                ("owner", "create", "auth.user", self.account.pk),
                ("owner", "create", "accounts.membership", self.account.pk),
            ],
        )

    def test_refused_requests_record_nothing(self) -> None:
        _, read_secret = self.make_key("read", self.account)
        before = AuditEvent.objects.count()
        self.api("post", "/api/v1/accounts", read_secret, {"name": "X", "kind": "customer"})
        self.api(
            "post",
            f"/api/v1/accounts/{self.account.uuid}/members",
            read_secret,
            {"username": "x", "role": "member"},
        )
        self.assertEqual(AuditEvent.objects.count(), before)


class AppendOnlyTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        services.account_update(actor=cls.owner, account=cls.account, organization="One")

    def test_the_orm_refuses_updates_and_deletes(self) -> None:
        event = AuditEvent.objects.get()
        with self.assertRaises(TypeError):
            AuditEvent.objects.update(action="delete")
        with self.assertRaises(TypeError):
            AuditEvent.objects.all().delete()
        with self.assertRaises(TypeError):
            event.delete()
        event.action = "delete"
        with self.assertRaises(TypeError):
            event.save()

    def test_the_database_trigger_refuses_update_and_delete(self) -> None:
        for sql in (
            f"UPDATE {TABLE} SET action = 'delete'",  # noqa: S608
            f"DELETE FROM {TABLE}",  # noqa: S608
        ):
            with (
                self.subTest(sql=sql),
                self.assertRaisesMessage(DatabaseError, "append-only"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql)
        self.assertEqual(AuditEvent.objects.get().action, "update")


def disable_append_only_triggers() -> None:
    """Let a test tamper with the table; rolled back with the test's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")


class HashChainTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        for organization in ("One", "Two", "Three", "Four"):
            services.account_update(actor=cls.owner, account=cls.account, organization=organization)

    def verify(self) -> str:
        out = io.StringIO()
        call_command("verify_audit_log", stdout=out)
        return out.getvalue()

    def test_each_entry_links_to_the_previous_one(self) -> None:
        events = list(AuditEvent.objects.order_by("id"))
        self.assertEqual(events[0].prev_hash, GENESIS_HASH)
        for previous, event in pairwise(events):
            self.assertEqual(event.prev_hash, previous.hash)
        self.assertEqual(len({e.hash for e in events}), 4)

    def test_intact_chain_verifies_and_prints_its_head(self) -> None:
        head = AuditEvent.objects.order_by("-id").first()
        self.assertEqual(
            self.verify().splitlines(),
            ["The audit chain holds: 4 entries verified.", f"Head: {head.pk}:{head.hash}"],
        )
        self.assertIsNone(first_broken_link())
        status, out, err = run_cli("verify_audit_log")
        self.assertEqual((status, err), (0, ""))
        self.assertIn("The audit chain holds: 4 entries verified.", out)

    def test_a_tampered_value_is_found_at_its_entry(self) -> None:
        third = AuditEvent.objects.order_by("id")[2]
        disable_append_only_triggers()
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET new_values = %s WHERE id = %s",  # noqa: S608
                ['{"organization": "Forged"}', third.pk],
            )
        with self.assertRaisesMessage(
            CommandError, f"The audit chain is broken at entry {third.pk} (update accounts.account"
        ):
            self.verify()
        self.assertEqual(first_broken_link().pk, third.pk)
        status, out, err = run_cli("verify_audit_log")
        self.assertEqual((status, out), (1, ""))
        self.assertIn(f"CommandError: The audit chain is broken at entry {third.pk} ", err)

    def test_a_deleted_entry_is_found_at_the_next_one(self) -> None:
        second, third = AuditEvent.objects.order_by("id")[1:3]
        disable_append_only_triggers()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [second.pk])  # noqa: S608
        with self.assertRaisesMessage(
            CommandError, f"The audit chain is broken at entry {third.pk} "
        ):
            self.verify()

    def test_a_rehashed_forgery_still_breaks_the_link_to_the_next_entry(self) -> None:
        second, third = AuditEvent.objects.order_by("id")[1:3]
        second.new_values = {"organization": "Forged"}
        forged_hash = compute_hash(second, second.prev_hash)
        disable_append_only_triggers()
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET new_values = %s, hash = %s WHERE id = %s",  # noqa: S608
                ['{"organization": "Forged"}', forged_hash, second.pk],
            )
        self.assertEqual(first_broken_link().pk, third.pk)

    def test_a_new_entry_continues_the_chain(self) -> None:
        last = AuditEvent.objects.order_by("-id").first()
        event = audit_record(actor=None, action="update", object_type="x", object_id="1")
        self.assertEqual(event.prev_hash, last.hash)
        self.assertEqual((event.actor_type, event.actor_label), ("system", "system"))
        self.assertIn("5 entries verified", self.verify())


class CommittedAuditTests(TransactionTestCase):
    """Entries really committed (no test transaction around them); the flush after this test
    also proves transactional tests get past the append-only triggers."""

    def test_committed_entries_verify(self) -> None:
        for n in range(3):
            audit_record(actor=None, action="create", object_type="test", object_id=str(n))
        out = io.StringIO()
        call_command("verify_audit_log", stdout=out)
        self.assertEqual(
            out.getvalue().splitlines()[0], "The audit chain holds: 3 entries verified."
        )


class ConcurrentAppendTests(TransactionTestCase):
    """Appends from several connections at once still form one unbroken chain."""

    def test_parallel_appends_do_not_fork_the_chain(self) -> None:
        errors: list[BaseException] = []
        start = threading.Barrier(3)

        def append(worker: int) -> None:
            try:
                start.wait(timeout=10)
                for n in range(5):
                    audit_record(
                        actor=None, action="update", object_type="test", object_id=f"{worker}-{n}"
                    )
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=append, args=(w,)) for w in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        self.assertEqual(errors, [])
        self.assertEqual(AuditEvent.objects.count(), 15)
        self.assertIsNone(first_broken_link())
        self.assertEqual(AuditEvent.objects.values("prev_hash").distinct().count(), 15)


def rewrite_chain(hasher: Callable[[AuditEvent, str], str], *, forged_id: int) -> None:
    """Forge one entry's new values and re-hash the whole chain with `hasher`, as someone who
    can rewrite the table (triggers off) would."""
    disable_append_only_triggers()
    prev_hash = GENESIS_HASH
    for event in AuditEvent.objects.order_by("id"):
        if event.pk == forged_id:
            event.new_values = {"organization": "Forged"}
        event.hash = hasher(event, prev_hash)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET new_values = %s, prev_hash = %s, hash = %s WHERE id = %s",  # noqa: S608
                [json.dumps(event.new_values), prev_hash, event.hash, event.pk],
            )
        prev_hash = event.hash


def unkeyed_sha256(event: AuditEvent, prev_hash: str) -> str:
    """The hash anyone can compute without the key (the chain's hash before it was keyed)."""
    payload = json.dumps(
        {"content": _content(event), "prev_hash": prev_hash},
        sort_keys=True,
        separators=(",", ":"),
        cls=DjangoJSONEncoder,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class KeyedChainTests(BillingTestCase):
    """Whoever can rewrite the table but lacks AUDIT_HMAC_KEY cannot make a forgery verify; a
    head kept elsewhere catches what the key alone cannot (a cut-off end, a key holder)."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        for organization in ("One", "Two", "Three", "Four"):
            services.account_update(actor=cls.owner, account=cls.account, organization=organization)

    def setUp(self) -> None:
        self.first, self.second, self.third, self.last = AuditEvent.objects.order_by("id")

    def verify(self, *args: str) -> list[str]:
        out = io.StringIO()
        call_command("verify_audit_log", *args, stdout=out)
        return out.getvalue().splitlines()

    def test_a_chain_rehashed_without_the_key_does_not_verify(self) -> None:
        rewrite_chain(unkeyed_sha256, forged_id=self.second.pk)
        with self.assertRaisesMessage(
            CommandError, f"The audit chain is broken at entry {self.first.pk} "
        ):
            self.verify()

    def test_the_chain_verifies_only_with_its_own_key(self) -> None:
        with (
            override_settings(AUDIT_HMAC_KEY="another-key-of-at-least-32-characters"),
            self.assertRaisesMessage(
                CommandError, f"The audit chain is broken at entry {self.first.pk} "
            ),
        ):
            self.verify()

    def test_the_current_or_an_earlier_head_is_found(self) -> None:
        for head in (self.last, self.second):
            with self.subTest(entry=head.pk):
                self.assertEqual(
                    self.verify("--expect-head", f"{head.pk}:{head.hash}")[-1],
                    f"Head: {self.last.pk}:{self.last.hash}",
                )

    def test_entries_cut_off_the_end_miss_the_kept_head(self) -> None:
        disable_append_only_triggers()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [self.last.pk])  # noqa: S608
        self.assertEqual(self.verify()[0], "The audit chain holds: 3 entries verified.")
        with self.assertRaisesMessage(
            CommandError, ERR_HEAD_MISSING.format(seq=self.last.pk, digest=self.last.hash)
        ):
            self.verify("--expect-head", f"{self.last.pk}:{self.last.hash}")

    def test_a_chain_rewritten_with_the_key_misses_the_kept_head(self) -> None:
        rewrite_chain(compute_hash, forged_id=self.second.pk)
        self.assertEqual(self.verify()[0], "The audit chain holds: 4 entries verified.")
        with self.assertRaisesMessage(
            CommandError, ERR_HEAD_MISSING.format(seq=self.third.pk, digest=self.third.hash)
        ):
            self.verify("--expect-head", f"{self.third.pk}:{self.third.hash}")

    def test_a_malformed_head_is_refused(self) -> None:
        for value in ("12", f"x:{self.last.hash}", f"{self.last.pk}:{self.last.hash[:63]}"):
            with (
                self.subTest(value=value),
                self.assertRaisesMessage(CommandError, ERR_HEAD_FORMAT.format(value=value)),
            ):
                self.verify("--expect-head", value)
        status, out, err = run_cli("verify_audit_log", "--expect-head", "12")
        self.assertEqual((status, out), (1, ""))
        self.assertIn(ERR_HEAD_FORMAT.format(value="12"), err)


class EmptyChainTests(BillingTestCase):
    def test_an_empty_log_has_no_head_to_expect(self) -> None:
        out = io.StringIO()
        call_command("verify_audit_log", stdout=out)
        self.assertEqual(
            out.getvalue().splitlines(),
            ["The audit chain holds: 0 entries verified.", EMPTY_HEAD_LINE],
        )
        head = f"1:{'0' * 64}"
        with self.assertRaisesMessage(
            CommandError, ERR_HEAD_MISSING.format(seq=1, digest="0" * 64)
        ):
            call_command("verify_audit_log", "--expect-head", head, stdout=io.StringIO())
