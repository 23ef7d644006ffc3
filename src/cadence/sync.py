"""The sync engine: pull a connector's calendars into the store, the only code on the sources
side that touches the store.

:func:`pull` asks the connector for its targets, pulls them ``workers`` at a
time with each calendar's stored cursor, and writes what lands in batches:
finished calendars are merged into one :class:`~cadence.model.Pull` per window
and written in one transaction with their cursors, at least every
``flush_seconds`` and every ``batch_size`` calendars. A run that is killed
loses at most the last second; the next run carries on from the cursors that
did land. A calendar whose pull raises is that calendar's failure: recorded
in the store (``record_failure``, the cursor and rows untouched) and listed
in the summary, while the others land.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from cadence.errors import ConfigError, SchemaError, SourceError, StoreError
from cadence.model import CalendarPull, Frames, Pull, PullSummary
from cadence.sources.connector import Connector, PullContext, describe
from cadence.store import Store

Progress = Callable[[str, int, int], None]  # (what, done, total)
log = logging.getLogger("cadence")


def pull(
    store: Store,
    connector: Connector,
    *,
    roster: pd.DataFrame | None = None,
    now: pd.Timestamp | None = None,
    kind: str = "pull",
    run_id: int | None = None,
    progress: Progress | None = None,
    batch_size: int = 50,
    flush_seconds: float = 1.0,
) -> PullSummary:
    """Pull every target of ``connector`` into ``store``; return what happened.

    The connector is opened (sign-in) and its directory roster, if it reads one,
    replaces the stored roster and decides the targets. A source that cannot
    start is that source's failure: every calendar it would have pulled is
    recorded as failed with the reason (``summary.error``); a wrong config
    (:class:`~cadence.errors.ConfigError`) is raised. The pull is recorded as a
    run of ``kind`` (``pull``, ``import``…) with the summary, unless ``run_id``
    names a run it belongs to. ``progress`` is called after each calendar with
    ``(label, done, total)``.
    """
    when = now if now is not None else pd.Timestamp.now(tz="UTC")
    summary = PullSummary(source=connector.source)
    own_run = run_id is None
    run = store.start_run(kind, at=when) if run_id is None else run_id
    try:
        return _pull_run(
            store,
            connector,
            roster,
            when,
            summary,
            run,
            own_run,
            progress,
            batch_size,
            flush_seconds,
        )
    except BaseException as exc:  # the run row is finished in all cases, never left running
        if own_run:
            stopped = isinstance(exc, KeyboardInterrupt | SystemExit)
            finish_quietly(
                store,
                run,
                "interrupted" if stopped else "failed",
                {**summary.as_dict(), "error": str(exc) or type(exc).__name__},
            )
        raise


def finish_quietly(store: Store, run: int, status: str, record: dict[str, object]) -> None:
    """Finish a run on the way out of an error; a store that cannot even record it (a full
    disk) leaves the row to the next run, which marks it ``interrupted``."""
    try:
        store.finish_run(run, status, record)
    except StoreError as exc:
        log.warning("could not record the end of run %s: %s", run, exc)


def _pull_run(
    store: Store,
    connector: Connector,
    roster: pd.DataFrame | None,
    when: pd.Timestamp,
    summary: PullSummary,
    run: int,
    own_run: bool,
    progress: Progress | None,
    batch_size: int,
    flush_seconds: float,
) -> PullSummary:
    try:
        targets = _start(store, connector, roster, summary)
    except ConfigError:
        connector.close()
        raise
    except Exception as exc:  # the source as a whole could not start: each calendar failed
        summary.error = str(exc) if isinstance(exc, SourceError) else describe(exc)
        log.debug("%s could not start", connector.section, exc_info=exc)
        try:
            targets = connector.targets(roster)
        except Exception:  # not even the calendars are known: the run records the failure
            targets = []
        summary.calendars = len(targets)
        for calendar in targets:
            summary.failed[calendar] = summary.error
            store.record_failure(connector.source, calendar, summary.error, when)
        if own_run:
            store.finish_run(run, "failed", summary.as_dict())
        connector.close()
        return summary
    summary.calendars = len(targets)
    cursors = {
        c: (state.cursor if state else None)
        for c in targets
        for state in [store.sync_state(connector.source, c)]
    }
    readers = _ThreadReaders(store.path)
    batch: list[CalendarPull] = []
    # a calendar the store holds nothing of is not read back: what its read would give
    held = store.calendars(connector.source)
    nothing = Frames(
        store.events(source=connector.source, calendars=[]),
        store.attendees(source=connector.source, calendars=[]),
    )

    def stored(calendar: str) -> Callable[[], Frames]:
        def read() -> Frames:
            if calendar not in held:
                return nothing
            db = readers.get()
            return Frames(
                db.events(source=connector.source, calendars=[calendar]),
                db.attendees(source=connector.source, calendars=[calendar]),
            )

        return read

    def one(calendar: str) -> CalendarPull:
        context = PullContext(calendar, cursors[calendar], when, stored(calendar))
        return connector.pull_one(context)

    def pull_of(part: list[CalendarPull], window: object) -> Pull:
        return Pull(
            connector.source,
            [r.calendar for r in part],
            pd.concat([r.events for r in part], ignore_index=True),
            pd.concat([r.attendees for r in part], ignore_index=True),
            seen_at=when,
            window=part[0].window if window is not None else None,
            cursors={r.calendar: r.cursor for r in part},
        )

    def flush() -> None:
        groups: dict[object, list[CalendarPull]] = {}
        for result in batch:
            groups.setdefault(result.window, []).append(result)
        for window, part in groups.items():
            try:
                summary.rows_written += store.write_pull(
                    pull_of(part, window), run_id=run
                ).rows_written
            except SchemaError:  # one calendar's rows do not fit the model: find it, keep the rest
                for result in part:
                    try:
                        written = store.write_pull(pull_of([result], window), run_id=run)
                        summary.rows_written += written.rows_written
                    except SchemaError as exc:
                        summary.failed[result.calendar] = str(exc)
                        store.record_failure(connector.source, result.calendar, str(exc), when)
        batch.clear()

    label = f"pulling {connector.section} {connector.unit}"
    finished: queue.SimpleQueue[Future[CalendarPull]] = queue.SimpleQueue()
    last_flush = time.monotonic()
    done_count = 0
    try:
        with _workers(max(1, connector.workers)) as pool:
            futures: dict[Future[CalendarPull], str] = {}
            for calendar in targets:
                future = pool.submit(one, calendar)
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
                        message = str(exc) if isinstance(exc, SourceError) else describe(exc)
                        summary.failed[calendar] = message
                        store.record_failure(connector.source, calendar, message, when)
                        log.debug("%s %s failed", connector.section, calendar, exc_info=exc)
                    else:
                        batch.append(result)
                        summary.add(result)
                    done_count += 1
                    if progress:
                        progress(label, done_count, len(targets))
                due = time.monotonic() - last_flush >= flush_seconds
                if batch and (len(batch) >= batch_size or not pending or due):
                    flush()
                    last_flush = time.monotonic()
    finally:
        readers.close()
        connector.close()
    if own_run:
        store.finish_run(run, "partial" if summary.failed else "ok", summary.as_dict())
    return summary


@contextmanager
def _workers(count: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that, on an error or a signal, does not wait for the calendars still on
    the wire (a hung request would hold the run for its whole timeout)."""
    pool = ThreadPoolExecutor(max_workers=count)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _start(
    store: Store, connector: Connector, roster: pd.DataFrame | None, summary: PullSummary
) -> list[str]:
    """Sign in, read the directory roster (kept in the store: it is the roster from now on)
    and return the targets."""
    connector.open()
    directory = connector.directory_roster()
    if directory is not None:
        store.save_roster(directory, connector.section)
        summary.roster_people = len(directory)
        roster = directory
    return connector.targets(roster)


class _ThreadReaders:
    """One read connection to the store per worker thread (WAL: readers never block the
    writer); :meth:`close` them all once the workers are done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[Store] = []
        self._lock = threading.Lock()

    def get(self) -> Store:
        if not hasattr(self._local, "store"):
            self._local.store = Store(self.path, any_thread=True)
            with self._lock:
                self._all.append(self._local.store)
        store: Store = self._local.store
        return store

    def close(self) -> None:
        for store in self._all:
            store.close()
