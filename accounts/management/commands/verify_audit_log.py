"""Check the audit log's keyed hash chain; print its head, or exit 1 at the first broken link
or when an expected head (kept elsewhere) is not in the chain."""

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.audit import chain_contains, check_chain

HEAD_LINE = "Head: {seq}:{digest}"
EMPTY_HEAD_LINE = "Head: none (the audit log is empty)"
ERR_HEAD_FORMAT = (
    "--expect-head takes SEQ:HASH, an entry number and its 64-character hash as a previous run "
    "printed them; got {value!r}."
)
ERR_HEAD_MISSING = (
    "The audit chain does not contain the expected head {seq}:{digest}: entries up to it were "
    "removed or rewritten."
)
_HEAD = re.compile(r"(\d+):([0-9a-f]{64})")


def parse_head(value: str) -> tuple[int, str]:
    match = _HEAD.fullmatch(value.strip())
    if match is None:
        raise CommandError(ERR_HEAD_FORMAT.format(value=value))
    return int(match[1]), match[2]


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chain, report the first broken link, and print the head "
        "(SEQ:HASH) to keep elsewhere; --expect-head checks a head kept earlier."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--expect-head",
            metavar="SEQ:HASH",
            help="fail unless the chain contains this entry with this hash (a head printed before)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        expected = parse_head(options["expect_head"]) if options["expect_head"] else None
        check = check_chain()
        broken = check.broken
        if broken is not None:
            raise CommandError(
                f"The audit chain is broken at entry {broken.pk} "
                f"({broken.action} {broken.object_type} {broken.object_id}"
                f" at {broken.created_at:%Y-%m-%d %H:%M:%S} UTC)."
            )
        if expected is not None:
            seq, digest = expected
            if not chain_contains(check, seq=seq, digest=digest):
                raise CommandError(ERR_HEAD_MISSING.format(seq=seq, digest=digest))
        self.stdout.write(
            self.style.SUCCESS(f"The audit chain holds: {check.verified} entries verified.")
        )
        if check.head is None:
            self.stdout.write(EMPTY_HEAD_LINE)
        else:
            self.stdout.write(HEAD_LINE.format(seq=check.head.pk, digest=check.head.hash))
