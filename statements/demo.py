"""Demo statements: six months of believable machine usage on the demo licenses (working-hour
peaks, quiet weekends, several regions, pools and machine types), monthly credits with invoice
numbers, closed past months, a few sessions that arrived late (adjustments on the open month)
and one that waits for a price. `feed()` adds a few fresh sessions; the beat runs it every minute
while DEMO_FEED is on, so the two-minute poll visibly moves the open statements."""

import math
import random
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.scoping import SYSTEM
from licenses.demo import HISTORY_MONTHS, LICENSES, months_ago
from licenses.models import License, LicenseStatus
from metering.models import UsageEvent
from metering.months import Month
from metering.services.ingest import MAX_BATCH, events_ingest

from .models import Credit
from .services.close import statements_close
from .services.credits import credit_add
from .services.poll import statements_poll

# License name: sessions per working day, fleet, {pool: weight}, {machine type: weight},
# {region: weight}, {license type: weight}, monthly credit.
PROFILES: dict[str, dict[str, Any]] = {
    "Contoso Render Farm": {
        "per_day": 38,
        "fleet": 28,
        "pools": {"render": 5, "preview": 2, "simulation": 1},
        "types": {"c5.2xlarge": 3, "g4dn.xlarge": 2, "c5.xlarge": 1},
        "regions": {"us-east": 3, "eu-west": 2},
        "license_types": {"render-pro": 3, "standard": 1},
        "credit": "520.00",
    },
    "Contoso Preview Nodes": {
        "per_day": 16,
        "fleet": 10,
        "pools": {"preview": 3, "batch": 1},
        "types": {"c5.xlarge": 3, "m5.large": 2},
        "regions": {"us-east": 1},
        "license_types": {"standard": 1},
        "credit": "65.00",
    },
    "Fabrikam Studio": {
        "per_day": 26,
        "fleet": 18,
        "pools": {"render": 3, "simulation": 2},
        "types": {"g4dn.xlarge": 2, "c5.2xlarge": 2},
        "regions": {"eu-west": 3, "ap-south": 1},
        "license_types": {"premium": 2, "render-pro": 1},
        "credit": "380.00",
    },
    "Tailspin Analytics Cluster": {
        "per_day": 20,
        "fleet": 12,
        "pools": {"batch": 3, "simulation": 1},
        "types": {"m5.large": 3, "c5.xlarge": 2},
        "regions": {"us-east": 2, "ap-south": 1},
        "license_types": {"standard": 2, "premium": 1},
        "credit": "35.00",
    },
    "Metro Traffic Simulation": {
        "per_day": 12,
        "fleet": 8,
        "pools": {"simulation": 1},
        "types": {"c5.2xlarge": 1, "c5.xlarge": 1},
        "regions": {"eu-west": 1},
        "license_types": {"premium": 1},
        "credit": "150.00",
    },
    "Globex Batch": {
        "per_day": 8,
        "fleet": 6,
        "pools": {"batch": 1},
        "types": {"m5.large": 1},
        "regions": {"eu-west": 1},
        "license_types": {"standard": 1},
        "credit": "12.00",
    },
}
# Relative load per hour of the day (UTC): a working-day peak with a night tail.
HOURLY_LOAD = [1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 9, 8, 9, 10, 10, 9, 7, 5, 4, 3, 2, 2, 1]


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _initials(name: str) -> str:
    return "".join(word[0] for word in name.lower().split())


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower())


def _session(
    rng: random.Random, license: License, profile: dict[str, Any], event_id: str, start: datetime
) -> dict[str, Any]:
    seconds = int(min(8 * 3600, max(120, rng.lognormvariate(math.log(2400), 0.9))))
    return {
        "event_id": event_id,
        "type": "machine_session",
        "license": str(license.uuid),
        "start": start.isoformat(),
        "duration_seconds": seconds,
        "machine_id": f"{_initials(license.name)}-{rng.randrange(profile['fleet']):03d}",
        "machine_type": _pick(rng, profile["types"]),
        "region": _pick(rng, profile["regions"]),
        "pool": _pick(rng, profile["pools"]),
        "license_type": _pick(rng, profile["license_types"]),
    }


def _day_sessions(license: License, profile: dict[str, Any], day: date, until: datetime) -> list:
    rng = random.Random(f"{license.name}-{day}")
    count = profile["per_day"] if day.weekday() < 5 else profile["per_day"] // 4
    sessions = []
    for n in range(round(count * rng.uniform(0.7, 1.3))):
        hour = rng.choices(range(24), weights=HOURLY_LOAD)[0]
        start = datetime(day.year, day.month, day.day, hour, tzinfo=until.tzinfo) + timedelta(
            seconds=rng.randrange(3600)
        )
        event = _session(
            rng, license, profile, f"demo-{_slug(license.name)}-{day:%Y%m%d}-{n}", start
        )
        if start + timedelta(seconds=event["duration_seconds"]) <= until:
            sessions.append(event)
    return sessions


