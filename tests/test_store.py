"""The SQLite store: lossless round trips, idempotent pulls, change history, atomic cursors."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.errors import SchemaError, StoreError
from cadence.model import EVENT_TYPES, STRING, Pull
from cadence.sources import demo
from cadence.store import MIGRATIONS, Store

from .conftest import AS_OF
from .helpers import attendee, event, frames, one_on_one_copies, ts

SEEN = ts("2026-06-01 00:00")
CALS = ["ann@example.com", "bob@example.com"]


def pull(evs, ats, *, seen=SEEN, window=None, cursors=None, calendars=CALS) -> Pull:
    e, a = frames(evs, ats)
    return Pull("demo", calendars, e, a, seen_at=seen, window=window, cursors=cursors or {})


def test_new_store_is_migrated_wal_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "c.sqlite"
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS)
        assert s.counts() == dict.fromkeys(
            ("events", "attendees", "changes", "sync_state", "runs", "snapshots", "roster"), 0
        )
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"events", "attendees", "changes", "sync_state", "runs", "meta"} <= tables
    # reopening does not migrate again
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS)


def test_store_from_a_newer_cadence_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this Cadence"):
        Store(path)


def test_unopenable_path_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=str(blocker)):
        Store(blocker / "c.sqlite")


def test_same_pull_twice_writes_nothing(store: Store) -> None:
    evs, ats = one_on_one_copies()
    first = store.write_pull(pull(evs, ats, cursors={CALS[0]: "tok-1"}))
    assert (first.inserted, first.attendees_written) == (2, 4)
    before = (store.events(include_meta=True), store.attendees(), store.counts())
    again = store.write_pull(pull(evs, ats, seen=SEEN + pd.Timedelta(days=1)))
    assert again.rows_written == 0
    pd.testing.assert_frame_equal(store.events(include_meta=True), before[0])
    pd.testing.assert_frame_equal(store.attendees(), before[1])
    assert store.counts() == before[2]


def test_move_cancel_and_decline_are_recorded(store: Store) -> None:
    evs, ats = one_on_one_copies()
    store.write_pull(pull(evs, ats))
    moved_evs, moved_ats = one_on_one_copies(
        start="2026-06-02 10:00",
        original="2026-06-01 09:00",
        b_sees_b="declined",
        b_status="cancelled",
    )
    later = SEEN + pd.Timedelta(hours=5)
    result = store.write_pull(pull(moved_evs, moved_ats, seen=later))
    assert result.updated == 2
    ch = store.changes()
    kinds = sorted(ch["kind"].tolist())
    assert kinds == ["cancelled", "moved", "moved", "response"]  # only bob's own copy changed
    moved = ch[ch["kind"] == "moved"].iloc[0]
    assert moved["old_start"] == ts("2026-06-01 09:00")
    assert moved["new_start"] == ts("2026-06-02 10:00")
    assert (ch["seen_at"] == later).all()
    response = ch[ch["kind"] == "response"]
    assert response[["calendar", "email"]].to_numpy().tolist() == [
        ["bob@example.com", "bob@example.com"]
    ]
    assert set(response["new_value"]) == {"declined"}
    cancelled = ch[ch["kind"] == "cancelled"].iloc[0]
    assert cancelled["calendar"] == "bob@example.com"


def test_vanished_future_occurrence_becomes_a_cancellation(store: Store) -> None:
    window = (ts("2026-05-01"), ts("2026-07-01"))
    future_evs, future_ats = one_on_one_copies(event_id="f", uid="uid-f", start="2026-06-20 09:00")
    past_evs, past_ats = one_on_one_copies(event_id="p", uid="uid-p", start="2026-05-20 09:00")
    outside_evs, outside_ats = one_on_one_copies(
        event_id="o", uid="uid-o", start="2026-08-20 09:00"
    )
    store.write_pull(
        pull(
            future_evs + past_evs + outside_evs, future_ats + past_ats + outside_ats, window=window
        )
    )
    seen = ts("2026-06-10 08:00")
    result = store.write_pull(pull([], [], seen=seen, window=window))
    assert result.vanished == 4  # both copies of the future and of the past occurrence
    ev = store.events(include_meta=True).set_index(["calendar", "event_id"])
    assert (ev.xs("f", level="event_id")["status"] == "cancelled").all()
    assert (ev.xs("f", level="event_id")["vanished_at"] == seen).all()
    # a past occurrence that disappears later is not a cancellation: it had happened
    assert (ev.xs("p", level="event_id")["status"] == "confirmed").all()
    # outside the window nothing can be concluded
    assert ev.xs("o", level="event_id")["vanished_at"].isna().all()
    ch = store.changes()
    assert (ch["kind"] == "vanished").sum() == 4
    assert sorted(ch.loc[ch["event_id"] == "f", "new_value"]) == ["cancelled", "cancelled"]
    assert (ch["seen_at"] == seen).all()
    # seeing it gone again adds nothing; seeing it back restores it
    assert store.write_pull(pull([], [], seen=seen, window=window)).rows_written == 0
    back = store.write_pull(
        pull(future_evs, future_ats, seen=seen + pd.Timedelta(days=1), window=window)
    )
    assert back.updated == 2
    ev = store.events(include_meta=True).set_index(["calendar", "event_id"])
    assert (ev.xs("f", level="event_id")["status"] == "confirmed").all()
    assert ev.xs("f", level="event_id")["vanished_at"].isna().all()
    assert (store.changes()["kind"] == "restored").sum() == 2


def test_incremental_pull_does_not_infer_vanishing(store: Store) -> None:
    evs, ats = one_on_one_copies(start="2026-06-20 09:00")
    store.write_pull(pull(evs, ats, window=(ts("2026-05-01"), ts("2026-07-01"))))
    assert store.write_pull(pull([], [], seen=ts("2026-06-10"))).rows_written == 0
    assert (store.events()["status"] == "confirmed").all()


def test_attendee_removed_from_an_event(store: Store) -> None:
    evs, ats = one_on_one_copies()
    ats.append(
        attendee(
            calendar="ann@example.com", email="room@example.com", is_resource=True, role="required"
        )
    )
    store.write_pull(pull(evs, ats))
    result = store.write_pull(pull(evs, ats[:-1]))
    assert result.attendees_removed == 1
    assert "room@example.com" not in set(store.attendees()["email"])


def test_cursor_is_written_with_the_rows_and_kept_when_not_given(store: Store) -> None:
    evs, ats = one_on_one_copies()
    store.write_pull(
        pull(evs, ats, cursors={CALS[0]: "tok-1"}, window=(ts("2026-05-01"), ts("2026-07-01")))
    )
    state = store.sync_state("demo", CALS[0])
    assert state is not None and state.cursor == "tok-1" and state.last_success == SEEN
    assert state.window_start == ts("2026-05-01")
    store.write_pull(pull(evs, ats, seen=SEEN + pd.Timedelta(days=1)))
    assert store.sync_state("demo", CALS[0]).cursor == "tok-1"  # type: ignore[union-attr]
    store.write_pull(pull(evs, ats, cursors={CALS[0]: None}))
    assert store.sync_state("demo", CALS[0]).cursor is None  # type: ignore[union-attr]
    assert store.sync_state("demo", "nobody@example.com") is None


def test_a_failing_pull_writes_nothing_not_even_its_cursor(store: Store, monkeypatch) -> None:
    evs, ats = one_on_one_copies()
    store.write_pull(pull(evs, ats, cursors={CALS[0]: "tok-1"}))
    before = (store.events(include_meta=True), store.attendees(), store.changes())
    moved, moved_ats = one_on_one_copies(start="2026-06-03 09:00")

    def boom(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error (simulated)")

    monkeypatch.setattr(Store, "_save_cursor", staticmethod(boom))
    with pytest.raises(StoreError, match=r"cadence\.sqlite: disk I/O error \(simulated\)"):
        store.write_pull(pull(moved, moved_ats, cursors={CALS[0]: "tok-2"}))
    monkeypatch.undo()
    pd.testing.assert_frame_equal(store.events(include_meta=True), before[0])
    pd.testing.assert_frame_equal(store.attendees(), before[1])
    pd.testing.assert_frame_equal(store.changes(), before[2])
    assert store.sync_state("demo", CALS[0]).cursor == "tok-1"  # type: ignore[union-attr]
    # and the store is still usable
    assert store.write_pull(pull(moved, moved_ats)).updated == 2


def test_pull_scope_is_checked(store: Store) -> None:
    evs, ats = one_on_one_copies()
    with pytest.raises(SchemaError, match=r"bob@example\.com"):
        store.write_pull(pull(evs, ats, calendars=[CALS[0]]))
    with pytest.raises(SchemaError, match="belong to no event"):
        store.write_pull(pull(evs[:1], ats))
    assert store.counts()["events"] == 0


def test_failures_and_runs_are_recorded(store: Store) -> None:
    store.record_failure("google", "ann@example.com", "HTTP 500 after 5 retries", SEEN)
    state = store.sync_state("google", "ann@example.com")
    assert (
        state is not None
        and state.last_error == "HTTP 500 after 5 retries"
        and state.last_success is None
    )
    run = store.start_run("pull", at=SEEN)
    store.finish_run(
        run, "partial", {"failed": ["ann@example.com"]}, at=SEEN + pd.Timedelta(minutes=1)
    )
    runs = store.runs()
    assert runs.loc[0, "status"] == "partial"
    assert runs.loc[0, "summary"] == {"failed": ["ann@example.com"]}
    assert runs.loc[0, "finished_at"] == SEEN + pd.Timedelta(minutes=1)


def test_naive_seen_at_is_refused(store: Store) -> None:
    evs, ats = one_on_one_copies()
    e, a = frames(evs, ats)
    with pytest.raises(StoreError, match="timezone-aware"):
        store.write_pull(Pull("demo", CALS, e, a, seen_at=pd.Timestamp("2026-06-01")))


# -- properties ---------------------------------------------------------------------------------

text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
maybe_text = st.none() | text
instants = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
maybe_instant = st.none() | instants


@st.composite
def pulls(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    calendars = draw(st.lists(text, min_size=1, max_size=3, unique_by=lambda s: s.strip().lower()))
    ids = draw(st.lists(text, min_size=0, max_size=6, unique=True))
    evs, ats = [], []
    for event_id in ids:
        start = draw(instants)
        cal = draw(st.sampled_from(calendars))
        evs.append(
            event(
                calendar=cal,
                event_id=event_id,
                series_id=draw(maybe_text),
                ical_uid=draw(text),
                original_start=draw(instants),
                start=start,
                end=start
                + timedelta(
                    minutes=draw(st.integers(0, 600)), microseconds=draw(st.integers(0, 999))
                ),
                timezone=draw(maybe_text),
                all_day=draw(st.booleans()),
                status=draw(st.sampled_from(["confirmed", "tentative", "cancelled"])),
                organizer=draw(maybe_text),
                recurrence=draw(maybe_text),
                event_type=draw(st.sampled_from(sorted(EVENT_TYPES))),
                created=draw(maybe_instant),
                updated=draw(maybe_instant),
            )
        )
        for email in draw(st.lists(text, max_size=3, unique_by=lambda s: s.strip().lower())):
            ats.append(
                attendee(
                    calendar=cal,
                    event_id=event_id,
                    email=email,
                    role=draw(st.sampled_from(["organizer", "required", "optional"])),
                    response=draw(st.sampled_from(["accepted", "declined", "tentative", "none"])),
                    is_resource=draw(st.booleans()),
                )
            )
    e, a = frames(evs, ats)
    return e, a


def _sorted(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return frame.sort_values(key, ignore_index=True)


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame read from the store with its categorical columns as text again."""
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.CategoricalDtype):
            out[name] = out[name].astype(STRING)
    return out


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=pulls())
def test_round_trip_is_lossless(tmp_path: Path, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    e, a = data
    path = tmp_path / f"rt-{abs(hash((len(e), len(a), tuple(e['event_id']))))}.sqlite"
    path.unlink(missing_ok=True)
    with Store(path) as s:
        s.write_pull(
            Pull("demo", sorted(set(e["calendar"]) | set(a["calendar"])), e, a, seen_at=SEEN)
        )
        pd.testing.assert_frame_equal(
            as_text(s.events()), _sorted(e, ["source", "calendar", "event_id"])
        )
        pd.testing.assert_frame_equal(
            as_text(s.attendees()), _sorted(a, ["source", "calendar", "event_id", "email"])
        )
    path.unlink()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=pulls(), order=st.randoms(use_true_random=False))
