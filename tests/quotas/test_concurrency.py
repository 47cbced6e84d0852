"""Races decided by the database, with real concurrent transactions on PostgreSQL: two campaigns
for the last tokens, and two ingest batches spending a campaign's last reserved token."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.test import TransactionTestCase
from django.utils import timezone

from accounts.models import Account, AccountKind
from accounts.scoping import SYSTEM
from metering.models import UsageEvent
from metering.services.ingest import events_ingest
from quotas.models import QuotaLedgerEntry, UpdateCampaign
from quotas.selectors.packages import remaining_tokens
from quotas.services.campaigns import CampaignRefused, campaign_finish, campaign_start
from quotas.services.packages import package_create


def race(*works: Callable[[], Any]) -> list[Any]:
    """Run the works at the same moment, each in its own thread and database connection;
    returns each one's result or the exception it raised."""
    barrier = threading.Barrier(len(works))
    results: list[Any] = [None] * len(works)

    def run(index: int, work: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except Exception as exc:  # the loser's refusal is the result under test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(works)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


class LastTokensRaceTests(TransactionTestCase):
    def setUp(self) -> None:
        self.aggregator = Account.objects.create(name="Agg", slug="agg", kind=AccountKind.CUSTOMER)
        self.tenants = [
            Account.objects.create(
                name=f"T{i}", slug=f"t{i}", kind=AccountKind.CUSTOMER, parent=self.aggregator
            )
            for i in range(2)
        ]
        package_create(actor=None, account=self.aggregator, tokens=100, starts_at=timezone.now())

    def test_two_campaigns_race_for_the_last_tokens_and_exactly_one_gets_them(self) -> None:
        campaign_start(actor=None, account=self.aggregator, name="Earlier", devices=10)
        for round_ in range(5):
            results = race(
                *[
                    lambda tenant=tenant, name=f"Race {round_}": campaign_start(
                        actor=SYSTEM, account=tenant, name=name, devices=90
                    )
                    for tenant in self.tenants
                ]
            )
            won = [r for r in results if isinstance(r, UpdateCampaign)]
            lost = [r for r in results if isinstance(r, CampaignRefused)]
            self.assertEqual((len(won), len(lost)), (1, 1), results)
            self.assertEqual(lost[0].code, "not_enough_quota")
            self.assertEqual(remaining_tokens(self.aggregator), 0)
            # The winner finishes without updating anything: its 90 tokens come back.
            campaign_finish(actor=None, campaign=won[0])
            self.assertEqual(remaining_tokens(self.aggregator), 90)
        self.assertEqual(QuotaLedgerEntry.objects.filter(event_type="reservation").count(), 6)

    def test_two_batches_race_for_a_campaigns_last_token(self) -> None:
        campaign = campaign_start(actor=None, account=self.tenants[0], name="One left", devices=1)
        now = timezone.now().isoformat()

        def batch(event_id: str) -> Any:
            return events_ingest(
                actor=SYSTEM,
                events=[
                    {
                        "event_id": event_id,
                        "type": "firmware_update",
                        "account": str(self.tenants[0].uuid),
                        "device_id": event_id,
                        "endpoint_name": event_id,
                        "campaign": str(campaign.uuid),
                        "timestamp": now,
                    }
                ],
            )

        results = race(lambda: batch("a"), lambda: batch("b"))
        self.assertEqual(sorted(r.accepted for r in results), [0, 1])
        self.assertEqual(sorted(len(r.rejected) for r in results), [0, 1])
        self.assertEqual(UsageEvent.objects.filter(campaign=campaign.uuid).count(), 1)
