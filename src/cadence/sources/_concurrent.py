"""Shared by the API connectors: many calendars at once, batched writes, per-thread readers,
owner-only token files."""

from __future__ import annotations

import os
import queue
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import pandas as pd

from cadence.store import Pull, Store


class HasPull(Protocol):
    @property
    def pull(self) -> Pull: ...


R = TypeVar("R", bound=HasPull)


@dataclass
class Outcome(Generic[R]):
    """What a concurrent pull did: each calendar's result, the failures, the rows written."""

    results: list[R] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    rows_written: int = 0


def pull_concurrently(
    store: Store,
    calendars: list[str],
    work: Callable[[str], R],
    *,
    source: str,
    when: pd.Timestamp,
    workers: int,
    describe: Callable[[BaseException], str],
    run_id: int | None = None,
    progress: Callable[[str], None] | None = None,
    batch_size: int = 50,
    flush_seconds: float = 1.0,
) -> Outcome[R]:
    """Run ``work`` for every calendar on ``workers`` threads; write results in batches.

    Finished calendars are merged into one :class:`Pull` per window (full pulls
    of one window together, deltas together) and written in one transaction
    with their cursors, at least every ``flush_seconds`` and every
    ``batch_size`` calendars: few large writes, and a run that is killed loses
    at most the last second. A calendar whose work raises is recorded in the
    store (``record_failure``) with ``describe(exc)`` and listed in ``failed``.
    """
    outcome: Outcome[R] = Outcome()
    batch: list[R] = []

    def flush() -> None:
        groups: dict[object, list[R]] = {}
        for result in batch:
            groups.setdefault(result.pull.window, []).append(result)
        for window, part in groups.items():
            merged = Pull(
                source,
                [c for r in part for c in r.pull.calendars],
                pd.concat([r.pull.events for r in part], ignore_index=True),
                pd.concat([r.pull.attendees for r in part], ignore_index=True),
                seen_at=when,
                window=part[0].pull.window if window is not None else None,
                cursors={c: t for r in part for c, t in r.pull.cursors.items()},
            )
            outcome.rows_written += store.write_pull(merged, run_id=run_id).rows_written
        batch.clear()

    finished: queue.SimpleQueue[Future[R]] = queue.SimpleQueue()
    last_flush = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures: dict[Future[R], str] = {}
        for calendar in calendars:
            future = pool.submit(work, calendar)
            futures[future] = calendar
            future.add_done_callback(finished.put)
        pending = len(futures)
        while pending:
            try:
                done = [finished.get(timeout=flush_seconds / 2)]
            except queue.Empty:
                done = []
            pending -= len(done)
            for future in done:
                calendar = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # one calendar's failure is reported, not raised
                    outcome.failed[calendar] = describe(exc)
                    store.record_failure(source, calendar, outcome.failed[calendar], when)
                else:
                    batch.append(result)
                    outcome.results.append(result)
                if progress:
                    progress(calendar)
            due = time.monotonic() - last_flush >= flush_seconds
            if batch and (len(batch) >= batch_size or not pending or due):
                flush()
                last_flush = time.monotonic()
    return outcome


class ThreadReaders:
    """One read connection to the store per worker thread (WAL: readers never block the
    writer); :meth:`close` them all once the workers are done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[Store] = []

    def get(self) -> Store:
        if not hasattr(self._local, "store"):
            self._local.store = Store(self.path, any_thread=True)
            self._all.append(self._local.store)
        store: Store = self._local.store
        return store

    def close(self) -> None:
        for store in self._all:
            store.close()


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by its owner only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, stat.S_IRUSR | stat.S_IWUSR)
    tmp.replace(path)
