"""Pages of the API's lists: `limit`/`offset`, 100 rows unless asked, never more than 1,000."""

from rest_framework import pagination

MAX_LIMIT = 1000


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """DRF's limit/offset pages with a ceiling: an unbounded `limit` reached PostgreSQL as a
    LIMIT past bigint (a 500) and could ask for a whole table. A larger limit reads as the
    ceiling; a negative or non-numeric one as the default, as DRF does."""

    max_limit = MAX_LIMIT
    limit_query_description = (
        f"Number of results to return per page (default 100; at most {MAX_LIMIT:,}, "
        "larger values read as the maximum)."
    )