def test_order_of_upserts_does_not_matter(tmp_path: Path, data, order) -> None:
    e, a = data
    per_cal = [
        (c, e[e["calendar"] == c], a[a["calendar"] == c]) for c in sorted(set(e["calendar"]))
    ]
    results = []
    for variant in range(2):
        parts = list(per_cal)
        if variant:
            order.shuffle(parts)
        path = tmp_path / f"order-{variant}.sqlite"
        path.unlink(missing_ok=True)
        with Store(path) as s:
            for cal, ce, ca in parts:
                ce = ce.sample(frac=1, random_state=order.randint(0, 99)) if variant else ce
                s.write_pull(Pull("demo", [cal], ce, ca, seen_at=SEEN))
            results.append((s.events(), s.attendees()))
    pd.testing.assert_frame_equal(results[0][0], results[1][0])
    pd.testing.assert_frame_equal(results[0][1], results[1][1])


def test_clear_cursor_forgets_the_cursor_and_keeps_the_rows(store: Store) -> None:
    evs, ats = one_on_one_copies()
    store.write_pull(pull(evs, ats, cursors={CALS[0]: "tok-1"}))
    store.clear_cursor("demo", CALS[0])
    state = store.sync_state("demo", CALS[0])
    assert state is not None and state.cursor is None and state.last_success == SEEN
    assert store.counts()["events"] == 2


