"""Create an API key and print it alone on one line of stdout."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Account, ApiKeyRole
from accounts.services import api_key_create


class Command(BaseCommand):
    help = (
        "Create an API key. Admin and service keys are platform-wide; other roles need "
        "--account <slug>."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", required=True, help=f"one of {', '.join(ApiKeyRole.values)}")
        parser.add_argument("--account", help="slug of the account the key belongs to")
        parser.add_argument("--name", default="", help="a label for the key")

    def handle(self, *args: Any, role: str, account: str | None, name: str, **options: Any) -> None:
        if role not in ApiKeyRole.values:
            raise CommandError(f"Unknown role {role!r}; use one of {', '.join(ApiKeyRole.values)}.")
        target = None
        if account is not None:
            target = Account.objects.filter(slug=account).first()
            if target is None:
                raise CommandError(f"No account with the slug {account!r}.")
        try:
            _, secret = api_key_create(
                actor=None,
                name=name or f"{role} key",
                role=role,
                account=target,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(secret)
