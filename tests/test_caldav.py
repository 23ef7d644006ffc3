"""The CalDAV connector against a real Radicale server (tests/radicale_server.py) on 127.0.0.1.

Loaded with the shared .ics fixtures and a demo organisation exported with
``write_ics``: a full pull equals importing those files; a second pull writes
nothing at one request a calendar; deletions and moves on the server land in the
store's history; an invalid sync token re-reads that calendar alone; a wrong
password is one line; faults are retried then that calendar's failure; a pull
killed mid-run and re-run equals an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from cadence import sync
from cadence.analysis import analyze
from cadence.config import parse_config
from cadence.model import EVENTS, STRING
from cadence.sources import demo
from cadence.sources.caldav import CaldavConnector, mapping
from cadence.sources.ics import load_ics, write_ics
from cadence.store import Store

from .helpers import kill_mid_pull_then_resume, ts
from .radicale_server import PASSWORD, USER, RadicaleServer, split_by_uid

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "ics"
NOW = ts("2026-06-30")
# ``updated``: a server stamps DTSTAMP on objects that had none (RFC 5545 requires it), and the
# mapping reads LAST-MODIFIED or DTSTAMP as ``updated``
COMPARED = [c for c in EVENTS.names if c not in ("source", "title", "updated")]


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[RadicaleServer]:
    server = RadicaleServer(tmp_path / "radicale")
    server.folder.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def connector(server: RadicaleServer, **kw: object) -> CaldavConnector:
    options: dict[str, object] = {"retries": 2, "backoff": 0.0, "timeout": 5.0, "workers": 2}
    options.update(kw)
    password = str(options.pop("password", PASSWORD))
    return CaldavConnector(server.url, USER, lambda: password, **options)  # type: ignore[arg-type]


def fixture_calendars(server: RadicaleServer) -> dict[str, tuple[Path, list[str]]]:
    """Each shared fixture as the calendar of ``<file stem>@example.com``: owner → (file,
    UIDs the server refused)."""
    out = {}
    for file in sorted(FIXTURES.glob("*.ics")):
        owner = f"{file.stem}@example.com"
        refused = server.load_calendar(owner, file.read_text(encoding="utf-8", errors="replace"))
        out[owner] = (file, refused)
    return out


def comparable(events: pd.DataFrame) -> pd.DataFrame:
    out = events[COMPARED]  # the store reads text as categorical: compare the values
    text = {c: STRING for c in COMPARED if isinstance(out[c].dtype, pd.CategoricalDtype)}
    return out.astype(text).sort_values(["calendar", "event_id"], ignore_index=True)


# -- the mapping: the .ics one, fed from CalDAV objects ------------------------------------------


def test_objects_map_to_the_rows_the_file_import_gives() -> None:
    file = FIXTURES / "recurring-moved-and-cancelled-overrides.ics"
    objects = [
        (f"/c/{i}.ics", body.encode())
        for i, body in enumerate(split_by_uid(file.read_text()).values())
    ]
    window = (ts("2014-01-01"), ts("2016-01-01"))
    events, attendees, problems = mapping.map_objects("me@example.com", objects, window)
    imported = load_ics(file, calendar="me@example.com", start=window[0], end=window[1])
    assert problems == []
    assert set(events["source"]) == {"caldav"} and "title" not in events.columns
    pd.testing.assert_frame_equal(comparable(events), comparable(imported.events))
    assert len(attendees) == len(imported.attendees)
    # EXDATE'd and cancelled slots are cancelled occurrences, moved overrides keep their slot
    assert (
        (events["status"] == "cancelled").sum()
        == (imported.events["status"] == "cancelled").sum()
        > 0
    )
    assert (events["start"] != events["original_start"]).sum() > 0


def test_a_broken_object_is_skipped_and_named() -> None:
    good = split_by_uid((FIXTURES / "outlook-reply-declined.ics").read_text())
    no_start = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    objects = [
        ("/c/cut.ics", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:y"),
        ("/c/no-start.ics", no_start.encode()),
        *((f"/c/{u}", b.encode()) for u, b in good.items()),
    ]
    window = (ts("2000-01-01"), ts("2030-01-01"))
    events, _, problems = mapping.map_objects("me@example.com", objects, window)
    assert len(events) == 1 and len(problems) == 2
    assert problems[0].startswith("/c/cut.ics: skipped")
    assert problems[1].startswith("/c/no-start.ics, event x: skipped broken event")


def _one_on_one(modified: str, guests: list[str]) -> bytes:
    """An object holding one 1:1 on 5 January 2026, last modified at ``modified``."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "BEGIN:VEVENT",
        "UID:dup",
        "DTSTAMP:20260101T000000Z",
        f"LAST-MODIFIED:{modified}",
        "DTSTART:20260105T090000Z",
        "DTEND:20260105T093000Z",
        "ORGANIZER:mailto:me@example.com",
        *(f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{g}" for g in guests),
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(lines).encode()


def test_an_occurrence_in_two_objects_is_kept_once_from_the_newest_with_its_own_attendees() -> None:
    newer = ("/c/new.ics", _one_on_one("20260103T000000Z", ["me@example.com", "ann@example.com"]))
    stale = (  # a copy left behind that still names bob
        "/c/old.ics",
        _one_on_one("20260102T000000Z", ["me@example.com", "ann@example.com", "bob@example.com"]),
    )
    window = (ts("2026-01-01"), ts("2026-02-01"))
    for objects in ([newer, stale], [stale, newer]):
        events, attendees, problems = mapping.map_objects("me@example.com", objects, window)
        assert problems == []
        assert len(events) == 1 and events["updated"].iloc[0] == ts("2026-01-03")
        assert sorted(attendees["email"]) == ["ann@example.com", "me@example.com"]
        assert list(attendees.index) == [0, 1]
    # one owner's two calendars holding the same occurrence: the same rule
    one = mapping.map_objects("me@example.com", [stale], window)[:2]
    two = mapping.map_objects("me@example.com", [newer], window)[:2]
    for parts in ([one, two], [two, one]):
        events, attendees = mapping.combine(parts)
        assert len(events) == 1 and events["updated"].iloc[0] == ts("2026-01-03")
        assert sorted(attendees["email"]) == ["ann@example.com", "me@example.com"]


# -- full pull, second pull ----------------------------------------------------------------------


def test_a_full_pull_equals_importing_the_files_and_a_second_pull_writes_nothing(
    tmp_path: Path, radicale: RadicaleServer
) -> None:
    loaded = fixture_calendars(radicale)
    # the fixtures' events lie in 2014 .. 2026: the window 2013 .. 2027 holds them all
    now = ts("2024-01-01")
    con = connector(radicale, weeks_back=52 * 11, weeks_ahead=52 * 3 + 10)
    window = con.window(now)
    with Store(tmp_path / "s.sqlite") as store:
        first = sync.pull(store, con, now=now)
        assert first.failed == {} and first.calendars == len(loaded) == 12
        assert first.full == 12
        for owner, (file, refused) in loaded.items():
            imported = load_ics(file, calendar=owner, start=window[0], end=window[1], strict=False)
            expected = imported.events[~imported.events["ical_uid"].isin(refused)]
            got = store.events(source="caldav", calendars=[owner])
            pd.testing.assert_frame_equal(comparable(got), comparable(expected), obj=owner)
        assert "title" not in store.events().columns  # no meeting titles are stored
        before = radicale.requests()
        second = sync.pull(store, con, now=now)
        assert second.rows_written == 0 and second.full == 0 and second.failed == {}
        # one sync-collection REPORT per calendar; signing in is 4 (the 401 that names the
        # scheme, the principal, the calendar list, the principal's addresses)
        assert second.requests == 12
        assert radicale.requests() - before == 12 + 4


def demo_on_server(server: RadicaleServer, folder: Path, people: int = 6) -> demo.DemoOrg:
    org = demo.generate(people, seed=5, as_of=NOW)
    with Store(folder / "demo.sqlite") as store:
        for pull in org.pulls():
            store.write_pull(pull)
        events, attendees = store.events(), store.attendees()
    for file in write_ics(events, attendees, folder / "ics", until=org.window[1]):
        owner = file.name.removesuffix(".ics")
        assert server.load_calendar(owner, file.read_text(encoding="utf-8")) == []
    return org


def weeks(span: pd.Timedelta) -> int:
    return math.ceil(span / pd.Timedelta(weeks=1))


def test_the_demo_organisation_through_caldav_gives_the_per_pair_analysis_of_its_files(
    tmp_path: Path, radicale: RadicaleServer
) -> None:
    org = demo_on_server(radicale, tmp_path)
    con = connector(
        radicale, weeks_back=weeks(NOW - org.window[0]), weeks_ahead=weeks(org.window[1] - NOW)
    )
    lo, hi = con.window(NOW)
    assert lo <= org.window[0] and hi >= org.window[1]
    with Store(tmp_path / "s.sqlite") as store:
        summary = sync.pull(store, con, now=NOW)
        assert summary.failed == {} and summary.calendars == 6
        via_caldav = analyze(store.frames(), org.roster, as_of=NOW)
    files = load_ics(tmp_path / "ics", start=lo, end=hi)
    via_files = analyze(files, org.roster, as_of=NOW)
    cols = ["pair", "held", "cancelled", "declined", "moved", "upcoming", "past", "target_days"]
    pd.testing.assert_frame_equal(
        via_caldav.pairs[cols].sort_values("pair", ignore_index=True),
        via_files.pairs[cols].sort_values("pair", ignore_index=True),
    )
    assert via_files.pairs["cancelled"].sum() > 0 and via_files.pairs["moved"].sum() > 0


# -- incremental --------------------------------------------------------------------------------

SERIES = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//tests//EN
BEGIN:VEVENT
UID:{uid}
DTSTART;TZID=Europe/Berlin:20260601T{hour}0000
DTEND;TZID=Europe/Berlin:20260601T{hour}3000
RRULE:FREQ=WEEKLY;COUNT=10
ORGANIZER:mailto:ann@example.com
ATTENDEE;PARTSTAT=ACCEPTED:mailto:ann@example.com
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.com
SUMMARY:Ann / Bob
END:VEVENT
END:VCALENDAR
"""

ONE_OFF = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//tests//EN
BEGIN:VEVENT
UID:{uid}
DTSTART:{start}
DTEND:{end}
ORGANIZER:mailto:ann@example.com
ATTENDEE;PARTSTAT=ACCEPTED:mailto:cat@example.com
END:VEVENT
END:VCALENDAR
"""


def small_team(server: RadicaleServer) -> list[str]:
    owners = ["ann@example.com", "bob@example.com", "cat@example.com"]
    for owner in owners:
        server.make_calendar(owner)
        server.put_object(owner, "series-1", SERIES.format(uid="series-1", hour="09"))
    for i, day in enumerate(("20260707", "20260714")):
        text = ONE_OFF.format(uid=f"one-{i}", start=f"{day}T100000Z", end=f"{day}T103000Z")
        server.put_object("cat@example.com", f"one-{i}", text)
    return owners


def test_deleted_and_moved_events_on_the_server_land_in_the_store_history(
    tmp_path: Path, radicale: RadicaleServer
) -> None:
    small_team(radicale)
    con = connector(radicale)
    with Store(tmp_path / "s.sqlite") as store:
        sync.pull(store, con, now=NOW)
        before = store.events(calendars=["cat@example.com"]).set_index("event_id")
        assert before.loc["one-0", "status"] == "confirmed"
        # on the server: cat's one-off of 7 July deleted, the whole series an hour later in
        # bob's calendar (a new DTSTART: every slot moves), ann's untouched
        radicale.delete("cat@example.com", "one-0")
        radicale.put_object("bob@example.com", "series-1", SERIES.format(uid="series-1", hour="10"))
        sent = {c: radicale.requests_to(c) for c in ("ann@example.com", "bob@example.com")}
        later = sync.pull(store, con, now=NOW)
        assert later.failed == {}
        assert radicale.requests_to("ann@example.com") - sent["ann@example.com"] == 1  # unchanged
        assert radicale.requests_to("bob@example.com") - sent["bob@example.com"] == 3
        changes = store.changes()
        gone = changes[
            (changes["calendar"] == "cat@example.com") & (changes["event_id"] == "one-0")
        ]
        assert gone[["kind", "new_value"]].to_numpy().tolist() == [["vanished", "cancelled"]]
        after = store.events(calendars=["cat@example.com"]).set_index("event_id")
        assert after.loc["one-0", "status"] == "cancelled"  # deleted before its start
        assert after.loc["one-1", "status"] == "confirmed"
        bob = store.events(calendars=["bob@example.com"])
        ahead = bob[bob["start"] > NOW]
        hour = ahead["start"].dt.tz_convert("Europe/Berlin").dt.hour
        # a new DTSTART gives the series new slots (RECURRENCE-IDs): the old ones ahead
        # vanished and are cancelled, the new ones are live — as a newer export would say
        assert set(ahead.loc[hour == 9, "status"]) == {"cancelled"}
        assert set(ahead.loc[hour == 10, "status"]) == {"confirmed"}
        assert (hour == 9).sum() == (hour == 10).sum() == 5
        bob_changes = changes[changes["calendar"] == "bob@example.com"]
        assert (bob_changes["kind"] == "vanished").sum() == 10  # 5 past, 5 ahead


def test_a_moved_occurrence_is_recorded_as_a_move(tmp_path: Path, radicale: RadicaleServer) -> None:
    radicale.make_calendar("ann@example.com")
    radicale.put_object("ann@example.com", "series-1", SERIES.format(uid="series-1", hour="09"))
    con = connector(radicale)
    with Store(tmp_path / "s.sqlite") as store:
        sync.pull(store, con, now=NOW)
        text = radicale.get_object("ann@example.com", "series-1").replace("\r\n", "\n")
        override = (
            "BEGIN:VEVENT\nUID:series-1\nRECURRENCE-ID;TZID=Europe/Berlin:20260706T090000\n"
            "DTSTART;TZID=Europe/Berlin:20260707T140000\nDTEND;TZID=Europe/Berlin:20260707T143000\n"
            "ORGANIZER:mailto:ann@example.com\nEND:VEVENT\n"
        )
        radicale.put_object(
            "ann@example.com", "series-1", text.replace("END:VCALENDAR", override + "END:VCALENDAR")
        )
        sync.pull(store, con, now=NOW)
        moved = store.changes().query("kind == 'moved'")
        assert len(moved) == 1
        # Monday 6 July 09:00 in Berlin (CEST, UTC+2) to Tuesday 7 July 14:00
        assert moved.iloc[0]["old_start"] == ts("2026-07-06 07:00")
        assert moved.iloc[0]["new_start"] == ts("2026-07-07 12:00")


def test_an_invalid_sync_token_rereads_that_calendar_alone(
    tmp_path: Path, radicale: RadicaleServer
) -> None:
    owners = small_team(radicale)
    con = connector(radicale)
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        sync.pull(store, con, now=NOW)
        state = json.loads(store.sync_state("caldav", "bob@example.com").cursor or "")
    (url,) = state["calendars"]
    state["calendars"][url]["token"] = "http://radicale.org/ns/sync/" + "0" * 64
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE sync_state SET cursor = ? WHERE source = 'caldav' AND calendar = ?",
            (json.dumps(state), "bob@example.com"),
        )
    sent = {c: radicale.requests_to(c) for c in owners}
    with Store(path) as store:
        again = sync.pull(store, con, now=NOW)
        assert again.failed == {} and again.resynced == 1 and again.full == 1
        assert again.rows_written == 0  # the re-read found what was stored
        new = json.loads(store.sync_state("caldav", "bob@example.com").cursor or "")
        assert new["calendars"][url]["token"] != state["calendars"][url]["token"]
    spent = {c: radicale.requests_to(c) - sent[c] for c in owners}
    assert spent == {"ann@example.com": 1, "bob@example.com": 3, "cat@example.com": 1}