def test_a_cancellation_is_dated_between_the_pull_that_saw_it_live_and_the_one_that_did_not(
    store: Store,
) -> None:
    """Evidence for late cancellations: the store brackets the moment a 1:1 was cancelled."""
    window = (ts("2026-05-01"), ts("2026-07-01"))
    gone_evs, gone_ats = one_on_one_copies(event_id="g", uid="uid-g", start="2026-06-20 09:00")
    flip_evs, flip_ats = one_on_one_copies(event_id="c", uid="uid-c", start="2026-06-21 09:00")
    first, second = ts("2026-06-12 07:00"), ts("2026-06-19 18:00")
    store.write_pull(pull(gone_evs + flip_evs, gone_ats + flip_ats, seen=first, window=window))
    flipped = [{**e, "status": "cancelled"} for e in flip_evs]
    store.write_pull(pull(flipped, flip_ats, seen=second, window=window))  # g vanished
    ev = store.frames().events.set_index(["calendar", "event_id"])
    for event_id in ("g", "c"):  # vanished before its start / reported cancelled
        rows = ev.xs(event_id, level="event_id")
        assert (rows["status"] == "cancelled").all()
        assert (rows["cancelled_after"] == first).all() and (
            rows["cancelled_before"] == second
        ).all()
    # seen cancelled again: the evidence stays what it was
    third = ts("2026-06-26")
    store.write_pull(pull(flipped, flip_ats, seen=third, window=window))
    ev = store.frames().events.set_index(["calendar", "event_id"])
    assert (ev.xs("c", level="event_id")["cancelled_before"] == second).all()
    # restored: no longer cancelled, no evidence
    store.write_pull(pull(flip_evs, flip_ats, seen=third + pd.Timedelta(hours=1), window=window))
    rows = store.frames().events.set_index(["calendar", "event_id"]).xs("c", level="event_id")
    assert rows["cancelled_after"].isna().all() and rows["cancelled_before"].isna().all()


