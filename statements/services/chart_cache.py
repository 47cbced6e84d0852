"""The statement chart cache: each statement's figures, built once per revision of its lines."""

import json
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ..charts import statement_figures
from ..models import Statement
from ..selectors import hourly_series, statement_sections

# Statements per queued refresh: small enough that several workers share a big poll's work.
CHART_BATCH = 50

# Stored at the revision the figures were built from; a cache that a later refresh already
# moved to a newer revision is left alone.
_STORE_SQL = """
INSERT INTO statements_statementchart (statement_id, revision, figures, computed_at)
VALUES (%(statement)s, %(revision)s, %(figures)s::jsonb, %(now)s)
ON CONFLICT (statement_id) DO UPDATE
SET revision = excluded.revision, figures = excluded.figures, computed_at = excluded.computed_at
WHERE statements_statementchart.revision < excluded.revision
"""


@transaction.atomic
def statement_chart_refresh(*, statement: Statement) -> dict[str, str]:
    """Build the statement's chart figures (plotly JSON) from its rollups and lines, store them
    at its revision and return them. The hourly series read every line, so this runs after a
    poll, in a worker, rather than when a page is viewed."""
    figures = statement_figures(statement, statement_sections(statement), hourly_series(statement))
    with connection.cursor() as cursor:
        cursor.execute(
            _STORE_SQL,
            {
                "statement": statement.id,
                "revision": statement.revision,
                "figures": json.dumps(figures),
                "now": timezone.now(),
            },
        )
    return figures


def statement_charts_refresh(*, statement_ids: Iterable[int]) -> int:
    """Refresh the chart cache of those statements whose cache is missing or older than their
    lines (each in its own transaction). Returns how many were built."""
    stale = [
        statement
        for statement in Statement.objects.filter(id__in=list(statement_ids))
        .annotate(cached=F("chart__revision"))
        .order_by("id")
        if statement.cached != statement.revision
    ]
    for statement in stale:
        statement_chart_refresh(statement=statement)
    return len(stale)


def statement_charts_queue(*, statement_ids: Iterable[int]) -> None:
    """Once the caller's transaction commits, queue the chart refresh of these statements for a
    worker, in batches. A broker that cannot take them is logged, not raised: the caller's work
    is committed by then, and a page builds a missing cache itself."""
    # Imported here: the tasks module imports the services.
    from ..tasks import refresh_statement_charts

    ids = sorted(set(statement_ids))

    def send() -> None:
        for start in range(0, len(ids), CHART_BATCH):
            refresh_statement_charts.delay(ids[start : start + CHART_BATCH])

    if ids:
        transaction.on_commit(send, robust=True)