def test_a_new_day_rereads_the_window(tmp_path: Path, radicale: RadicaleServer) -> None:
    small_team(radicale)
    con = connector(radicale, weeks_ahead=1)
    with Store(tmp_path / "s.sqlite") as store:
        sync.pull(store, con, now=NOW)
        assert "one-1" not in set(store.events(calendars=["cat@example.com"])["event_id"])
        week_later = sync.pull(store, con, now=NOW + pd.Timedelta(days=8))
        assert week_later.full == 3
        assert "one-1" in set(store.events(calendars=["cat@example.com"])["event_id"])


# -- faults --------------------------------------------------------------------------------------


def test_a_wrong_password_is_one_line_and_fails_the_source(
    tmp_path: Path, radicale: RadicaleServer
) -> None:
    small_team(radicale)
    con = connector(radicale, password="not-the-app-password")
    with Store(tmp_path / "s.sqlite") as store:
        summary = sync.pull(store, con, now=NOW)
        assert summary.error is not None and "\n" not in summary.error
        assert "HTTP 401" in summary.error and "check the app password" in summary.error
        assert "not-the-app-password" not in summary.error
        assert store.events().empty


def test_server_errors_are_retried_then_that_calendar_fails_and_the_others_land(
    tmp_path: Path, radicale: RadicaleServer
) -> None:
    owners = small_team(radicale)
    con = connector(radicale, retries=2)
    with Store(tmp_path / "s.sqlite") as store:
        radicale.faults["ann@example.com"] += [503, 502]  # two faults, then it answers
        radicale.faults["bob@example.com"] += [500] * 20  # never answers
        summary = sync.pull(store, con, now=NOW)
        assert list(summary.failed) == ["bob@example.com"]
        assert "HTTP 500" in summary.failed["bob@example.com"]
        assert set(store.events()["calendar"]) == {"ann@example.com", "cat@example.com"}
        state = store.sync_state("caldav", "bob@example.com")
        assert state is not None and state.cursor is None and state.last_error
    radicale.faults.clear()
    with Store(tmp_path / "s.sqlite") as store:
        assert sync.pull(store, con, now=NOW).failed == {}
        assert set(store.events()["calendar"]) == set(owners)