def test_first_seen_cancelled_has_no_evidence_unless_the_source_says_when(store: Store) -> None:
    evs, ats = one_on_one_copies(
        event_id="x", uid="uid-x", a_status="cancelled", b_status="cancelled"
    )
    said = ts("2026-05-31 20:00")
    evs[0]["cancelled_at"] = said  # the organizer's copy says when (a Google instance would)
    store.write_pull(pull(evs, ats))
    ev = store.frames().events.set_index("calendar")
    assert ev.loc["ann@example.com", "cancelled_after"] == said
    assert ev.loc["ann@example.com", "cancelled_before"] == said
    assert pd.isna(ev.loc["bob@example.com", "cancelled_after"])  # nothing shows when


def test_the_span_the_pulls_covered_grows_and_purge_shrinks_it(store: Store) -> None:
    assert store.span() is None
    evs, ats = one_on_one_copies()
    old_evs, old_ats = one_on_one_copies(event_id="old", uid="uid-old", start="2026-05-04 09:00")
    first = (ts("2026-05-01"), ts("2026-07-01"))
    store.write_pull(pull(evs + old_evs, ats + old_ats, window=first))
    later = (ts("2026-05-15"), ts("2026-07-15"))
    store.write_pull(pull(evs, ats, window=later, seen=ts("2026-06-08")))
    store.write_pull(pull([], [], seen=ts("2026-06-09")))  # a delta covers nothing new
    assert store.span() == (ts("2026-05-01"), ts("2026-07-15"))
    assert store.frames().span == store.span()
    store.purge(ts("2026-04-01"))  # nothing before it: what was covered still is
    assert store.span() == (ts("2026-05-01"), ts("2026-07-15"))
    assert store.purge(ts("2026-05-10"))["events"] == 2
    assert store.span() == (ts("2026-05-10"), ts("2026-07-15"))


