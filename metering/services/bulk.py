"""Bulk ingest of a usage file through the API's ingest, batch by batch, on several cores.

A large file is cut into blocks at line ends. Worker processes each take every n-th block: they
read, validate and resolve their blocks side by side, and store them one after another in file
order, each block waiting until the one before it is committed. The outcome is exactly that of
reading the file from start to end in one process: the first occurrence of an event id in the
file is the one stored, and a later one is a duplicate or a conflict.
"""

import csv
import gc
import io
import mmap
import multiprocessing
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from queue import Empty
from typing import Any

from django.db import connection, connections

from accounts.scoping import Actor

from ..readers import ENCODING_ERRORS, UnreadableLine, read_csv, read_jsonl
from .ingest import MAX_BATCH, IngestResult, PreparedBatch, events_prepare, events_store

# Below this size a file is read in this process: starting workers would cost more than it saves.
PARALLEL_MIN_BYTES = 1 << 20
# Beyond this many workers, storing (one block at a time) is the bottleneck, not preparing.
WORKERS_MAX = 4
# Bytes sampled from the start of a file to size its blocks.
_SAMPLE_BYTES = 1 << 16

Progress = Callable[[int], None]


class BulkIngestError(RuntimeError):
    """A worker stopped on an unexpected error; the blocks before its block stay stored."""


@dataclass
class _Batch:
    """Up to a batch size of lines of a file, prepared; unreadable lines are kept by position."""

    size: int
    prepared: PreparedBatch
    positions: list[int]  # the batch position of each readable event, in order
    unreadable: dict[int, UnreadableLine]

    def store(self) -> IngestResult:
        stored = events_store(batch=self.prepared)
        # Map indexes back to the batch, around the unreadable lines.
        result = IngestResult(accepted=stored.accepted, duplicates=stored.duplicates)
        result.conflicts = [{**c, "index": self.positions[c["index"]]} for c in stored.conflicts]
        result.rejected = [{**r, "index": self.positions[r["index"]]} for r in stored.rejected] + [
            {"index": i, "event_id": None, "errors": {"non_field_errors": [str(e)]}}
            for i, e in self.unreadable.items()
        ]
        return result


def _prepare(actor: Actor, events: list[Any]) -> _Batch:
    unreadable = {i: e for i, e in enumerate(events) if isinstance(e, UnreadableLine)}
    positions = [i for i in range(len(events)) if i not in unreadable]
    readable = [events[i] for i in positions] if unreadable else events
    return _Batch(len(events), events_prepare(actor=actor, events=readable), positions, unreadable)


def _batches(events: Iterator[Any], batch_size: int) -> Iterator[list[Any]]:
    while batch := list(islice(events, batch_size)):
        yield batch


@dataclass
class _Block:
    start: int  # byte offsets in the file
    end: int
    first_line: int  # the file's number for its first line


@dataclass
class _Plan:
    path: Path
    fmt: str
    header: list[str] | None  # a CSV file's field names, from its first line
    blocks: list[_Block] = field(default_factory=list)

    def events(self, block: _Block) -> Iterator[Any]:
        with self.path.open("rb") as stream:
            stream.seek(block.start)
            text = stream.read(block.end - block.start).decode("utf-8", ENCODING_ERRORS)
        lines = io.StringIO(text, newline="")
        if self.fmt == "csv":
            return read_csv(lines, header=self.header)
        return read_jsonl(lines, first_line=block.first_line)


def _line_count(text: bytes) -> int:
    """Lines a text reader sees: a line ends with LF, CR LF or a lone CR."""
    return text.count(b"\n") + text.count(b"\r") - text.count(b"\r\n")