def test_a_calendar_that_times_out_is_reported(tmp_path: Path, radicale: RadicaleServer) -> None:
    small_team(radicale)
    con = connector(radicale, retries=1, timeout=0.5)
    radicale.hang["cat@example.com"] = 2.0
    with Store(tmp_path / "s.sqlite") as store:
        summary = sync.pull(store, con, now=NOW)
        assert list(summary.failed) == ["cat@example.com"]
        assert "timed out" in summary.failed["cat@example.com"]
        assert set(store.events()["calendar"]) == {"ann@example.com", "bob@example.com"}


def test_a_listed_calendar_that_is_not_there_fails_alone(
    tmp_path: Path, radicale: RadicaleServer
) -> None:
    small_team(radicale)
    con = connector(
        radicale,
        calendars=["ann@example.com", f"/{USER}/gone/"],
        owners={f"/{USER}/gone/": "gone@example.com"},
    )
    with Store(tmp_path / "s.sqlite") as store:
        summary = sync.pull(store, con, now=NOW)
        assert list(summary.failed) == ["gone@example.com"]
        assert "not found" in summary.failed["gone@example.com"]
        assert "404" in summary.failed["gone@example.com"]
        assert set(store.events()["calendar"]) == {"ann@example.com"}


def test_calendars_without_an_address_for_a_name_need_an_owner(radicale: RadicaleServer) -> None:
    from cadence.errors import ConfigError

    radicale.make_calendar("work", displayname="Work")
    con = connector(radicale)
    with pytest.raises(ConfigError, match=r"\[caldav\] owners"):
        con.open()
    owned = connector(radicale, owners={"Work": "Ann@Example.com"})
    owned.open()
    assert owned.targets(None) == ["ann@example.com"]