def test_source_health_reports_failures_and_staleness(tmp_path: Path) -> None:
    o = demo.generate(12, seed=1, as_of=AS_OF)
    with Store(tmp_path / "s.sqlite") as db:
        for pull in o.pulls():
            db.write_pull(pull)
        cal = o.roster["email"].iloc[0]
        db.record_failure("demo", cal, "HTTP 503 after 5 retries", AS_OF + pd.Timedelta(hours=1))
        (info,) = db.source_health()
    assert info.name == "demo" and "HTTP 503" in (info.error or "") and cal in (info.error or "")
    assert not info.stale(AS_OF + pd.Timedelta(days=2))
    assert info.stale(AS_OF + pd.Timedelta(days=30))


def test_schema_5_drops_every_stored_title_and_the_column(tmp_path: Path) -> None:
    from cadence.store import MIGRATIONS, _statements

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    for version, script in enumerate(MIGRATIONS[:4], 1):
        for statement in _statements(script):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {version}")
    db.execute(
        "INSERT INTO events (source, calendar, event_id, ical_uid, original_start, start, "
        '"end", all_day, status, event_type, title, first_seen, last_changed) '
        "VALUES ('ics', 'ann@example.com', 'e1', 'u1', 0, 0, 1, 0, 'confirmed', 'default', "
        "'Salary talk with Bob', 0, 0)"
    )
    db.execute("INSERT INTO runs (kind, started_at) VALUES ('pull', 0)")  # an old run, running
    db.close()
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        columns = [r[1] for r in store._db.execute("PRAGMA table_info(events)")]
        assert "title" not in columns and len(store.events()) == 1
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert store.start_run("pull") == 2
        assert store.runs()["status"].tolist() == ["interrupted", "running"]  # no pid: gone
        store.start_run("pull")  # run 2's process (this one) is alive: left running
        assert store.runs()["status"].tolist() == ["interrupted", "running", "running"]
    raw = (
        path.read_bytes() + Path(f"{path}-wal").read_bytes()
        if Path(f"{path}-wal").exists()
        else path.read_bytes()
    )
    assert b"Salary talk" not in raw


