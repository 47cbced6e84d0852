"""What every benchmark module uses: a dedicated PostgreSQL database, timers, and results.

A benchmark module is `bench/bench_<name>.py` with `run(ctx: Context) -> list[Result]`. It
generates its own data at the scale it states, times our code path and the raw PostgreSQL
equivalent in the same run, and returns one Result per figure.
"""

import gc
import os
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connection


@dataclass
class Result:
    name: str  # "1. bulk ingest"
    scale: str  # "1,000,000 machine sessions"
    ours: float  # what we measured (seconds, or a rate: see `unit`)
    raw: float | None  # the raw PostgreSQL figure for the same work, same unit
    unit: str  # "s" (lower is better) or "rows/s" / "events/s" (higher is better)
    target: str  # "ours/raw >= 0.5", "ours <= 2x raw", ">= 20,000 events/s"
    passed: bool
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.raw:
            return None
        return self.ours / self.raw

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


@dataclass
class Context:
    full: bool  # full scale (the stated figures) or a quick smoke run
    options: dict[str, Any] = field(default_factory=dict)

    def scale(self, full: int, quick: int) -> int:
        return full if self.full else quick


@contextmanager
def timer() -> Iterator[Callable[[], float]]:
    """with timer() as elapsed: ...; elapsed() -> seconds (frozen when the block ends)."""
    gc.collect()
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def best_of(runs: int, work: Callable[[], Any], setup: Callable[[], Any] | None = None) -> float:
    """The fastest of `runs` timings of work() (setup() runs untimed before each)."""
    times = []
    for _ in range(runs):
        if setup is not None:
            setup()
        with timer() as elapsed:
            work()
        times.append(elapsed())
    return min(times)


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def first_view_and_queries(view: Callable[[], Any]) -> tuple[float, int]:
    """A page's first view timed (it may build caches), then the queries of the next view."""
    from django.test.utils import CaptureQueriesContext

    with timer() as elapsed:
        view()
    first = round(elapsed(), 3)
    with CaptureQueriesContext(connection) as captured:
        view()
    return first, len(captured)


@dataclass
class Download:
    status: int
    seconds: float
    newlines: int
    size: int
    memory_growth_mb: float


def stream_download(client: Any, url: str) -> Download:
    """GET a streamed download through Django's test client, reading it to the end: its time,
    lines and bytes, and how far the process's memory grew (sampled every 50 chunks)."""
    from django.test.utils import override_settings

    baseline = peak = current_rss_mb()
    newlines = size = 0
    with override_settings(DEBUG=False), timer() as elapsed:
        response = client.get(url)
        for n, chunk in enumerate(response.streaming_content):
            newlines += chunk.count(b"\n")
            size += len(chunk)
            if n % 50 == 0:
                peak = max(peak, current_rss_mb())
    return Download(response.status_code, elapsed(), newlines, size, peak - baseline)


def sql(statement: str, params: Any = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def vacuum_analyze(*tables: str) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")