# -- the command: config, doctor, password file, crash safety -----------------------------------


def write_config(tmp_path: Path, server: RadicaleServer, **extra: object) -> Path:
    lines = [
        "[caldav]",
        "enabled = true",
        f'url = "{server.url}"',
        f'username = "{USER}"',
        f'password_file = "{tmp_path / "caldav-password"}"',
        "retries = 1",
        "timeout_seconds = 5",
    ] + [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_password_file_is_owner_only_and_doctor_reads_a_calendar(
    tmp_path: Path, radicale: RadicaleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tomllib

    from cadence import job

    monkeypatch.delenv("CADENCE_CALDAV_PASSWORD", raising=False)
    small_team(radicale)
    settings = parse_config(tomllib.loads(write_config(tmp_path, radicale).read_text()))
    saved = job.sign_in_caldav(settings, PASSWORD)
    assert saved.stat().st_mode & 0o777 == 0o600
    checks = {c.name: c for c in job.doctor(settings, tmp_path / "s.sqlite")}
    assert checks["caldav"].ok, checks["caldav"].detail
    assert "3 calendars of 3 people" in checks["caldav"].detail
    saved.write_text("wrong\n")
    bad = {c.name: c for c in job.doctor(settings, tmp_path / "s.sqlite")}["caldav"]
    assert not bad.ok and "check the app password" in bad.detail


def test_pull_killed_mid_run_then_rerun_equals_an_uninterrupted_pull(
    tmp_path: Path, radicale: RadicaleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = pd.Timestamp.now(tz="UTC").normalize()
    for i in range(8):
        owner = f"p{i}@example.com"
        radicale.make_calendar(owner)
        start = today + pd.Timedelta(days=i, hours=9)
        for j in range(3):
            s = start - pd.Timedelta(weeks=j)
            radicale.put_object(
                owner,
                f"e{j}",
                ONE_OFF.format(
                    uid=f"{owner}-e{j}",
                    start=f"{s:%Y%m%dT%H%M%SZ}",
                    end=f"{s + pd.Timedelta(minutes=30):%Y%m%dT%H%M%SZ}",
                ),
            )
    calendars = sorted(f"p{i}@example.com" for i in range(8))
    config = write_config(tmp_path, radicale, workers=1)
    monkeypatch.setenv("CADENCE_CALDAV_PASSWORD", PASSWORD)
    kill_mid_pull_then_resume(radicale, config, calendars, tmp_path)


def test_cadence_auth_caldav_keeps_the_password_owner_only(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cadence.cli import app

    config = tmp_path / "config.toml"
    secret = tmp_path / "secret"
    config.write_text(
        f'[caldav]\nurl = "https://caldav.example.com"\nusername = "ann@example.com"\n'
        f'password_file = "{secret}"\n',
        encoding="utf-8",
    )
    done = CliRunner().invoke(app, ["--config", str(config), "auth", "caldav"], input="s3cret\n")
    assert done.exit_code == 0, done.output
    assert "s3cret" not in done.output
    assert secret.read_text() == "s3cret\n" and secret.stat().st_mode & 0o777 == 0o600


def test_an_enabled_caldav_section_needs_url_and_username() -> None:
    from cadence.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^config: \[caldav\].*needs url and username"):
        parse_config({"caldav": {"enabled": True, "url": "https://caldav.icloud.com"}})
    with pytest.raises(ConfigError, match=r"caldav\] url = 'caldav.icloud.com'"):
        parse_config({"caldav": {"url": "caldav.icloud.com"}})
    ok = parse_config({"caldav": {"url": "https://caldav.icloud.com", "owners": {"W": "A@B.io"}}})
    assert ok.caldav.url == "https://caldav.icloud.com/" and ok.caldav.owners == {"W": "a@b.io"}