# -- schema 6: integer-coded rows, categorical frames ---------------------------------------------


def _v5_store(path: Path, evs: pd.DataFrame, ats: pd.DataFrame) -> None:
    """A store as Cadence wrote it at schema 5 (text in every row), holding ``evs``/``ats``
    and one recorded change."""
    from cadence.store import _statements

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    for version, script in enumerate(MIGRATIONS[:5], 1):
        for statement in _statements(script):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {version}")

    def cell(value: object) -> object:
        if pd.isna(value):  # type: ignore[arg-type]
            return None
        if isinstance(value, pd.Timestamp):
            return value.value // 1000
        return int(value) if isinstance(value, (bool, np.bool_)) else value

    cols = list(evs.columns)
    for rec in evs.itertuples(index=False):
        db.execute(
            f"INSERT INTO events ({', '.join(f'{c!r}' for c in cols)}, first_seen, last_changed) "
            f"VALUES ({', '.join('?' * (len(cols) + 2))})",
            (*map(cell, rec), 5, 6),
        )
    for rec in ats.itertuples(index=False):
        db.execute(
            f"INSERT INTO attendees VALUES ({', '.join('?' * len(ats.columns))})",
            tuple(map(cell, rec)),
        )
    db.execute(
        "INSERT INTO changes (seen_at, source, calendar, event_id, kind, old_start, new_start) "
        "VALUES (7, 'demo', 'ann@example.com', 'e1', 'moved', 1, 2)"
    )
    db.close()


def test_a_schema_5_store_upgrades_in_place_with_its_rows(tmp_path: Path) -> None:
    evs, ats = frames(
        [
            event(),
            event(calendar="bob@example.com", organizer=None, timezone=None, series_id="s1"),
            event(
                event_id="e2", ical_uid="uid-2", status="cancelled", recurrence="RRULE:FREQ=WEEKLY"
            ),
        ],
        [
            attendee(),
            attendee(email="bob@example.com", role="required", response="declined"),
            attendee(calendar="bob@example.com", email="bob@example.com", role="required"),
        ],
    )
    path = tmp_path / "v5.sqlite"
    _v5_store(path, evs, ats)
    with Store(path) as store:
        assert store.schema_version == 6
        got = store.events(include_meta=True)
        want = _sorted(evs, ["source", "calendar", "event_id"])
        pd.testing.assert_frame_equal(as_text(got[evs.columns]), want)
        assert got["first_seen"].tolist() == [pd.Timestamp(5, unit="us", tz="UTC")] * 3
        pd.testing.assert_frame_equal(
            as_text(store.attendees()), _sorted(ats, ["source", "calendar", "event_id", "email"])
        )
        assert store.changes()[["event_id", "kind"]].to_numpy().tolist() == [["e1", "moved"]]
        # the same rows pulled again: compared value by value (no fingerprint yet), nothing
        # written; then fingerprinted, still nothing
        for _ in range(2):
            again = Pull("demo", CALS, evs, ats, seen_at=SEEN)
            assert store.write_pull(again).rows_written == 0
        assert store.counts()["changes"] == 1


