"""Check the audit log's hash chain; exit 1 at the first broken link."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.audit import first_broken_link
from accounts.models import AuditEvent


class Command(BaseCommand):
    help = "Verify the audit log's hash chain and report the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        broken = first_broken_link()
        if broken is not None:
            raise CommandError(
                f"The audit chain is broken at entry {broken.pk} "
                f"({broken.action} {broken.object_type} {broken.object_id}"
                f" at {broken.created_at:%Y-%m-%d %H:%M:%S} UTC)."
            )
        count = AuditEvent.objects.count()
        self.stdout.write(self.style.SUCCESS(f"The audit chain holds: {count} entries verified."))
