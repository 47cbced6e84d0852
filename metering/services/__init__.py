"""Metering's state changes by stage: ingest, live device rollups, monthly usage reports.

The public names are importable from `metering.services` itself, as other apps use them.
"""

from .ingest import (
    CONFLICT_DETAIL,
    ERR_ACCOUNT,
    ERR_ACCOUNT_MISMATCH,
    ERR_ACCOUNT_REQUIRED,
    ERR_CAMPAIGN,
    ERR_LICENSE,
    ERR_UPDATE_OUTSIDE,
    MAX_BATCH,
    CampaignAllowance,
    CampaignAllowances,
    CampaignResolver,
    IngestResult,
    committed_watermark,
    events_ingest,
    register_campaign_resolver,
)
from .reports import ERR_MONTH_NOT_OVER, first_usage_month, usage_reports_generate
from .rollups import usage_rollup

__all__ = [
    "CONFLICT_DETAIL",
    "ERR_ACCOUNT",
    "ERR_ACCOUNT_MISMATCH",
    "ERR_ACCOUNT_REQUIRED",
    "ERR_CAMPAIGN",
    "ERR_LICENSE",
    "ERR_MONTH_NOT_OVER",
    "ERR_UPDATE_OUTSIDE",
    "MAX_BATCH",
    "CampaignAllowance",
    "CampaignAllowances",
    "CampaignResolver",
    "IngestResult",
    "committed_watermark",
    "events_ingest",
    "first_usage_month",
    "register_campaign_resolver",
    "usage_reports_generate",
    "usage_rollup",
]
