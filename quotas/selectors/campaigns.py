"""Reads about update campaigns: the tokens each has spent, and their names for the reports."""

from collections.abc import Iterable
from uuid import UUID

from metering.selectors import firmware_updates_by_campaign

from ..models import UpdateCampaign


def campaign_updates(campaigns: Iterable[UpdateCampaign]) -> dict[int, int]:
    """Tokens each campaign has spent: its firmware updates so far (or when it ended)."""
    campaigns = list(campaigns)
    counts = firmware_updates_by_campaign(c.uuid for c in campaigns if c.updates is None)
    return {c.id: c.updates if c.updates is not None else counts[c.uuid] for c in campaigns}


def campaign_names() -> dict[UUID, str]:
    return dict(UpdateCampaign.objects.values_list("uuid", "name"))