def _plan(path: Path, fmt: str, batch_size: int) -> _Plan | None:
    """Blocks of about `batch_size` lines, each starting after a LF; or None when the file is
    better read in one process: small, one block, or a CSV file with quotes (a quoted cell may
    hold a line break, so there a line end is not always the end of a row)."""
    size = path.stat().st_size
    if not size or size < PARALLEL_MIN_BYTES:
        return None
    with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start, header = 0, None
        if fmt == "csv":
            start = data.find(b"\n") + 1
            first = data[:start]
            # The header must be the first line as the CSV reader reads it.
            if data.find(b'"') >= 0 or not start or b"\r" in first.removesuffix(b"\r\n"):
                return None
            header = next(csv.reader([first.decode("utf-8", ENCODING_ERRORS)]))
        sample = data[start : start + _SAMPLE_BYTES]
        block_bytes = max(len(sample) * batch_size // max(sample.count(b"\n"), 1), 1)
        plan = _Plan(path, fmt, header)
        first_line = 1
        while start < len(data):
            end = data.find(b"\n", min(start + block_bytes, len(data)) - 1) + 1 or len(data)
            plan.blocks.append(_Block(start, end, first_line))
            if fmt == "jsonl":  # its rejections name line numbers
                first_line += _line_count(data[start:end])
            start = end
    return plan if len(plan.blocks) > 1 else None


def _ingest_in_process(
    path: Path, fmt: str, actor: Actor, batch_size: int, progress: Progress
) -> tuple[IngestResult, int]:
    total, offset = IngestResult(), 0
    with path.open(encoding="utf-8", errors=ENCODING_ERRORS, newline="") as stream:
        events = read_csv(stream) if fmt == "csv" else read_jsonl(stream)
        for batch in _batches(events, batch_size):
            total.add(_prepare(actor, batch).store(), offset)
            offset += len(batch)
            progress(len(batch))
    return total, offset


@dataclass
class _Turn:
    """Which block may be stored next, shared by the workers."""

    changed: Any  # a multiprocessing Condition
    stored: Synchronized  # the last block stored
    failed: Synchronized  # a worker stopped: the others stop too

    def wait_for(self, number: int) -> bool:
        """Wait until block `number - 1` is stored; False if a worker failed meanwhile."""
        with self.changed:
            self.changed.wait_for(lambda: self.stored.value == number - 1 or self.failed.value)
            return not self.failed.value

    def mark(self, *, stored: int | None = None, failed: bool = False) -> None:
        with self.changed:
            if stored is not None:
                self.stored.value = stored
            if failed:
                self.failed.value = True
            self.changed.notify_all()


def _work(
    plan: _Plan, actor: Actor, batch_size: int, me: int, workers: int, turn: _Turn, reports: Any
) -> None:
    """One worker: prepare each of its blocks, then store it in its turn; report each block
    as (number, events read, result), or a failure as (None, 0, traceback)."""
    # A worker builds rows by the million that hold no reference cycles, so reference counting
    # frees them; the cyclic collector's passes over the batches in hand took a third of its time.
    gc.disable()
    try:
        for number in range(me, len(plan.blocks), workers):
            events = plan.events(plan.blocks[number])
            batches = [_prepare(actor, batch) for batch in _batches(events, batch_size)]
            if not turn.wait_for(number):
                return
            result, offset = IngestResult(), 0
            for batch in batches:
                result.add(batch.store(), offset)
                offset += batch.size
            turn.mark(stored=number)
            reports.put((number, offset, result))
    except BaseException:
        turn.mark(failed=True)
        reports.put((None, 0, traceback.format_exc()))
    finally:
        connections.close_all()


def _ingest_in_workers(
    plan: _Plan, actor: Actor, batch_size: int, workers: int, progress: Progress
) -> tuple[IngestResult, int]:
    # Forked workers inherit the loaded project; each opens its own database connection, so
    # none may inherit an open one.
    context = multiprocessing.get_context("fork")
    changed = context.Condition()
    turn = _Turn(
        changed,
        context.Value("q", -1, lock=False),
        context.Value("b", False, lock=False),
    )
    reports = context.Queue()
    connections.close_all()
    processes = [
        context.Process(
            target=_work, args=(plan, actor, batch_size, me, workers, turn, reports), daemon=True
        )
        for me in range(workers)
    ]
    for process in processes:
        process.start()
    done: dict[int, tuple[int, IngestResult]] = {}
    failures: list[str] = []

    def receive(report: tuple[int | None, int, Any]) -> None:
        number, size, outcome = report
        if number is None:
            failures.append(outcome)
            turn.mark(failed=True)
        else:
            done[number] = (size, outcome)
            progress(size)

    try:
        while any(p.is_alive() for p in processes):
            try:
                receive(reports.get(timeout=0.5))
            except Empty:
                if any(p.exitcode not in (None, 0) for p in processes):
                    turn.mark(failed=True)
        # A worker's reports are all sent before it ends; take those not read yet.
        while True:
            try:
                receive(reports.get_nowait())
            except Empty:
                break
    finally:
        turn.mark(failed=len(done) < len(plan.blocks))
        for process in processes:
            process.join()
    failure = failures[0] if failures else None
    if failure is None and len(done) < len(plan.blocks):
        failure = "A worker process ended unexpectedly."
    if failure is not None:
        raise BulkIngestError(failure.strip().splitlines()[-1])
    total, offset = IngestResult(), 0
    for number in range(len(plan.blocks)):
        size, result = done[number]
        total.add(result, offset)
        offset += size
    return total, offset


def events_file_ingest(
    *,
    path: Path,
    fmt: str,
    actor: Actor,
    batch_size: int = MAX_BATCH,
    workers: int = 1,
    progress: Progress | None = None,
) -> tuple[IngestResult, int]:
    """Ingest a JSON Lines or CSV file (`fmt` "jsonl" or "csv") for `actor` in batches of at
    most `batch_size` events, each in its own transaction, with up to `workers` processes.
    Returns the outcome, indexed by position in the file, and the number of events read;
    `progress` hears how many events each stored part held."""
    progress = progress or (lambda events: None)
    workers = max(1, min(workers, WORKERS_MAX))
    # Workers commit on their own connections, which a caller's open transaction could neither
    # see nor roll back: inside one, the file is read here.
    plan = None
    if workers > 1 and not connection.in_atomic_block:
        plan = _plan(path, fmt, batch_size)
    if plan is None:
        return _ingest_in_process(path, fmt, actor, batch_size, progress)
    return _ingest_in_workers(plan, actor, batch_size, workers, progress)