def _ingest(events: list[dict[str, Any]], now: datetime) -> int:
    accepted = 0
    for start in range(0, len(events), MAX_BATCH):
        accepted += events_ingest(
            actor=SYSTEM, events=events[start : start + MAX_BATCH], now=now
        ).accepted
    return accepted


def _credits(
    license: License, profile: dict[str, Any], first: date, now: datetime, index: int
) -> None:
    """A top-up early each month (sometimes a double one), invoiced a few days before. The
    current month's comes at the seeding moment when that is earlier than its day (seeding on
    the 1st), so every month has its credit whatever the day."""
    period, month = first, 0
    while period <= Month.of(now).first_day:
        rng = random.Random(f"credit-{license.name}-{period}")
        early = datetime(period.year, period.month, 1, tzinfo=now.tzinfo) + timedelta(
            days=rng.randrange(1, 5), hours=rng.randrange(8, 17)
        )
        credited_at = min(early, now)
        invoice = f"INV-{period:%Y}-{100 * month + index + 1:05d}"
        amount = profile["credit"] if rng.random() > 0.25 else str(2 * float(profile["credit"]))
        credit_add(
            actor=None,
            license=license,
            amount=amount,
            credited_at=credited_at,
            invoice_number=invoice,
            invoice_date=(credited_at - timedelta(days=rng.randrange(3, 12))).date(),
            now=now,
        )
        period, month = Month.of(period).next().first_day, month + 1


def seed(stdout: Any = None, now: datetime | None = None) -> None:
    now = now or timezone.now()
    licenses = [
        license
        for license in License.objects.filter(name__in=[name for _, name in LICENSES])
        if license.name in PROFILES
    ]
    if not licenses or UsageEvent.objects.filter(event_id__startswith="demo-").exists():
        return
    first = months_ago(now, HISTORY_MONTHS).date()
    events = []
    for license in licenses:
        day = first
        while day <= now.date():
            events += _day_sessions(license, PROFILES[license.name], day, now)
            day += timedelta(days=1)
    accepted = _ingest(events, now)
    for index, license in enumerate(licenses):
        _credits(license, PROFILES[license.name], first, now, index)
    statements_poll(now=now)
    closed = statements_close(now=now)

    # Late arrivals for last month (adjustments on the open month) and usage without a price.
    rng = random.Random("late")
    last_month = Month.of(now).previous().first_day
    late = [
        _session(
            rng,
            license,
            PROFILES[license.name],
            f"demo-late-{_slug(license.name)}-{n}",
            datetime(last_month.year, last_month.month, 27, 9 + n, tzinfo=now.tzinfo),
        )
        for n, license in enumerate(licenses[:3])
    ]
    unpriced = _session(rng, licenses[0], PROFILES[licenses[0].name], "demo-unpriced-1", now)
    unpriced.update(
        machine_type="x2iedn.8xlarge",
        start=(now - timedelta(hours=2)).isoformat(),
        duration_seconds=1800,
    )
    accepted += _ingest([*late, unpriced], now)
    statements_poll(now=now)
    if stdout is not None:
        stdout.write(
            f"  {accepted} machine sessions on {len(licenses)} licenses, "
            f"{Credit.objects.count()} credits, "
            f"{sum(closed.closed.values())} statements closed."
        )


def feed(now: datetime | None = None) -> int:
    """A few sessions that just ended on some active demo licenses; returns how many."""
    now = now or timezone.now()
    licenses = list(
        License.objects.filter(name__in=list(PROFILES), status=LicenseStatus.ACTIVE).order_by("id")
    )
    if not licenses:
        return 0
    rng = random.Random()
    events = []
    for license in rng.sample(licenses, k=min(3, len(licenses))):
        for n in range(rng.randint(1, 3)):
            event = _session(
                rng,
                license,
                PROFILES[license.name],
                f"feed-{now:%Y%m%d%H%M%S}-{license.id}-{n}",
                now,
            )
            event["duration_seconds"] = rng.randint(300, 3600)
            started = now - timedelta(seconds=event["duration_seconds"] + rng.randint(0, 120))
            event["start"] = started.isoformat()
            events.append(event)
    return events_ingest(actor=SYSTEM, events=events, now=now).accepted
