"""Celery tasks for statements: thin wrappers that run one job through accounts.jobs."""

from celery import shared_task
from django.conf import settings

from accounts.jobs import run_job

from .demo import feed
from .services.chart_cache import statement_charts_refresh
from .services.close import statements_close
from .services.pdf import statement_pdf_build
from .services.poll import events_poll


@shared_task
def poll_events() -> None:
    """Every two minutes: price new machine sessions and refresh the open statements they
    touched, then rate new metered usage into daily billing rows."""
    run_job("poll_events", lambda run: events_poll())


@shared_task
def close_statements() -> None:
    """On the 1st, shortly after midnight UTC: a final poll, then close every earlier month."""
    run_job("close_statements", lambda run: statements_close().counts())


@shared_task
def refresh_statement_charts(statement_ids: list[int]) -> None:
    """Queued by the poll once it commits: the chart cache of the statements it refreshed, so
    their pages open without building it."""
    statement_charts_refresh(statement_ids=statement_ids)


@shared_task
def build_statement_pdf(statement_id: int, version: str) -> None:
    """Queued by the PDF page of a large statement: build and store its PDF."""
    statement_pdf_build(statement_id=statement_id, version=version)


@shared_task
def demo_feed() -> None:
    """While DEMO_FEED is on: a few fresh machine sessions on the demo licenses each minute."""
    if not settings.DEMO_FEED:
        return
    run_job("demo_feed", lambda run: {"sessions": feed()})
