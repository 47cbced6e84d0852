"""Build the demo world: each installed app's `demo.seed()` runs in app order, all at the one
moment read here. Idempotent."""

from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, seed


class Command(BaseCommand):
    help = (
        "Create (or complete) the demo accounts, users and data; running it twice changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Every app dates its part from this one reading of the clock: a run that crosses
        # midnight or a month's end still builds one consistent world.
        now = timezone.now()
        logins = seed(self.stdout)
        for config in apps.get_app_configs():
            own_app = Path(config.path).parent == Path(settings.BASE_DIR)
            if not own_app or config.name == "accounts" or find_spec(f"{config.name}.demo") is None:
                continue
            self.stdout.write(f"Seeding {config.verbose_name}…")
            import_module(f"{config.name}.demo").seed(self.stdout, now=now)
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Sign in with any of:"))
        for login in logins:
            self.stdout.write(
                f"  {login.username:<8} / {DEMO_PASSWORD}   {login.role:<8} "
                f"{login.account_slug:<14} {login.note}"
            )
