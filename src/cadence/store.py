"""The embedded SQLite store: latest events, their history, sync cursors, runs.

One file (default under the user data dir) holds

- ``events`` / ``attendees``: the latest version of every occurrence as seen in
  each calendar (model columns plus bookkeeping: ``first_seen``,
  ``last_changed``, ``vanished_at``);
- ``changes``: what pulls saw change: an occurrence ``moved``, ``cancelled``,
  ``vanished`` (gone from a full pull; before its start that makes it a
  cancellation), ``restored``, or an attendee's ``response`` changing;
- ``sync_state``: one cursor per (source, calendar), written in the same
  transaction as the rows it covers;
- ``runs``: every pull / report run with its counts and errors;
- ``meta``: key/value facts about the store itself.

Instants are stored as INTEGER microseconds since the Unix epoch (UTC), which
round-trips the model's ``datetime64[us, UTC]`` exactly. Text is stored once, in
the lookup tables ``people`` (every e-mail) and ``texts`` (every other value);
``events`` and ``attendees`` hold integer ids, and reads turn them into
categorical columns without touching a string per row. Writes are diffs: a
pull identical to what is stored writes no row, and each event's fingerprint
(a hash of its stored values and attendees) lets a pull skip the unchanged ones
without comparing them column by column.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from cadence.errors import SchemaError, StoreBusyError, StoreError
from cadence.model import (
    ATTENDEES,
    EVENTS,
    STRING,
    TIMESTAMP,
    Frames,
    Pull,
    Snapshot,
    SourceHealth,
    validate,
)

# Each entry upgrades the schema by one version; never edit a released entry.
MIGRATIONS: tuple[str, ...] = (
    # 1: initial schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE events (
        source TEXT NOT NULL, calendar TEXT NOT NULL, event_id TEXT NOT NULL,
        series_id TEXT, ical_uid TEXT NOT NULL,
        original_start INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
        timezone TEXT, all_day INTEGER NOT NULL, status TEXT NOT NULL,
        organizer TEXT, recurrence TEXT, event_type TEXT NOT NULL, title TEXT,
        created INTEGER, updated INTEGER,
        first_seen INTEGER NOT NULL, last_changed INTEGER NOT NULL, vanished_at INTEGER,
        PRIMARY KEY (source, calendar, event_id)
    ) WITHOUT ROWID;
    CREATE INDEX events_instance ON events (ical_uid, original_start);
    CREATE INDEX events_start ON events (source, calendar, start);
    CREATE TABLE attendees (
        source TEXT NOT NULL, calendar TEXT NOT NULL, event_id TEXT NOT NULL,
        email TEXT NOT NULL, role TEXT NOT NULL, response TEXT NOT NULL,
        is_resource INTEGER NOT NULL,
        PRIMARY KEY (source, calendar, event_id, email)
    ) WITHOUT ROWID;
    CREATE TABLE changes (
        id INTEGER PRIMARY KEY,
        run_id INTEGER, seen_at INTEGER NOT NULL,
        source TEXT NOT NULL, calendar TEXT NOT NULL, event_id TEXT NOT NULL,
        kind TEXT NOT NULL
            CHECK (kind IN ('moved', 'cancelled', 'vanished', 'restored', 'response')),
        email TEXT, old_start INTEGER, new_start INTEGER, old_value TEXT, new_value TEXT
    );
    CREATE INDEX changes_event ON changes (source, calendar, event_id);
    CREATE TABLE sync_state (
        source TEXT NOT NULL, calendar TEXT NOT NULL,
        cursor TEXT, window_start INTEGER, window_end INTEGER,
        last_success INTEGER, last_attempt INTEGER, last_error TEXT,
        PRIMARY KEY (source, calendar)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL, started_at INTEGER NOT NULL, finished_at INTEGER,
        status TEXT NOT NULL DEFAULT 'running', summary TEXT NOT NULL DEFAULT '{}'
    );
    """,
    # 2: report snapshots, so a report can say what changed since the previous one
    """
    CREATE TABLE snapshots (
        id INTEGER PRIMARY KEY,
        run_id INTEGER, scope TEXT NOT NULL, as_of INTEGER NOT NULL,
        created_at INTEGER NOT NULL, cards TEXT NOT NULL DEFAULT '{}',
        UNIQUE (scope, as_of)
    );
    CREATE TABLE snapshot_pairs (
        snapshot_id INTEGER NOT NULL, pair TEXT NOT NULL,
        status TEXT NOT NULL, health_score REAL,
        PRIMARY KEY (snapshot_id, pair)
    ) WITHOUT ROWID;
    """,
    # 3: a roster read from a directory (Google Workspace, Microsoft Entra) by `cadence pull`
    """
    CREATE TABLE roster (
        email TEXT PRIMARY KEY, manager_email TEXT, name TEXT, department TEXT, team TEXT,
        source TEXT NOT NULL, updated INTEGER NOT NULL
    ) WITHOUT ROWID;
    """,
    # 4: evidence of when an occurrence was cancelled (the source's own word, or the two pulls
    # either side of the change), and the span each calendar's pulls have covered
    """
    ALTER TABLE events ADD COLUMN cancelled_at INTEGER;
    ALTER TABLE events ADD COLUMN cancel_seen_after INTEGER;
    ALTER TABLE events ADD COLUMN cancel_seen_by INTEGER;
    ALTER TABLE sync_state ADD COLUMN covered_from INTEGER;
    ALTER TABLE sync_state ADD COLUMN covered_until INTEGER;
    UPDATE sync_state SET covered_from = window_start, covered_until = window_end;
    """,
    # 5: who runs a run (process id, host, process start), so the next run can tell a run
    # whose process died (SIGKILL, power cut) and mark it interrupted; no meeting title is
    # kept from any source: the column and every title stored so far are dropped
    """
    ALTER TABLE runs ADD COLUMN pid INTEGER;
    ALTER TABLE runs ADD COLUMN host TEXT;
    ALTER TABLE runs ADD COLUMN proc_start TEXT;
    UPDATE events SET title = NULL;
    ALTER TABLE events DROP COLUMN title;
    """,
    # 6: text stored once: every person (calendars, organizers, attendees) in `people`, every
    # other text value (sources, event ids, series, uids, zones, vocabularies) in `texts`;
    # events and attendees hold their integer ids (read into categorical columns without
    # touching a string per row), attendees name their event by its integer id, and each
    # event keeps a fingerprint of what it stores (its values and its attendees) so that a
    # re-pull can skip what did not change (NULL until the next pull of it writes one)
    """
    CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);
    CREATE TABLE texts (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE);
    INSERT INTO people (email)
        SELECT calendar FROM events UNION SELECT organizer FROM events WHERE organizer IS NOT NULL
        UNION SELECT calendar FROM attendees UNION SELECT email FROM attendees ORDER BY 1;
    INSERT INTO texts (value)
        SELECT source FROM events UNION SELECT event_id FROM events
        UNION SELECT series_id FROM events WHERE series_id IS NOT NULL
        UNION SELECT ical_uid FROM events
        UNION SELECT timezone FROM events WHERE timezone IS NOT NULL
        UNION SELECT status FROM events
        UNION SELECT recurrence FROM events WHERE recurrence IS NOT NULL
        UNION SELECT event_type FROM events UNION SELECT source FROM attendees
        UNION SELECT event_id FROM attendees UNION SELECT role FROM attendees
        UNION SELECT response FROM attendees ORDER BY 1;
    CREATE TABLE events_v6 (
        id INTEGER PRIMARY KEY,
        source INTEGER NOT NULL, calendar INTEGER NOT NULL, event_id INTEGER NOT NULL,
        series_id INTEGER, ical_uid INTEGER NOT NULL,
        original_start INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
        timezone INTEGER, all_day INTEGER NOT NULL, status INTEGER NOT NULL,
        organizer INTEGER, recurrence INTEGER, event_type INTEGER NOT NULL,
        created INTEGER, updated INTEGER, cancelled_at INTEGER,
        first_seen INTEGER NOT NULL, last_changed INTEGER NOT NULL, vanished_at INTEGER,
        cancel_seen_after INTEGER, cancel_seen_by INTEGER, fingerprint INTEGER,
        UNIQUE (source, calendar, event_id)
    );
    INSERT INTO events_v6 (
        id, source, calendar, event_id, series_id, ical_uid, original_start, start, "end",
        timezone, all_day, status, organizer, recurrence, event_type, created, updated,
        cancelled_at, first_seen, last_changed, vanished_at, cancel_seen_after, cancel_seen_by
    )
    SELECT row_number() OVER (ORDER BY e.source, e.calendar, e.event_id),
        (SELECT id FROM texts WHERE value = e.source),
        (SELECT id FROM people WHERE email = e.calendar),
        (SELECT id FROM texts WHERE value = e.event_id),
        (SELECT id FROM texts WHERE value = e.series_id),
        (SELECT id FROM texts WHERE value = e.ical_uid),
        e.original_start, e.start, e."end",
        (SELECT id FROM texts WHERE value = e.timezone),
        e.all_day,
        (SELECT id FROM texts WHERE value = e.status),
        (SELECT id FROM people WHERE email = e.organizer),
        (SELECT id FROM texts WHERE value = e.recurrence),
        (SELECT id FROM texts WHERE value = e.event_type),
        e.created, e.updated, e.cancelled_at, e.first_seen, e.last_changed, e.vanished_at,
        e.cancel_seen_after, e.cancel_seen_by
    FROM events e;
    CREATE TABLE attendees_v6 (
        event INTEGER NOT NULL, email INTEGER NOT NULL,
        role INTEGER NOT NULL, response INTEGER NOT NULL, is_resource INTEGER NOT NULL,
        PRIMARY KEY (event, email)
    ) WITHOUT ROWID;
    INSERT INTO attendees_v6 (event, email, role, response, is_resource)
    SELECT e.id,
        (SELECT id FROM people WHERE email = a.email),
        (SELECT id FROM texts WHERE value = a.role),
        (SELECT id FROM texts WHERE value = a.response),
        a.is_resource
    FROM attendees a JOIN events_v6 e
        ON e.source = (SELECT id FROM texts WHERE value = a.source)
        AND e.calendar = (SELECT id FROM people WHERE email = a.calendar)
        AND e.event_id = (SELECT id FROM texts WHERE value = a.event_id);
    DROP TABLE attendees;
    DROP TABLE events;
    ALTER TABLE events_v6 RENAME TO events;
    ALTER TABLE attendees_v6 RENAME TO attendees;
    """,
)

