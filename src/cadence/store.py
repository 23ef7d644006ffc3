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
round-trips the model's ``datetime64[us, UTC]`` exactly. Writes are diffs: a
pull identical to what is stored writes no row.
"""

from __future__ import annotations

import functools
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
    Schema,
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
)

_EVENT_COLS = EVENTS.names
_META_TS = ("first_seen", "last_changed", "vanished_at", "cancel_seen_after", "cancel_seen_by")
# the last successful pull of a row's calendar (before the one being written)
_LAST_SUCCESS = (
    "(SELECT s.last_success FROM sync_state s "
    "WHERE s.source = {t}.source AND s.calendar = {t}.calendar)"
)
_ATTENDEE_COLS = ATTENDEES.names
_TS_EVENT_COLS = [c.name for c in EVENTS.columns if c.kind == "ts"]


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
    5
    """

    def __init__(
        self, path: str | Path, *, timeout: float = 30.0, any_thread: bool = False
    ) -> None:
        """Open (creating if needed) the store at ``path``.

        ``any_thread`` lets a connection made in one thread be closed by another
        (a worker's reader); it is still meant to be used by one thread at a time.
        """
        self.path = Path(path).expanduser()
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
        with self._write() as db:
            _load_temp(db, "in_events", EVENTS, events)
            _load_temp(db, "in_attendees", ATTENDEES, attendees)
            result.changes += self._record_event_changes(db, seen, run_id)
            result.changes += self._record_response_changes(db, seen, run_id)
            result.inserted, result.updated = self._upsert_events(db, seen)
            result.attendees_removed, result.attendees_written = self._upsert_attendees(db)
            if pull.window is not None:
                vanished, recorded = self._mark_vanished(db, pull, seen, run_id)
                result.vanished += vanished
                result.changes += recorded
            for calendar in pull.calendars:
                self._save_cursor(db, pull, calendar, seen)
            db.execute("DROP TABLE temp.in_events")
            db.execute("DROP TABLE temp.in_attendees")
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
        keys = list(EVENTS.key)
        orphan = attendees.merge(events[keys], on=keys, how="left", indicator=True)
        orphan = orphan[orphan["_merge"] == "left_only"]
        if len(orphan):
            raise SchemaError(
                f"attendees frame: {len(orphan)} row(s) belong to no event of the pull, "
                f"e.g. event_id {orphan['event_id'].iloc[0]!r}",
                column="event_id",
            )

    @staticmethod
    def _record_event_changes(db: sqlite3.Connection, seen: int, run_id: int | None) -> int:
        join = (
            "FROM in_events i JOIN events e "
            "ON e.source = i.source AND e.calendar = i.calendar AND e.event_id = i.event_id"
        )
        cols = "run_id, seen_at, source, calendar, event_id, kind, old_start, new_start, "
        cols += "old_value, new_value"
        n = 0
        for kind, where in (
            ("moved", "i.start != e.start"),
            ("cancelled", "i.status = 'cancelled' AND e.status != 'cancelled'"),
            (
                "restored",
                "i.status != 'cancelled' AND (e.status = 'cancelled' OR e.vanished_at IS NOT NULL)",
            ),
        ):
            cur = db.execute(
                f"INSERT INTO changes ({cols}) SELECT ?, ?, i.source, i.calendar, i.event_id, "
                f"'{kind}', e.start, i.start, e.status, i.status {join} WHERE {where}",
                (run_id, seen),
            )
            n += cur.rowcount
        return n

    @staticmethod
    def _record_response_changes(db: sqlite3.Connection, seen: int, run_id: int | None) -> int:
        cur = db.execute(
            "INSERT INTO changes (run_id, seen_at, source, calendar, event_id, kind, email, "
            "old_value, new_value) "
            "SELECT ?, ?, i.source, i.calendar, i.event_id, 'response', i.email, a.response, "
            "i.response FROM in_attendees i JOIN attendees a ON a.source = i.source "
            "AND a.calendar = i.calendar AND a.event_id = i.event_id AND a.email = i.email "
            "WHERE a.response != i.response",
            (run_id, seen),
        )
        return cur.rowcount

    @staticmethod
    def _upsert_events(db: sqlite3.Connection, seen: int) -> tuple[int, int]:
        before = db.execute("SELECT count(*) FROM events").fetchone()[0]
        cols = ", ".join(f'"{c}"' for c in _EVENT_COLS)
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in _EVENT_COLS[3:])
        differs = " OR ".join(f'events."{c}" IS NOT excluded."{c}"' for c in _EVENT_COLS[3:])
        # A live occurrence now reported cancelled was cancelled between the last pull of its
        # calendar (which saw it live) and this one: that interval is evidence of when.
        newly = "excluded.status = 'cancelled' AND events.status != 'cancelled'"
        evidence = (
            f"cancel_seen_after = CASE WHEN {newly} THEN {_LAST_SUCCESS.format(t='events')} "
            "WHEN excluded.status != 'cancelled' THEN NULL ELSE events.cancel_seen_after END, "
            f"cancel_seen_by = CASE WHEN {newly} THEN excluded.last_changed "
            "WHEN excluded.status != 'cancelled' THEN NULL ELSE events.cancel_seen_by END"
        )
        cur = db.execute(
            f"INSERT INTO events ({cols}, first_seen, last_changed, vanished_at) "
            f"SELECT {cols}, ?, ?, NULL FROM in_events WHERE true "
            "ON CONFLICT (source, calendar, event_id) DO UPDATE SET "
            f"{evidence}, {updates}, last_changed = excluded.last_changed, vanished_at = NULL "
            f"WHERE {differs} OR events.vanished_at IS NOT NULL",
            (seen, seen),
        )
        after = db.execute("SELECT count(*) FROM events").fetchone()[0]
        inserted = after - before
        return inserted, cur.rowcount - inserted

    @staticmethod
    def _upsert_attendees(db: sqlite3.Connection) -> tuple[int, int]:
        removed = db.execute(
            "DELETE FROM attendees WHERE (source, calendar, event_id) IN "
            "(SELECT source, calendar, event_id FROM in_events) AND NOT EXISTS "
            "(SELECT 1 FROM in_attendees i WHERE i.source = attendees.source "
            "AND i.calendar = attendees.calendar AND i.event_id = attendees.event_id "
            "AND i.email = attendees.email)"
        ).rowcount
        cols = ", ".join(_ATTENDEE_COLS)
        written = db.execute(
            f"INSERT INTO attendees ({cols}) SELECT {cols} FROM in_attendees WHERE true "
            "ON CONFLICT (source, calendar, event_id, email) DO UPDATE SET "
            "role = excluded.role, response = excluded.response, "
            "is_resource = excluded.is_resource "
            "WHERE attendees.role IS NOT excluded.role "
            "OR attendees.response IS NOT excluded.response "
            "OR attendees.is_resource IS NOT excluded.is_resource"
        ).rowcount
        return removed, written

    @staticmethod
    def _mark_vanished(
        db: sqlite3.Connection, pull: Pull, seen: int, run_id: int | None
    ) -> tuple[int, int]:
        assert pull.window is not None
        lo = _ts_to_int(pull.window[0], "window start")
        hi = _ts_to_int(pull.window[1], "window end")
        db.execute("CREATE TEMP TABLE in_calendars (calendar TEXT PRIMARY KEY)")
        db.executemany("INSERT INTO in_calendars VALUES (?)", [(c,) for c in pull.calendars])
        gone = (
            "e.source = ? AND e.calendar IN (SELECT calendar FROM in_calendars) "
            'AND e.vanished_at IS NULL AND e."end" > ? AND e.start < ? AND NOT EXISTS '
            "(SELECT 1 FROM in_events i WHERE i.source = e.source "
            "AND i.calendar = e.calendar AND i.event_id = e.event_id)"
        )
        params = (pull.source, lo, hi)
        # A cancelled occurrence that is no longer reported is old news: no change row.
        recorded = db.execute(
            "INSERT INTO changes (run_id, seen_at, source, calendar, event_id, kind, old_start, "
            "new_start, old_value, new_value) "
            "SELECT ?, ?, e.source, e.calendar, e.event_id, 'vanished', e.start, NULL, e.status, "
            "CASE WHEN e.start > ? THEN 'cancelled' ELSE e.status END "
            f"FROM events e WHERE {gone} AND e.status != 'cancelled'",
            (run_id, seen, seen, *params),
        ).rowcount
        # gone before its start: cancelled between the calendar's last pull and this one
        newly = "e.start > ? AND e.status != 'cancelled'"
        vanished = db.execute(
            "UPDATE events AS e SET vanished_at = ?, last_changed = ?, "
            f"cancel_seen_after = CASE WHEN {newly} THEN {_LAST_SUCCESS.format(t='e')} "
            "ELSE e.cancel_seen_after END, "
            f"cancel_seen_by = CASE WHEN {newly} THEN ? ELSE e.cancel_seen_by END, "
            f"status = CASE WHEN e.start > ? THEN 'cancelled' ELSE e.status END WHERE {gone}",
            (seen, seen, seen, seen, seen, seen, *params),
        ).rowcount
        db.execute("DROP TABLE temp.in_calendars")
        return vanished, recorded

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
            "attendees": "FROM attendees WHERE (source, calendar, event_id) IN "
            '(SELECT source, calendar, event_id FROM events WHERE "end" < ?)',
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
        """The stored events as a normalized frame (optionally with bookkeeping columns)."""
        cols = list(_EVENT_COLS)
        if include_meta:
            cols += list(_META_TS)
        where, params = _filter(source, calendars)
        sql = f"SELECT {', '.join(repr_col(c) for c in cols)} FROM events{where} "
        sql += "ORDER BY source, calendar, event_id"
        df = pd.read_sql_query(sql, self._db, params=params)
        return _decode(df, EVENTS, extra_ts=_META_TS)

    def attendees(
        self, *, source: str | None = None, calendars: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """The stored attendees as a normalized frame."""
        where, params = _filter(source, calendars)
        sql = f"SELECT {', '.join(_ATTENDEE_COLS)} FROM attendees{where} "
        sql += "ORDER BY source, calendar, event_id, email"
        return _decode(pd.read_sql_query(sql, self._db, params=params), ATTENDEES)

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
        events = self.events(source=source, include_meta=True)
        cancelled = events["status"] == "cancelled"
        own = events["cancelled_at"]
        events["cancelled_after"] = own.fillna(events["cancel_seen_after"]).where(cancelled)
        events["cancelled_before"] = own.fillna(events["cancel_seen_by"]).where(cancelled)
        return Frames(events, self.attendees(source=source), span=self.span(source=source))

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

    def sources(self) -> set[str]:
        """The sources the store holds rows or cursors of."""
        rows = self._db.execute(
            "SELECT source FROM sync_state UNION SELECT DISTINCT source FROM events"
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


def _load_temp(db: sqlite3.Connection, name: str, schema: Schema, frame: pd.DataFrame) -> None:
    """Copy a validated frame into a fresh temp table with the store's encodings."""
    cols = ", ".join(repr_col(c) for c in schema.names)
    db.execute(f"CREATE TEMP TABLE {name} AS SELECT {cols} FROM main.{schema.name} WHERE 0")
    db.execute(f"CREATE UNIQUE INDEX temp.{name}_key ON {name} ({', '.join(schema.key)})")
    placeholders = ", ".join("?" * len(schema.names))
    db.executemany(f"INSERT INTO {name} VALUES ({placeholders})", _rows(frame, schema))


def _rows(frame: pd.DataFrame, schema: Schema) -> Iterator[tuple[Any, ...]]:
    """Frame rows as SQLite-ready tuples: NA → None, instants → int µs, flags → 0/1."""
    columns: list[list[Any]] = []
    for col in schema.columns:
        s = frame[col.name]
        if col.kind == "ts":
            values = np.asarray(s.array.asi8, dtype=np.int64).astype(object)
            values[s.isna().to_numpy()] = None
            columns.append(values.tolist())
        elif col.kind == "bool":
            columns.append(s.astype(int).tolist())
        else:
            columns.append(s.astype(object).where(s.notna(), None).tolist())
    return iter(zip(*columns, strict=True))


def _decode(df: pd.DataFrame, schema: Schema, extra_ts: Sequence[str] = ()) -> pd.DataFrame:
    for col in schema.columns:
        if col.kind == "ts":
            df[col.name] = _int_to_ts(df[col.name])
        elif col.kind == "bool":
            df[col.name] = df[col.name].astype(bool)
        else:
            df[col.name] = df[col.name].astype(STRING)
    for name in extra_ts:
        if name in df.columns:
            df[name] = _int_to_ts(df[name])
    return df


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
