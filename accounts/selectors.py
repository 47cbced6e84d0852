"""Reads for pages, the API and exports: current account, account trees, audit entries, health."""

import re
from dataclasses import dataclass
from datetime import timedelta

from celery.schedules import BaseSchedule, crontab, schedule
from cron_descriptor import CasingTypeEnum, ExpressionDescriptor, Options
from django.conf import settings
from django.db import connection
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import KIND_RANK, Account, AuditEvent, JobRun, JobStatus
from .scoping import Actor, sees_everything, subtree_ids, visible_account_ids, visible_accounts

SESSION_ACCOUNT_KEY = "current_account"


def default_account_for(actor: Actor) -> Account | None:
    """The highest account the user belongs to; platform staff start at the platform root."""
    if sees_everything(actor):
        roots = Account.objects.filter(parent__isnull=True)
        return sorted(roots, key=lambda a: (KIND_RANK[a.kind], a.name))[0] if roots else None
    memberships = list(actor.memberships.select_related("account"))
    if not memberships:
        return None
    return sorted((m.account for m in memberships), key=lambda a: (KIND_RANK[a.kind], a.name))[0]


def current_account_for(request: HttpRequest) -> Account | None:
    user = request.user
    if not user.is_authenticated:
        return None
    chosen = request.session.get(SESSION_ACCOUNT_KEY)
    if chosen:
        account = visible_accounts(user).filter(uuid=chosen).first()
        if account is not None:
            return account
    return default_account_for(user)


def switchable_accounts(actor: Actor, *, limit: int = 500) -> list[tuple[Account, int]]:
    """Visible accounts as (account, depth) in tree order, for the header's account switcher."""
    accounts = list(visible_accounts(actor).order_by("name")[:limit])
    by_parent: dict[int | None, list[Account]] = {}
    ids = {a.id for a in accounts}
    for account in accounts:
        parent = account.parent_id if account.parent_id in ids else None
        by_parent.setdefault(parent, []).append(account)
    ordered: list[tuple[Account, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for account in by_parent.get(parent, []):
            ordered.append((account, depth))
            walk(account.id, depth + 1)

    walk(None, 0)
    return ordered


def account_tree_ids(account: Account) -> frozenset[int]:
    """The account and everything below it: what a page about this account lists."""
    return subtree_ids([account.id])


def accounts_below(account: Account) -> QuerySet[Account]:
    return (
        Account.objects.filter(id__in=account_tree_ids(account))
        .select_related("parent")
        .annotate(tenant_count=Count("children"))
    )


def audit_events_for(actor: Actor, account: Account | None) -> QuerySet[AuditEvent]:
    """Audit entries of the account's tree; staff at the platform root (or on a site with no
    accounts yet) also see platform rows."""
    events = AuditEvent.objects.all()
    if sees_everything(actor) and (account is None or account.parent_id is None):
        return events
    if account is None:
        return events.none()
    visible = visible_account_ids(actor)
    ids = account_tree_ids(account)
    if visible is not None:
        ids = ids & visible
    return events.filter(account_id__in=ids)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class JobHealth:
    name: str
    schedule: str
    last_run: JobRun | None
    overdue: bool
    abandoned: JobRun | None = None  # the latest run found abandoned lately, when there is one

    @property
    def counts(self) -> list[tuple[str, object]]:
        """The last run's counts as (words, value): "rated events", 7."""
        if self.last_run is None:
            return []
        return [(key.replace("_", " "), value) for key, value in self.last_run.counts.items()]

    @property
    def age_seconds(self) -> float | None:
        if self.last_run is None:
            return None
        return (timezone.now() - self.last_run.started_at).total_seconds()


def database_check() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means unreachable; the page shows why
        return Check("Database", False, str(exc))
    return Check("Database", True, "PostgreSQL reachable")


def broker_check() -> Check:
    """Connect to the broker the settings name, as a worker would."""
    from billing_site.celery import app

    try:
        with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls
    except Exception as exc:  # same: the reason is the detail
        return Check("Celery broker", False, str(exc))
    return Check("Celery broker", True, f"{transport} reachable")


def describe_schedule(entry: schedule | float | timedelta) -> str:
    """A beat schedule in words, one style for both kinds: "every 2 minutes", "at 03:17"."""
    if isinstance(entry, crontab):
        fields = (
            entry._orig_minute,
            entry._orig_hour,
            entry._orig_day_of_month,
            entry._orig_month_of_year,
            entry._orig_day_of_week,
        )
        options = Options()
        options.casing_type = CasingTypeEnum.LowerCase
        options.use_24hour_time_format = True
        words = ExpressionDescriptor(" ".join(str(f) for f in fields), options).get_description()
        # cron-descriptor 1.x (the series django-celery-beat allows) says "at 1 minutes past".
        return re.sub(r"\b1 minutes\b", "1 minute", words)
    seconds = (
        entry.run_every.total_seconds()
        if isinstance(entry, schedule)
        else (entry.total_seconds() if isinstance(entry, timedelta) else float(entry))
    )
    if seconds % 60 == 0:
        minutes = int(seconds // 60)
        return "every minute" if minutes == 1 else f"every {minutes} minutes"
    return "every second" if seconds == 1 else f"every {seconds:g} seconds"


# A run this much later than the schedule expected marks the job overdue on the Health page.
OVERDUE_GRACE = timedelta(minutes=10)
# How long the Health page names a job's abandoned run: a week, so whoever looks at the page now
# and then still sees a crash the next run cleaned up (the admin lists every run).
ABANDONED_SHOWN_FOR = timedelta(days=7)


def job_health(beat_schedule: dict[str, dict]) -> list[JobHealth]:
    """The last run of each scheduled job, by the job name its task records, and its latest
    run found abandoned in the past week."""
    abandoned_since = timezone.now() - ABANDONED_SHOWN_FOR
    jobs = []
    for entry in beat_schedule.values():
        name = entry["task"].rsplit(".", 1)[-1]
        when = entry["schedule"]
        last = JobRun.objects.filter(name=name).order_by("-started_at").first()
        overdue = False
        if last is not None:
            # crontab is not a `schedule`; beat also accepts bare seconds and timedeltas.
            beat = when if isinstance(when, BaseSchedule) else schedule(run_every=when)
            overdue = beat.remaining_estimate(last.started_at) < -OVERDUE_GRACE
        abandoned = (
            JobRun.objects.filter(
                name=name, status=JobStatus.ABANDONED, finished_at__gte=abandoned_since
            )
            .order_by("-finished_at")
            .first()
        )
        jobs.append(
            JobHealth(
                name=name,
                schedule=describe_schedule(when),
                last_run=last,
                overdue=overdue,
                abandoned=abandoned,
            )
        )
    return sorted(jobs, key=lambda j: j.name)