_META_TS = ("first_seen", "last_changed", "vanished_at", "cancel_seen_after", "cancel_seen_by")


@dataclass
class PullResult:
    """Counts of what a pull wrote. ``rows_written == 0`` means nothing changed."""

    inserted: int = 0
    updated: int = 0
    attendees_written: int = 0
    attendees_removed: int = 0
    vanished: int = 0
    changes: int = 0

    @property
    def rows_written(self) -> int:
        return (
            self.inserted
            + self.updated
            + self.attendees_written
            + self.attendees_removed
            + self.vanished
            + self.changes
        )


@dataclass(frozen=True)
class SyncState:
    """The stored cursor and bookkeeping of one (source, calendar)."""

    source: str
    calendar: str
    cursor: str | None
    window_start: pd.Timestamp | None
    window_end: pd.Timestamp | None
    last_success: pd.Timestamp | None
    last_attempt: pd.Timestamp | None
    last_error: str | None


class Store:
    """A Cadence store in one SQLite file at ``path`` (the store never reads the config: the
    default path is :func:`cadence.paths.default_store_path`, chosen by the caller).

    Opening creates the file (and its folder) if needed and applies pending
    migrations. Use as a context manager or call :meth:`close`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with Store(pathlib.Path(tempfile.mkdtemp()) / "c.sqlite") as store:
    ...     store.schema_version
    6
    """

    def __init__(
        self, path: str | Path, *, timeout: float = 30.0, any_thread: bool = False
    ) -> None:
        """Open (creating if needed) the store at ``path``.

        ``any_thread`` lets a connection made in one thread be closed by another
        (a worker's reader); it is still meant to be used by one thread at a time.
        """
        self.path = Path(path).expanduser()
        self._people, self._texts = _Lookup("people", "email"), _Lookup("texts", "value")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(self.path)
            self._db = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=not any_thread
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA temp_store=MEMORY")
        except (OSError, sqlite3.Error, ValueError) as exc:  # ValueError: a NUL in the path
            raise _store_error(self.path, exc, doing="open") from exc
        try:
            self._migrate()
        except sqlite3.Error as exc:
            self._db.close()
            raise _store_error(self.path, exc, doing="upgrade") from exc
        except BaseException:
            self._db.close()
            raise

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE so concurrent writers queue, not deadlock."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from exc
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            # SQLite may already have rolled back (a full disk does): then a ROLLBACK would
            # fail with "no transaction is active" and hide the real error
            if self._db.in_transaction:
                with suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            raise

    def _migrate(self) -> None:
        current = self.schema_version
        if current > len(MIGRATIONS):
            raise StoreError(
                f"store {self.path} has schema version {current}, newer than this Cadence "
                f"understands ({len(MIGRATIONS)}); upgrade Cadence"
            )
        for version in range(current + 1, len(MIGRATIONS) + 1):
            # dropped titles are overwritten, not left in free pages
            self._db.execute(f"PRAGMA secure_delete = {int(version == 5)}")
            with self._write() as db:
                for statement in _statements(MIGRATIONS[version - 1]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {version}")
        self._db.execute("PRAGMA secure_delete = 0")

    # -- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- writing ------------------------------------------------------------------------------

    def write_pull(self, pull: Pull, *, run_id: int | None = None) -> PullResult:
        """Write one pull and its cursors in one transaction; return what changed.

        Rows identical to the stored ones are not written. Moves,
        cancellations, restorations and response changes are recorded in
        ``changes``; with a ``window`` (a full pull), stored occurrences the
        pull no longer contains are marked vanished, and those whose start
        was still ahead at ``seen_at`` become cancelled.

        Each stored event keeps a fingerprint (a 64-bit hash of its stored values and of
        its attendees'); only the events whose fingerprint differs from the pull's, new
        ones and vanished ones are compared value by value and written.
        """
        seen = _ts_to_int(pull.seen_at, "seen_at")
        result = PullResult()
        if pull.window is None and pull.events.empty and pull.attendees.empty:
            with self._write() as db:  # an empty delta: only the cursors move on
                for calendar in pull.calendars:
                    self._save_cursor(db, pull, calendar, seen)
            return result
        events = validate(pull.events, EVENTS)
        attendees = validate(pull.attendees, ATTENDEES)
        self._check_pull_scope(pull, events, attendees)
        try:
            with self._write() as db, _gc_paused():
                _PullWriter(db, self._people, self._texts, pull, seen, run_id).write(
                    events, attendees, result
                )
                for calendar in pull.calendars:
                    self._save_cursor(db, pull, calendar, seen)
        except BaseException:
            # ids read inside the rolled-back transaction may not exist: read them again
            self._people, self._texts = _Lookup("people", "email"), _Lookup("texts", "value")
            raise
        return result

    def _check_pull_scope(self, pull: Pull, events: pd.DataFrame, attendees: pd.DataFrame) -> None:
        calendars = set(pull.calendars)
        for name, frame in (("events", events), ("attendees", attendees)):
            wrong_source = frame["source"] != pull.source
            if wrong_source.any():
                raise SchemaError(
                    f"pull of source {pull.source!r}: {name} frame has rows of source "
                    f"{frame.loc[wrong_source, 'source'].iloc[0]!r}",
                    column="source",
                )
            outside = ~frame["calendar"].isin(calendars)
            if outside.any():
                raise SchemaError(
                    f"pull of {sorted(calendars)}: {name} frame has rows of calendar "
                    f"{frame.loc[outside, 'calendar'].iloc[0]!r}; list it in Pull.calendars",
                    column="calendar",
                )

    @staticmethod
    def _save_cursor(db: sqlite3.Connection, pull: Pull, calendar: str, seen: int) -> None:
        lo = hi = None
        if pull.window is not None:
            lo = _ts_to_int(pull.window[0], "window start")
            hi = _ts_to_int(pull.window[1], "window end")
        keep_cursor = calendar not in pull.cursors
        db.execute(
            "INSERT INTO sync_state (source, calendar, cursor, window_start, window_end, "
            "last_success, last_attempt, last_error, covered_from, covered_until) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?) "
            "ON CONFLICT (source, calendar) DO UPDATE SET "
            "cursor = CASE WHEN ? THEN sync_state.cursor ELSE excluded.cursor END, "
            "window_start = coalesce(excluded.window_start, sync_state.window_start), "
            "window_end = coalesce(excluded.window_end, sync_state.window_end), "
            # what the calendar's pulls have covered, all together: the earliest start, the
            # latest end (a delta covers what the full pull before it did)
            "covered_from = min(coalesce(excluded.covered_from, sync_state.covered_from), "
            "coalesce(sync_state.covered_from, excluded.covered_from)), "
            "covered_until = max(coalesce(excluded.covered_until, sync_state.covered_until), "
            "coalesce(sync_state.covered_until, excluded.covered_until)), "
            "last_success = excluded.last_success, last_attempt = excluded.last_attempt, "
            "last_error = NULL",
            (
                pull.source,
                calendar,
                pull.cursors.get(calendar),
                lo,
                hi,
                seen,
                seen,
                lo,
                hi,
                keep_cursor,
            ),
        )

    def record_failure(self, source: str, calendar: str, error: str, at: pd.Timestamp) -> None:
        """Note that a pull of (source, calendar) failed; the cursor and rows stay as they were."""
        when = _ts_to_int(at, "at")
        with self._write() as db:
            db.execute(
                "INSERT INTO sync_state (source, calendar, last_attempt, last_error) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (source, calendar) DO UPDATE SET "
                "last_attempt = excluded.last_attempt, last_error = excluded.last_error",
                (source, calendar, when, error),
            )

    def clear_cursor(self, source: str, calendar: str) -> None:
        """Forget a calendar's cursor (its next pull is a full one); rows are kept."""
        with self._write() as db:
            db.execute(
                "UPDATE sync_state SET cursor = NULL WHERE source = ? AND calendar = ?",
                (source, calendar),
            )

    # -- runs ---------------------------------------------------------------------------------

    def start_run(self, kind: str, at: pd.Timestamp | None = None) -> int:
        """Record the start of a run (``pull``, ``report``, ``demo``, ``run``…); return its id.

        The run row names its process (pid, host, the process's start), and runs still
        ``running`` whose process is gone (killed, a power cut) are first marked
        ``interrupted``.
        """
        when = _ts_to_int(at if at is not None else _now(), "at")
        self.mark_interrupted()
        me = _process()
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO runs (kind, started_at, pid, host, proc_start) VALUES (?, ?, ?, ?, ?)",
                (kind, when, *me),
            )
            return int(cur.lastrowid or 0)

    def mark_interrupted(self, at: pd.Timestamp | None = None) -> list[int]:
        """Mark ``interrupted`` every ``running`` run of this host whose process is gone (or
        whose pid now belongs to another process); their ids. Runs of other hosts are left:
        their processes cannot be seen from here."""
        rows = self._db.execute(
            "SELECT id, pid, host, proc_start FROM runs WHERE status = 'running'"
        ).fetchall()
        host = socket.gethostname()
        dead = [
            run_id
            for run_id, pid, run_host, started in rows
            if pid is None or (run_host == host and not _alive(int(pid), started))
        ]
        if dead:
            when = _ts_to_int(at if at is not None else _now(), "at")
            with self._write() as db:
                db.executemany(
                    "UPDATE runs SET status = 'interrupted', finished_at = ?, "
                    "summary = json_set(summary, '$.interrupted', "
                    "'its process ended before the run was finished') "
                    "WHERE id = ? AND status = 'running'",
                    [(when, run_id) for run_id in dead],
                )
        return dead

    def finish_run(
        self,
        run_id: int,
        status: str,
        summary: Mapping[str, Any] | None = None,
        at: pd.Timestamp | None = None,
    ) -> None:
        """Record how a run ended: ``ok``, ``partial`` (some source failed), ``failed`` or
        ``interrupted`` (stopped by a signal)."""
        when = _ts_to_int(at if at is not None else _now(), "at")
        with self._write() as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                (when, status, json.dumps(dict(summary or {}), default=str), run_id),
            )

    def runs(self) -> pd.DataFrame:
        """Every recorded run, oldest first; ``summary`` decoded from JSON."""
        df = pd.read_sql_query("SELECT * FROM runs ORDER BY id", self._db)
        for col in ("started_at", "finished_at"):
            df[col] = _int_to_ts(df[col])
        df["summary"] = [json.loads(s) for s in df["summary"]]
        return df

    # -- retention --------------------------------------------------------------------------

    def purge(self, before: pd.Timestamp, *, dry_run: bool = False) -> dict[str, int]:
        """Remove what started (events) or happened (changes, runs, snapshots) before ``before``.

        Attendees go with their events. Returns the rows removed per table
        (or that would be, with ``dry_run``). The file is compacted afterwards.
        """
        cut = _ts_to_int(before, "before")
        queries = {
            "attendees": 'FROM attendees WHERE event IN (SELECT id FROM events WHERE "end" < ?)',
            "events": 'FROM events WHERE "end" < ?',
            "changes": "FROM changes WHERE seen_at < ?",
            "snapshot_pairs": "FROM snapshot_pairs WHERE snapshot_id IN "
            "(SELECT id FROM snapshots WHERE as_of < ?)",
            "snapshots": "FROM snapshots WHERE as_of < ?",
            "runs": "FROM runs WHERE started_at < ?",
        }
        counts = {
            table: int(self._db.execute(f"SELECT count(*) {sql}", (cut,)).fetchone()[0])
            for table, sql in queries.items()
        }
        if dry_run or not any(counts.values()):
            return counts
        with self._write() as db:
            for sql in queries.values():  # attendees and snapshot pairs before their parents
                db.execute(f"DELETE {sql}", (cut,))
            # what was purged is no longer covered
            db.execute("UPDATE sync_state SET covered_from = ? WHERE covered_from < ?", (cut, cut))
        self._db.execute("VACUUM")
        return counts

    # -- roster from a directory ------------------------------------------------------------

    def save_roster(
        self, roster: pd.DataFrame, source: str, at: pd.Timestamp | None = None
    ) -> None:
        """Replace the stored roster with ``roster`` (as :func:`cadence.load_roster` returns)."""
        when = _ts_to_int(at if at is not None else _now(), "at")
        cols = ["email", "manager_email", "name", "department", "team"]
        frame = roster.reindex(columns=cols).astype(object)
        rows = [
            (*(None if pd.isna(v) else str(v) for v in rec), source, when)
            for rec in frame.itertuples(index=False)
        ]
        with self._write() as db:
            db.execute("DELETE FROM roster")
            db.executemany(
                "INSERT INTO roster (email, manager_email, name, department, team, source, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def roster(self) -> pd.DataFrame | None:
        """The roster a directory pull stored, checked; ``None`` when there is none."""
        from cadence.org import check_roster

        frame = pd.read_sql_query(
            "SELECT email, manager_email, name, department, team FROM roster ORDER BY email",
            self._db,
        )
        if frame.empty:
            return None
        return check_roster(frame, origin=f"{self.path} (roster from the directory)")

    # -- report snapshots -----------------------------------------------------------------

    def save_snapshot(
        self,
        scope: str,
        as_of: pd.Timestamp,
        cards: Mapping[str, Any],
        pairs: pd.DataFrame,
        *,
        run_id: int | None = None,
        replace_from: pd.Timestamp | None = None,
    ) -> int:
        """Keep what a report showed (summary figures, each pair's status and score).

        ``scope`` names whose report it is (``org``, ``leader:ada@…``). A second
        snapshot of the same scope and ``as_of`` replaces the first, so
        re-running a report adds nothing twice; with ``replace_from`` every
        snapshot of the scope from then on is replaced too (the weekly job passes
        the start of the ISO week, so a second run that week replaces the first).
        """
        when = _ts_to_int(as_of, "as_of")
        rows = list(
            zip(
                pairs["pair"].astype(str),
                pairs["status"].astype(str),
                pairs["health_score"].astype("float64"),
                strict=True,
            )
        )
        with self._write() as db:
            lo = _ts_to_int(replace_from, "replace_from") if replace_from is not None else when
            old = db.execute(
                "SELECT id FROM snapshots WHERE scope = ? AND as_of >= ? AND (as_of = ? OR ?)",
                (scope, lo, when, replace_from is not None),
            ).fetchall()
            for (snapshot_id,) in old:
                db.execute("DELETE FROM snapshot_pairs WHERE snapshot_id = ?", (snapshot_id,))
                db.execute("DELETE FROM snapshots WHERE id = ?", (snapshot_id,))
            cur = db.execute(
                "INSERT INTO snapshots (run_id, scope, as_of, created_at, cards) "
                "VALUES (?, ?, ?, ?, ?)",
                (run_id, scope, when, _ts_to_int(_now(), "now"), json.dumps(dict(cards))),
            )
            snapshot = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO snapshot_pairs (snapshot_id, pair, status, health_score) "
                "VALUES (?, ?, ?, ?)",
                [(snapshot, pair, status, score) for pair, status, score in rows],
            )
        return snapshot

    def previous_snapshot(self, scope: str, before: pd.Timestamp) -> Snapshot | None:
        """The latest snapshot of ``scope`` from a day before ``before`` (UTC), if any."""
        day = _ts_to_int(pd.Timestamp(before).tz_convert("UTC").normalize(), "before")
        row = self._db.execute(
            "SELECT id, as_of, cards FROM snapshots WHERE scope = ? AND as_of < ? "
            "ORDER BY as_of DESC LIMIT 1",
            (scope, day),
        ).fetchone()
        if row is None:
            return None
        pairs = pd.read_sql_query(
            "SELECT pair, status, health_score FROM snapshot_pairs WHERE snapshot_id = ?",
            self._db,
            params=(row[0],),
        )
        as_of = pd.Timestamp(row[1], unit="us", tz="UTC")
        return Snapshot(as_of=as_of, cards=json.loads(row[2]), pairs=pairs)

    # -- reading ------------------------------------------------------------------------------

    def events(
        self,
        *,
        source: str | None = None,
        calendars: Iterable[str] | None = None,
        include_meta: bool = False,
    ) -> pd.DataFrame:
        """The stored events as a normalized frame (optionally with bookkeeping columns),
        ordered by (source, calendar, event_id).

        Text columns are categorical (values equal to the text stored): ``calendar`` and
        ``organizer`` share one dtype, the store's people, with the attendees' ``calendar``
        and ``email``; the others hold the values they use. Missing is NA (code -1).
        """
        with self._snapshot():
            return self._read_events(source, calendars, include_meta)[0]

    def attendees(
        self, *, source: str | None = None, calendars: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """The stored attendees as a normalized frame, ordered by (source, calendar,
        event_id, email); text columns categorical as in :meth:`events`."""
        with self._snapshot():
            _, keys = self._read_events(source, calendars, include_meta=False, keys_only=True)
            return self._read_attendees(keys)

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """One read transaction: rows and lookup tables read from the same state."""
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            with suppress(sqlite3.Error):
                self._db.execute("COMMIT")

    def _read_events(
        self,
        source: str | None,
        calendars: Iterable[str] | None,
        include_meta: bool,
        keys_only: bool = False,
    ) -> tuple[pd.DataFrame, _EventKeys]:
        db = self._db
        self._people.refresh(db)
        self._texts.refresh(db)
        where, params = self._where(source, calendars)
        names = ["id", *EVENTS.key]
        if not keys_only:
            names = ["id", *EVENTS.names, *(_META_TS if include_meta else ())]
        raw = _read(db, names, f"FROM events{where}", params)
        everything = not where
        people, people_codes = self._people.dtype()
        out: dict[str, Any] = {}
        for name in names[1:]:
            kind = _KINDS[name]
            if kind == "str" and name in _PEOPLE_COLS:
                out[name] = (people_codes[raw[name]], people)
            elif kind == "str":
                out[name] = self._texts.subset(raw[name])
        order = np.lexsort(
            (out["event_id"][0], out["calendar"][0], out["source"][0])
        )  # the last key sorts first
        keys = _EventKeys(
            ids=raw["id"][order],
            columns={c: (out[c][0][order], out[c][1]) for c in EVENTS.key},
            everything=everything,
        )
        if keys_only:
            return pd.DataFrame(), keys
        frame: dict[str, Any] = {}
        for name in names[1:]:
            kind = _KINDS[name]
            if kind == "str":
                codes, dtype = out[name]
                frame[name] = pd.Categorical.from_codes(codes[order], dtype=dtype, validate=False)
            elif kind == "ts":
                frame[name] = pd.Series(raw[name][order].view("M8[us]"), dtype=TIMESTAMP)
            else:
                frame[name] = raw[name][order].astype(bool)
        return pd.DataFrame(frame), keys

    def _read_attendees(self, keys: _EventKeys) -> pd.DataFrame:
        db = self._db
        where, params = (
            ("", ())
            if keys.everything
            else (
                " WHERE event IN (SELECT value FROM json_each(?))",
                (_json(keys.ids),),
            )
        )
        raw = _read(db, _ATTENDEE_STORED, f"FROM attendees{where}", params)
        position = np.full(int(keys.ids.max(initial=0)) + 2, -1, dtype=np.int64)
        position[keys.ids] = np.arange(len(keys.ids))
        row = position[np.minimum(raw["event"], len(position) - 1)]
        people, people_codes = self._people.dtype()
        email = people_codes[raw["email"]]
        order = np.argsort(row * (len(people.categories) + 1) + email, kind="stable")
        order = order[row[order] >= 0]  # an attendee of no event (none should be) is left out
        row = row[order]
        frame: dict[str, Any] = {}
        for name in ATTENDEES.names:
            if name in keys.columns:
                codes, dtype = keys.columns[name]
                frame[name] = pd.Categorical.from_codes(codes[row], dtype=dtype, validate=False)
            elif name == "email":
                frame[name] = pd.Categorical.from_codes(email[order], dtype=people, validate=False)
            elif name == "is_resource":
                frame[name] = raw[name][order].astype(bool)
            else:
                codes, dtype = self._texts.subset(raw[name])
                frame[name] = pd.Categorical.from_codes(codes[order], dtype=dtype, validate=False)
        return pd.DataFrame(frame)

    def _where(self, source: str | None, calendars: Iterable[str] | None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if source is not None:
            clauses.append("source = ?")
            params.append(self._texts.ids.get(source, -1))
        if calendars is not None:
            clauses.append("calendar IN (SELECT value FROM json_each(?))")
            params.append(_json(self._people.known(calendars)))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def changes(self) -> pd.DataFrame:
        """Every recorded change, oldest first, with UTC timestamps."""
        df = pd.read_sql_query("SELECT * FROM changes ORDER BY id", self._db)
        for col in ("seen_at", "old_start", "new_start"):
            df[col] = _int_to_ts(df[col])
        for col in ("source", "calendar", "event_id", "kind", "email", "old_value", "new_value"):
            df[col] = df[col].astype(STRING)
        return df

    def sync_state(self, source: str, calendar: str) -> SyncState | None:
        """The stored cursor and pull times of one calendar, or ``None`` if never pulled."""
        row = self._db.execute(
            "SELECT cursor, window_start, window_end, last_success, last_attempt, last_error "
            "FROM sync_state WHERE source = ? AND calendar = ?",
            (source, calendar),
        ).fetchone()
        if row is None:
            return None
        cursor, ws, we, ok, attempt, err = row
        return SyncState(source, calendar, cursor, _ts(ws), _ts(we), _ts(ok), _ts(attempt), err)

    def sync_states(self) -> pd.DataFrame:
        """Every (source, calendar) cursor with its last success and last error."""
        df = pd.read_sql_query("SELECT * FROM sync_state ORDER BY source, calendar", self._db)
        for col in (
            "window_start",
            "window_end",
            "last_success",
            "last_attempt",
            "covered_from",
            "covered_until",
        ):
            df[col] = _int_to_ts(df[col])
        return df

    def frames(self, *, source: str | None = None) -> Frames:
        """The stored events and attendees, for :func:`cadence.analyze`, with what the store
        knows beyond the providers: the bookkeeping columns (``first_seen``,
        ``last_changed``, ``vanished_at``), the evidence of when each cancelled
        occurrence was cancelled (``cancelled_after`` ≤ cancellation ≤
        ``cancelled_before``: the source's own ``cancelled_at``, else the last pull that
        saw it live and the first that saw it cancelled or gone; ``NaT`` when nothing
        shows it), and the ``span`` the pulls have covered."""
        with self._snapshot():
            events, keys = self._read_events(source, None, include_meta=True)
            attendees = self._read_attendees(keys)
        cancelled = events["status"] == "cancelled"
        own = events["cancelled_at"]
        events["cancelled_after"] = own.fillna(events["cancel_seen_after"]).where(cancelled)
        events["cancelled_before"] = own.fillna(events["cancel_seen_by"]).where(cancelled)
        return Frames(events, attendees, span=self.span(source=source))

    def span(self, *, source: str | None = None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """From the earliest start to the latest end that any calendar's pulls covered
        (``None`` before the first pull)."""
        where, params = _filter(source, None)
        row = self._db.execute(
            f"SELECT min(covered_from), max(covered_until) FROM sync_state{where}", params
        ).fetchone()
        if row is None or row[0] is None or row[1] is None:
            return None
        return _ts(row[0]), _ts(row[1])  # type: ignore[return-value]

    def source_health(self, stale_after: pd.Timedelta | None = None) -> list[SourceHealth]:
        """Each source in the store with its oldest calendar's last success and any failure.

        A calendar has failed when its last attempt came after its last success.
        """
        states = self.sync_states()
        out = []
        for name, part in states.groupby("source", sort=True):
            failed = part[
                part["last_error"].notna()
                & (part["last_success"].isna() | (part["last_attempt"] > part["last_success"]))
            ]
            error = None
            if len(failed):
                first = failed.iloc[0]
                error = (
                    f"{len(failed)} of {len(part)} calendar(s) failed, e.g. "
                    f"{first['calendar']}: {first['last_error']}"
                )
            last = part["last_success"].min()
            health = SourceHealth(str(name), None if pd.isna(last) else last, error)
            if stale_after is not None:
                health = SourceHealth(health.name, health.last_success, health.error, stale_after)
            out.append(health)
        return out

    def calendars(self, source: str) -> set[str]:
        """The calendars of ``source`` the store holds events of (one indexed query: a pull
        reads the stored rows of only these)."""
        rows = self._db.execute(
            "SELECT email FROM people WHERE id IN (SELECT DISTINCT calendar FROM events "
            "WHERE source = (SELECT id FROM texts WHERE value = ?))",
            (source,),
        ).fetchall()
        return {str(r[0]) for r in rows}

    def sources(self) -> set[str]:
        """The sources the store holds rows or cursors of."""
        rows = self._db.execute(
            "SELECT source FROM sync_state UNION "
            "SELECT value FROM texts WHERE id IN (SELECT DISTINCT source FROM events)"
        ).fetchall()
        return {str(r[0]) for r in rows}

    def counts(self) -> dict[str, int]:
        """Row counts of every table (cheap; for summaries and tests)."""
        tables = ("events", "attendees", "changes", "sync_state", "runs", "snapshots", "roster")
        return {t: int(self._db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}


# -- helpers ------------------------------------------------------------------------------------


def repr_col(name: str) -> str:
    return f'"{name}"'


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def _ts_to_int(value: pd.Timestamp | Any, what: str) -> int:
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        raise StoreError(f"{what} must be a timezone-aware timestamp, got naive {ts}")
    # Timestamp.value is nanoseconds whatever the unit; the store counts microseconds.
    return int(ts.tz_convert("UTC").value // 1000)


def _ts(value: int | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value, unit="us", tz="UTC")


def _int_to_ts(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.astype("Int64"), unit="us", utc=True).astype(TIMESTAMP)


def _filter(source: str | None, calendars: Iterable[str] | None) -> tuple[str, list[str]]:
    clauses: list[str] = []
    params: list[str] = []
    if source is not None:
        clauses.append("source = ?")
        params.append(source)
    if calendars is not None:
        cals = list(calendars)
        clauses.append(f"calendar IN ({', '.join('?' * len(cals))})" if cals else "0")
        params.extend(cals)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


# -- codes: text once in a lookup table, integers everywhere else --------------------------------

_NULL_TS = np.iinfo(np.int64).min  # NaT's own integer; the store's NULL for an instant
_PEOPLE_COLS = frozenset({"calendar", "organizer", "email"})
_EVENT_STORED = [*EVENTS.names, *_META_TS]  # what an events row holds besides id, fingerprint
_ATTENDEE_STORED = ["event", "email", "role", "response", "is_resource"]
_KINDS = {c.name: c.kind for c in (*EVENTS.columns, *ATTENDEES.columns)} | dict.fromkeys(
    _META_TS, "ts"
)


class _Lookup:
    """One lookup table of text (``people`` or ``texts``), read by a store connection once
    and then only its new rows (rows are only ever added, never changed or removed)."""

    def __init__(self, table: str, column: str) -> None:
        self.table, self.column = table, column
        self.ids: dict[str, int] = {}
        self.text: dict[int, str] = {}
        self.last = 0
        self._sorted: tuple[pd.CategoricalDtype, np.ndarray] | None = None
        self._values: pd.Index | None = None
        self._by_position = np.zeros(0, dtype=np.int64)

    def refresh(self, db: sqlite3.Connection) -> None:
        rows = db.execute(
            f"SELECT id, {self.column} FROM {self.table} WHERE id > ? ORDER BY id", (self.last,)
        ).fetchall()
        if rows:
            self.text.update(rows)
            self.ids.update((text, i) for i, text in rows)
            self.last = rows[-1][0]
            _check_id(self.last, self.table)
            self._sorted = None
            self._values = None

    def dtype(self) -> tuple[pd.CategoricalDtype, np.ndarray]:
        """Every value, sorted, as one categorical dtype, and by id each value's code in it
        (-1 at id 0, the store's missing value): sorting by code sorts by text."""
        if self._sorted is None:
            ids = np.fromiter(self.text.keys(), dtype=np.int64, count=len(self.text))
            values = np.array(list(self.text.values()), dtype=object)
            order = np.argsort(values, kind="stable")
            codes = np.full(self.last + 1, -1, dtype=np.int64)
            codes[ids[order]] = np.arange(len(order))
            self._sorted = (pd.CategoricalDtype(pd.Index(values[order], dtype=STRING)), codes)
        return self._sorted

    def subset(self, ids: np.ndarray) -> tuple[np.ndarray, pd.CategoricalDtype]:
        """The sorted values that ``ids`` use as a categorical dtype, and each id's code in
        it (-1 for id 0, missing)."""
        count = np.bincount(ids, minlength=1)
        used = np.flatnonzero(count[1:]) + 1
        values = np.array([self.text[i] for i in used.tolist()], dtype=object)
        order = np.argsort(values, kind="stable")
        lut = np.full(len(count), -1, dtype=np.int64)
        lut[used[order]] = np.arange(len(used))
        return lut[ids], pd.CategoricalDtype(pd.Index(values[order], dtype=STRING))

    def encode(self, db: sqlite3.Connection, values: pd.Series) -> np.ndarray:
        """The ids of ``values`` (0 where missing), adding new text to the table."""
        codes, uniques = pd.factorize(values)
        texts = pd.Index(np.asarray(uniques, dtype=object), dtype=object)
        at = self._index().get_indexer(texts)
        if (at < 0).any():
            db.executemany(
                f"INSERT INTO {self.table} ({self.column}) VALUES (?)",
                [(str(t),) for t in texts[at < 0]],
            )
            self.refresh(db)
            at = self._index().get_indexer(texts)
        ids = np.append(self._by_position[at], 0)
        return ids[codes]  # code -1 (missing) takes the last entry, 0

    def _index(self) -> pd.Index:
        """Every value in id order (its hash table kept until the next new row)."""
        if self._values is None:
            self._values = pd.Index(list(self.text.values()), dtype=object)
            self._by_position = np.fromiter(self.text.keys(), dtype=np.int64, count=len(self.text))
        return self._values

    def known(self, texts: Iterable[str]) -> list[int]:
        return [self.ids[t] for t in texts if t in self.ids]


def _coded(
    db: sqlite3.Connection, people: _Lookup, texts: _Lookup, frame: pd.DataFrame
) -> dict[str, np.ndarray]:
    """A validated frame's columns as int64 arrays: text → its id (0: missing), instants →
    µs (NaT's integer: missing), flags → 0/1."""
    out: dict[str, np.ndarray] = {}
    for name in frame.columns:
        kind, s = _KINDS[name], frame[name]
        if kind == "ts":
            out[name] = np.asarray(s.array.asi8, dtype=np.int64)
        elif kind == "bool":
            out[name] = s.to_numpy(dtype=np.int64)
        else:
            out[name] = (people if name in _PEOPLE_COLS else texts).encode(db, s)
    return out


_MAX_ID = 2**31 - 1  # ids travel two to a 64-bit cell (see _read)


def _check_id(top: int, table: str) -> None:
    if top > _MAX_ID:
        raise StoreError(
            f"store table {table} has {top:,} ids, more than the {_MAX_ID:,} this Cadence "
            "can read; move the file aside and `cadence pull` into a new store"
        )


def _hash(columns: Sequence[np.ndarray]) -> np.ndarray:
    """A 64-bit hash of each row of int64 ``columns`` (vectorized)."""
    frame = pd.DataFrame({str(i): c for i, c in enumerate(columns)})
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _sql_rows(columns: Sequence[np.ndarray], kinds: Sequence[str]) -> list[tuple[Any, ...]]:
    """int64 code columns as SQLite-ready tuples (the missing codes → None)."""
    lists: list[list[Any]] = []
    for values, kind in zip(columns, kinds, strict=True):
        missing = values == (_NULL_TS if kind == "ts" else 0) if kind != "bool" else None
        if missing is not None and missing.any():
            obj = values.astype(object)
            obj[missing] = None
            lists.append(obj.tolist())
        else:
            lists.append(values.tolist())
    return list(zip(*lists, strict=True))


def _fetch(
    db: sqlite3.Connection, sql: str, names: Sequence[str], params: Sequence[Any] = ()
) -> np.ndarray:
    """The rows of ``sql`` (int64 columns, NULL already coalesced) as one structured array.

    Each column crosses into Python as one text of its values (``group_concat`` in one
    pass over the rows, so every column sees them in the same order), parsed by numpy:
    no Python object per row or cell. A result too long for one SQLite text (about 45 M
    rows) is read row by row instead.
    """
    dtype = np.dtype([(n, np.int64) for n in names])
    cols = [f"c{i}" for i in range(len(names))]
    joined = ", ".join(f"group_concat({c}, ' ')" for c in cols)
    try:
        row = db.execute(
            f"WITH q({', '.join(cols)}) AS ({sql}) SELECT count(*), {joined} FROM q", params
        ).fetchone()
    except sqlite3.DataError:  # string or blob too big
        with _gc_paused():
            return np.fromiter(db.execute(sql, params), dtype=dtype)
    n = int(row[0])
    out = np.empty(n, dtype=dtype)
    if not n:  # no rows: every text is NULL
        return out
    for name, text in zip(names, row[1:], strict=True):
        try:  # a NULL (which group_concat leaves out) or a value not an integer: too few
            values = np.fromstring(text or "", dtype=np.int64, sep=" ")
        except ValueError:
            values = out[name][:0]
        if len(values) != n:
            raise StoreError(
                "the store file holds a value that is not a whole number where one belongs "
                f"({sql.split(' FROM ')[-1][:60]}): restore it from a backup or pull into a "
                "new store"
            )
        out[name] = values
    return out


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while rows stream through Python: each row is a new
    tuple, and the collections that so many allocations set off would walk every object of
    the process again and again (none of these objects forms a cycle; refcounts free them)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read(
    db: sqlite3.Connection, names: Sequence[str], rest: str, params: Sequence[Any] = ()
) -> dict[str, np.ndarray]:
    """``SELECT names rest`` as one int64 array per name (NULL as its missing code).

    Ids and flags travel two to a cell (``a << 32 | b``, split again in numpy): half the
    columns for SQLite to write out as text and numpy to parse (a sixth less time to read
    back the benchmark's store than a cell each). Instants take a cell each.
    """
    small = [n for n in names if _KINDS.get(n, "int") != "ts"]
    cells: list[tuple[str, ...]] = [(n,) for n in names if _KINDS.get(n, "int") == "ts"]
    cells += [tuple(small[i : i + 2]) for i in range(0, len(small), 2)]
    exprs = [
        _select(cell) if len(cell) == 1 else f"({_select(cell[:1])} << 32) | {_select(cell[1:])}"
        for cell in cells
    ]
    raw = _fetch(
        db, f"SELECT {', '.join(exprs)} {rest}", [str(i) for i in range(len(cells))], params
    )
    out: dict[str, np.ndarray] = {}
    for i, cell in enumerate(cells):
        values = raw[str(i)]
        if len(cell) == 1:
            out[cell[0]] = values
        else:
            out[cell[0]] = values >> 32
            out[cell[1]] = values & 0xFFFFFFFF
    return out


def _select(names: Sequence[str]) -> str:
    """Columns for :func:`_fetch`: each NULL as its missing code."""
    out = []
    for name in names:
        kind = _KINDS.get(name, "int")
        if kind == "ts":
            out.append(f'coalesce("{name}", {_NULL_TS})')
        elif kind == "str":
            out.append(f'coalesce("{name}", 0)')
        else:
            out.append(f'"{name}"')
    return ", ".join(out)


def _json(ids: np.ndarray | Sequence[int]) -> str:
    return json.dumps([int(i) for i in ids])


class _PullWriter:
    """The writes of one pull, inside the store's write transaction."""

    def __init__(
        self,
        db: sqlite3.Connection,
        people: _Lookup,
        texts: _Lookup,
        pull: Pull,
        seen: int,
        run_id: int | None,
    ) -> None:
        self.db, self.people, self.texts = db, people, texts
        self.pull, self.seen, self.run_id = pull, seen, run_id
        people.refresh(db)
        texts.refresh(db)
        self.changes: list[tuple[Any, ...]] = []

    def write(self, events: pd.DataFrame, attendees: pd.DataFrame, result: PullResult) -> None:
        db, pull = self.db, self.pull
        (source,) = self.texts.encode(db, pd.Series([pull.source]))
        self.cancelled = int(self.texts.encode(db, pd.Series(["cancelled"]))[0])
        ev = _coded(db, self.people, self.texts, events)
        at = _coded(db, self.people, self.texts, attendees)
        # each attendee's event in the pull, and each event's fingerprint
        ev_key = (ev["calendar"] << 32) | ev["event_id"]
        at_row = pd.Index(ev_key).get_indexer((at["calendar"] << 32) | at["event_id"])
        orphan = np.flatnonzero(at_row < 0)
        if len(orphan):
            raise SchemaError(
                f"attendees frame: {len(orphan)} row(s) belong to no event of the pull, "
                f"e.g. event_id {attendees['event_id'].iloc[orphan[0]]!r}",
                column="event_id",
            )
        at_hash = _hash([at[c] for c in ("email", "role", "response", "is_resource")])
        at_sum = np.zeros(len(events), dtype=np.uint64)
        np.add.at(at_sum, at_row, at_hash)
        fingerprint = _hash([_hash([ev[c] for c in EVENTS.names]), at_sum]).view(np.int64)
        # what is stored of the pull's calendars
        calendars = self.people.known(pull.calendars)
        stored = _fetch(
            db,
            "SELECT id, (calendar << 32) | event_id, coalesce(fingerprint, 0), "
            "(fingerprint IS NOT NULL) | ((vanished_at IS NULL) << 1) FROM events "
            "WHERE source = ? AND calendar IN (SELECT value FROM json_each(?))",
            ["id", "key", "fingerprint", "flags"],
            (int(source), _json(calendars)),
        )
        has_fingerprint, live = (stored["flags"] & 1) == 1, (stored["flags"] & 2) == 2
        at_stored = pd.Index(stored["key"]).get_indexer(ev_key)
        matched = at_stored >= 0
        hit = at_stored[matched]
        clean = np.zeros(len(events), dtype=bool)
        clean[matched] = (
            (stored["fingerprint"][hit] == fingerprint[matched]) & has_fingerprint[hit] & live[hit]
        )
        dirty = np.flatnonzero(~clean)
        if len(dirty):
            ids = np.append(stored["id"], 0)[at_stored]  # -1 (new) takes the 0
            self._write_dirty(events, attendees, ev, at, at_row, fingerprint, ids, dirty, result)
        if pull.window is not None:
            seen_rows = np.zeros(len(stored), dtype=bool)
            seen_rows[hit] = True
            gone = stored["id"][~seen_rows & live]
            if len(gone):
                result.vanished, recorded = self._mark_vanished(int(source), gone)
                result.changes += recorded

    def _write_dirty(
        self,
        events: pd.DataFrame,
        attendees: pd.DataFrame,
        ev: dict[str, np.ndarray],
        at: dict[str, np.ndarray],
        at_row: np.ndarray,
        fingerprint: np.ndarray,
        ids: np.ndarray,
        dirty: np.ndarray,
        result: PullResult,
    ) -> None:
        """Compare the pull's changed, new and returning events with what is stored, record
        the changes and write them."""
        db = self.db
        old_rows = dirty[ids[dirty] != 0]
        new_rows = dirty[ids[dirty] == 0]
        # the stored values of the changed events, aligned with old_rows
        cols = ["id", *_EVENT_STORED]
        st = _fetch(
            db,
            f"SELECT {_select(cols)} FROM events WHERE id IN (SELECT value FROM json_each(?))",
            cols,
            (_json(ids[old_rows]),),
        )
        st = st[pd.Index(st["id"]).get_indexer(ids[old_rows])]
        new = {name: values[old_rows] for name, values in ev.items()}
        text = self.texts.text
        status_old = [text[s] for s in st["status"].tolist()]
        status_new = [text[s] for s in new["status"].tolist()]
        calendar = events["calendar"].to_numpy(dtype=object)
        event_id = events["event_id"].to_numpy(dtype=object)
        was_cancelled = st["status"] == self.cancelled
        is_cancelled = new["status"] == self.cancelled
        returning = st["vanished_at"] != _NULL_TS
        for kind, where in (
            ("moved", new["start"] != st["start"]),
            ("cancelled", is_cancelled & ~was_cancelled),
            ("restored", ~is_cancelled & (was_cancelled | returning)),
        ):
            for k in np.flatnonzero(where).tolist():
                row = int(old_rows[k])
                self.changes.append(
                    (
                        kind,
                        calendar[row],
                        event_id[row],
                        None,
                        int(st["start"][k]),
                        int(new["start"][k]),
                        status_old[k],
                        status_new[k],
                    )
                )
        # attendees: the stored ones of the changed events against the pull's
        ast = _fetch(
            db,
            "SELECT event, email, role, response, is_resource FROM attendees "
            "WHERE event IN (SELECT value FROM json_each(?))",
            _ATTENDEE_STORED,
            (_json(ids[old_rows]),),
        )
        in_dirty = np.zeros(len(events), dtype=bool)
        in_dirty[dirty] = True
        mine = np.flatnonzero(in_dirty[at_row])  # attendees (rows of the pull) of dirty events
        at_event = ids[at_row[mine]]  # 0 for a new event's
        pulled = pd.Index((at_event << 32) | at["email"][mine])
        stored_key = (ast["event"] << 32) | ast["email"]
        match = pd.Index(stored_key).get_indexer(pulled)
        has = match >= 0
        m = match[has]
        rows_has = mine[has]
        response_changed = ast["response"][m] != at["response"][rows_has]
        a_calendar = attendees["calendar"].to_numpy(dtype=object)
        a_event = attendees["event_id"].to_numpy(dtype=object)
        a_email = attendees["email"].to_numpy(dtype=object)
        for k in np.flatnonzero(response_changed).tolist():
            row = int(rows_has[k])
            self.changes.append(
                (
                    "response",
                    a_calendar[row],
                    a_event[row],
                    a_email[row],
                    None,
                    None,
                    text[int(ast["response"][m[k]])],
                    text[int(at["response"][row])],
                )
            )
        self._insert_changes()
        result.changes += len(self.changes)
        # events: update the changed, insert the new
        differs = np.zeros(len(old_rows), dtype=bool)
        for name in EVENTS.names[3:]:
            differs |= new[name] != st[name]
        update = differs | returning
        last = self._last_success()
        newly = is_cancelled & ~was_cancelled
        after = np.where(
            newly,
            np.array([last.get(c, _NULL_TS) for c in calendar[old_rows]], dtype=np.int64),
            np.where(is_cancelled, st["cancel_seen_after"], _NULL_TS),
        )
        by = np.where(newly, self.seen, np.where(is_cancelled, st["cancel_seen_by"], _NULL_TS))
        u = np.flatnonzero(update)
        n = len(u)
        names = EVENTS.names[3:]
        kinds = [_KINDS[c] for c in names]
        db.executemany(
            "UPDATE events SET "
            + ", ".join(f'"{c}" = ?' for c in names)
            + ", last_changed = ?, vanished_at = NULL, cancel_seen_after = ?, "
            "cancel_seen_by = ?, fingerprint = ? WHERE id = ?",
            _sql_rows(
                [
                    *(new[c][u] for c in names),
                    np.full(n, self.seen),
                    after[u],
                    by[u],
                    fingerprint[old_rows[u]],
                    ids[old_rows[u]],
                ],
                [*kinds, "int", "ts", "ts", "int", "int"],
            ),
        )
        # the others differ in their attendees only: a new fingerprint, nothing else
        same = old_rows[~update]
        db.executemany(
            "UPDATE events SET fingerprint = ? WHERE id = ?",
            zip(fingerprint[same].tolist(), ids[same].tolist(), strict=True),
        )
        (top,) = db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        ids[new_rows] = np.arange(top + 1, top + 1 + len(new_rows), dtype=np.int64)
        _check_id(top + len(new_rows), "events")
        m_new = len(new_rows)
        db.executemany(
            f"INSERT INTO events (id, {', '.join(repr_col(c) for c in _EVENT_STORED)}, "
            f"fingerprint) VALUES ({', '.join('?' * (len(_EVENT_STORED) + 2))})",
            _sql_rows(
                [
                    ids[new_rows],
                    *(ev[c][new_rows] for c in EVENTS.names),
                    np.full(m_new, self.seen),
                    np.full(m_new, self.seen),
                    np.full(m_new, _NULL_TS),
                    np.full(m_new, _NULL_TS),
                    np.full(m_new, _NULL_TS),
                    fingerprint[new_rows],
                ],
                ["int", *(_KINDS[c] for c in EVENTS.names), "ts", "ts", "ts", "ts", "ts", "int"],
            ),
        )
        result.inserted += m_new
        result.updated += n
        # attendees: remove the ones gone, write the new and the changed
        at_event = ids[at_row[mine]]
        keep = np.zeros(len(ast), dtype=bool)
        keep[m] = True
        gone = np.flatnonzero(~keep)
        db.executemany(
            "DELETE FROM attendees WHERE event = ? AND email = ?",
            zip(ast["event"][gone].tolist(), ast["email"][gone].tolist(), strict=True),
        )
        changed = np.ones(len(mine), dtype=bool)
        changed[has] = (
            (ast["role"][m] != at["role"][rows_has])
            | response_changed
            | (ast["is_resource"][m] != at["is_resource"][rows_has])
        )
        w = np.flatnonzero(changed)
        db.executemany(
            "INSERT INTO attendees (event, email, role, response, is_resource) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (event, email) DO UPDATE SET "
            "role = excluded.role, response = excluded.response, "
            "is_resource = excluded.is_resource",
            _sql_rows(
                [
                    at_event[w],
                    *(at[c][mine[w]] for c in ("email", "role", "response", "is_resource")),
                ],
                ["int", "int", "int", "int", "bool"],
            ),
        )
        result.attendees_removed += len(gone)
        result.attendees_written += len(w)

    def _insert_changes(self) -> None:
        self.db.executemany(
            "INSERT INTO changes (run_id, seen_at, source, calendar, event_id, kind, email, "
            "old_start, new_start, old_value, new_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (self.run_id, self.seen, self.pull.source, cal, eid, kind, email, *rest)
                for kind, cal, eid, email, *rest in self.changes
            ],
        )

    def _last_success(self) -> dict[str, int]:
        """Each calendar's last successful pull before this one (µs)."""
        rows = self.db.execute(
            "SELECT calendar, last_success FROM sync_state WHERE source = ? "
            "AND last_success IS NOT NULL",
            (self.pull.source,),
        ).fetchall()
        return {str(c): int(t) for c, t in rows}

    def _mark_vanished(self, source: int, candidates: np.ndarray) -> tuple[int, int]:
        """Mark vanished the stored live events of the pull's calendars it no longer holds
        (``candidates``) that overlap its window; those whose start was still ahead become
        cancelled. Returns (events marked, changes recorded)."""
        assert self.pull.window is not None
        db, seen, cancelled = self.db, self.seen, self.cancelled
        lo = _ts_to_int(self.pull.window[0], "window start")
        hi = _ts_to_int(self.pull.window[1], "window end")
        db.execute("CREATE TEMP TABLE in_gone (id INTEGER PRIMARY KEY)")
        db.executemany("INSERT INTO in_gone VALUES (?)", [(int(i),) for i in candidates])
        gone = 'e.id IN (SELECT id FROM temp.in_gone) AND e."end" > ? AND e.start < ?'
        last = (
            "(SELECT s.last_success FROM sync_state s WHERE s.source = ? "
            "AND s.calendar = (SELECT p.email FROM people p WHERE p.id = e.calendar))"
        )
        # A cancelled occurrence that is no longer reported is old news: no change row.
        recorded = db.execute(
            "INSERT INTO changes (run_id, seen_at, source, calendar, event_id, kind, old_start, "
            "new_start, old_value, new_value) "
            "SELECT ?, ?, ?, p.email, t.value, 'vanished', e.start, NULL, s.value, "
            "CASE WHEN e.start > ? THEN 'cancelled' ELSE s.value END "
            "FROM events e JOIN people p ON p.id = e.calendar JOIN texts t ON t.id = e.event_id "
            f"JOIN texts s ON s.id = e.status WHERE {gone} AND e.status != ? "
            "ORDER BY p.email, t.value",
            (self.run_id, seen, self.pull.source, seen, lo, hi, cancelled),
        ).rowcount
        # gone before its start: cancelled between the calendar's last pull and this one
        newly = "e.start > ? AND e.status != ?"
        vanished = db.execute(
            "UPDATE events AS e SET vanished_at = ?, last_changed = ?, "
            f"cancel_seen_after = CASE WHEN {newly} THEN {last} ELSE e.cancel_seen_after END, "
            f"cancel_seen_by = CASE WHEN {newly} THEN ? ELSE e.cancel_seen_by END, "
            f"status = CASE WHEN e.start > ? THEN ? ELSE e.status END, fingerprint = NULL "
            f"WHERE {gone}",
            (
                seen,
                seen,
                seen,
                cancelled,
                self.pull.source,
                seen,
                cancelled,
                seen,
                seen,
                cancelled,
                lo,
                hi,
            ),
        ).rowcount
        db.execute("DROP TABLE temp.in_gone")
        return vanished, recorded


@dataclass
class _EventKeys:
    """The ids of the events read, in the frame's order, and their key columns' codes."""

    ids: np.ndarray
    columns: dict[str, tuple[np.ndarray, pd.CategoricalDtype]]
    everything: bool = False


# -- files, processes, errors -------------------------------------------------------------------


def _create_private(path: Path) -> None:
    """Create the store file readable by its owner only (0600, whatever the umask); SQLite
    gives its -wal and -shm files the same mode."""
    if path.exists():
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _proc_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, Linux' /proc), to tell a pid that
    was reused by another process; ``None`` where /proc is not there."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, after the command name


def _process() -> tuple[int, str, str | None]:
    pid = os.getpid()
    return pid, socket.gethostname(), _proc_start(pid)


def _alive(pid: int, started: str | None) -> bool:
    """Whether process ``pid`` still runs and is the one that started the run."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    now = _proc_start(pid)
    return started is None or now is None or now == started


_WHAT_TO_DO = {
    "SQLITE_FULL": "the disk (or the store's size limit) is full; nothing already stored was "
    "lost (the unfinished write was rolled back): free some space and run again",
    "SQLITE_CORRUPT": "the file is damaged; restore it from a backup, or move it aside and "
    "`cadence pull` into a new store (the history of changes starts again)",
    "SQLITE_NOTADB": "this is not a Cadence store (not an SQLite file); pass the right "
    "--store PATH, or move the file aside",
    "SQLITE_READONLY": "the store is read-only for this user; make the file, its -wal and "
    "-shm files and its folder writable, or pass --store PATH",
    "SQLITE_CANTOPEN": "cannot open the file; check that its folder exists and is writable "
    "(SQLite writes -wal and -shm files beside it), or pass --store PATH",
    "SQLITE_PERM": "permission denied; check the file's and its folder's permissions",
    "SQLITE_IOERR": "the disk failed to read or write; check the disk (and free space), "
    "then run again",
}


def _store_error(path: Path, exc: BaseException, *, doing: str = "use") -> StoreError:
    """One line for a failure of the store at ``path``: what happened and what to do."""
    cause = exc
    if not isinstance(cause, sqlite3.Error) and isinstance(exc.__cause__, sqlite3.Error):
        cause = exc.__cause__  # pandas wraps the driver's error
    if isinstance(cause, ValueError) and not isinstance(cause, sqlite3.Error):
        return StoreError(f"cannot {doing} store {str(path)!r}: {cause}; pass a valid --store PATH")
    if isinstance(cause, OSError):
        return StoreError(
            f"cannot {doing} store {path}: {cause.strerror or cause}; check that its folder "
            "exists and is writable, or pass --store PATH"
        )
    name = str(getattr(cause, "sqlite_errorname", "") or "")
    base = "_".join(name.split("_")[:2])  # SQLITE_IOERR_WRITE → SQLITE_IOERR
    text = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    if base in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        return StoreBusyError(
            f"store {path} is being written by another process ({text}); "
            "wait for it to finish and retry"
        )
    todo = _WHAT_TO_DO.get(base)
    if todo is None and "disk is full" in text:
        todo = _WHAT_TO_DO["SQLITE_FULL"]
    if todo is None and "malformed" in text:
        todo = _WHAT_TO_DO["SQLITE_CORRUPT"]
    if todo is None:
        todo = "check the file, or pass another --store PATH"
    return StoreError(f"store {path}: {text}; {todo}")


_F = TypeVar("_F", bound=Any)


def _guarded(method: _F) -> _F:
    """Map every SQLite error a store method meets to one :class:`StoreError` (the store's
    one error boundary)."""

    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.Error, pd.errors.DatabaseError) as exc:
            raise _store_error(self.path, exc) from exc

    return wrapper  # type: ignore[return-value]


for _name, _member in list(vars(Store).items()):
    if _name.startswith("_"):
        continue
    if isinstance(_member, property) and _member.fget is not None:
        setattr(Store, _name, property(_guarded(_member.fget)))
    elif callable(_member) and not isinstance(_member, (staticmethod, classmethod, type)):
        setattr(Store, _name, _guarded(_member))