def test_frames_are_categorical_with_one_people_dtype(store: Store) -> None:
    evs, ats = one_on_one_copies()
    evs[1]["organizer"] = None
    store.write_pull(pull(evs, ats))
    data = store.frames()
    ev, at = data.events, data.attendees
    people = [ev["calendar"], ev["organizer"], at["calendar"], at["email"]]
    assert all(s.dtype == people[0].dtype for s in people)
    assert list(people[0].cat.categories) == CALS  # the store's people, sorted
    both = pd.concat(people, ignore_index=True)
    assert isinstance(both.dtype, pd.CategoricalDtype)
    codes, uniques = pd.factorize(both)
    assert [uniques[c] for c in codes if c >= 0] == both.dropna().tolist()
    text_cols = ["source", "event_id", "series_id", "ical_uid", "timezone", "status"]
    text_cols += ["recurrence", "event_type"]
    assert all(isinstance(ev[c].dtype, pd.CategoricalDtype) for c in text_cols)
    assert all(isinstance(at[c].dtype, pd.CategoricalDtype) for c in ("role", "response"))
    # NA stays NA (code -1); values equal to a plain SQL read of the same rows
    assert ev["organizer"].isna().tolist() == [False, True]
    assert ev["organizer"].cat.codes.tolist()[1] == -1
    plain = pd.read_sql_query(
        "SELECT c.email AS calendar, k.value AS event_id, o.email AS organizer, "
        "s.value AS status FROM events e JOIN people c ON c.id = e.calendar "
        "JOIN texts k ON k.id = e.event_id LEFT JOIN people o ON o.id = e.organizer "
        "JOIN texts s ON s.id = e.status ORDER BY c.email, k.value",
        store._db,
    ).astype(STRING)
    pd.testing.assert_frame_equal(as_text(ev[list(plain.columns)]), plain)


def test_reads_too_long_for_one_sqlite_text_come_row_by_row(tmp_path: Path) -> None:
    """Columns cross as one text each; past SQLite's length limit the rows come one by one,
    the same frames either way, and the re-pull that compares them still writes nothing."""
    org = demo.generate(12, seed=4, as_of=AS_OF, weeks=6)
    full = org.pulls()[-1]
    with Store(tmp_path / "cadence.sqlite") as store:
        store.write_pull(full)
        whole = store.frames()
        store._db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 200)  # far below one column's text
        with pytest.raises(sqlite3.DataError):
            store._db.execute("SELECT group_concat(id, ' ') FROM events").fetchone()
        by_row = store.frames()
        assert store.write_pull(full).rows_written == 0
    assert len(whole.events) == len(full.events) and len(whole.attendees) == len(full.attendees)
    pd.testing.assert_frame_equal(by_row.events, whole.events)
    pd.testing.assert_frame_equal(by_row.attendees, whole.attendees)


def test_a_value_that_is_not_an_integer_is_a_store_error(store: Store) -> None:
    evs, ats = one_on_one_copies()
    store.write_pull(pull(evs, ats))
    store._db.execute("UPDATE events SET start = 'soon' WHERE rowid = 1")
    with pytest.raises(StoreError, match=r"not a whole number.*events"):
        store.frames()


def test_a_rolled_back_pull_leaves_no_stale_person_behind(store: Store, monkeypatch) -> None:
    evs, ats = one_on_one_copies()
    store.write_pull(pull(evs, ats))
    cat = [attendee(email="cat@example.com", role="optional")]

    def boom(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error (simulated)")

    monkeypatch.setattr(Store, "_save_cursor", staticmethod(boom))
    with pytest.raises(StoreError):
        store.write_pull(pull(evs, ats + cat))
    monkeypatch.undo()
    dan = [attendee(email="dan@example.com", role="optional")]
    store.write_pull(pull(evs, ats + dan))  # dan takes the id cat had for a moment
    assert set(store.attendees()["email"]) == {*CALS, "dan@example.com"}


def test_an_attendee_change_alone_writes_the_attendee_not_the_event(store: Store) -> None:
    evs, ats = one_on_one_copies()
    store.write_pull(pull(evs, ats))
    changed = [dict(a) for a in ats]
    changed[0]["response"] = "tentative"
    result = store.write_pull(pull(evs, changed, seen=SEEN + pd.Timedelta(hours=1)))
    assert (result.updated, result.attendees_written, result.changes) == (0, 1, 1)
    assert store.changes()["new_value"].tolist() == ["tentative"]
    assert store.events(include_meta=True)["last_changed"].eq(SEEN).all()
    assert store.write_pull(pull(evs, changed)).rows_written == 0
