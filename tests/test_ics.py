"""The .ics importer on every real exported file in shared/fixtures/ics (see its SOURCES.md).

Each test's expectations were written from reading the file itself.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.errors import IcsError
from cadence.sources.ics import load_ics
from cadence.store import Store

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "ics"
ME = "me@example.com"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def load(name: str, start: str, end: str, **kw):  # type: ignore[no-untyped-def]
    return load_ics(FIXTURES / name, calendar=ME, start=start, end=end, **kw)


def by_original(events: pd.DataFrame) -> pd.DataFrame:
    return events.set_index("original_start").sort_index()


def test_fixtures_are_there() -> None:
    assert len(list(FIXTURES.glob("*.ics"))) == 12, f"expected the shared fixtures in {FIXTURES}"


def test_khal_weekly_with_a_moved_and_a_cancelled_override() -> None:
    """Weekly Mondays 07:00 Berlin, 30 Jun – 4 Aug 2014; 7 Jul moved to 09:00; 14 Jul cancelled."""
    ev = load("recurring-moved-and-cancelled-overrides.ics", "2014-06-01", "2014-09-01").events
    assert len(ev) == 6
    e = by_original(ev)
    assert e.loc[ts("2014-07-07 05:00"), "start"] == ts("2014-07-07 07:00")  # RECURRENCE-ID in UTC
    assert e.loc[ts("2014-07-14 05:00"), "status"] == "cancelled"
    assert (e.drop(index=[ts("2014-07-14 05:00")])["status"] == "confirmed").all()
    assert set(ev["timezone"]) == {"Europe/Berlin"}
    assert set(ev["recurrence"]) == {"FREQ=WEEKLY;UNTIL=20140806T060000Z"}
    assert (ev["series_id"] == ev["series_id"].iloc[0]).all() and ev["event_id"].is_unique
    moved = ev[ev["start"] != ev["original_start"]]
    assert moved["original_start"].tolist() == [ts("2014-07-07 05:00")]


def test_outlook_teams_weekly_with_exdates_in_eastern_time() -> None:
    """Fridays 11:00 'Eastern Standard Time', 11 Mar – 29 Apr 2022, 3 EXDATEs on one folded line."""
    ev = load("outlook-teams-weekly-exdate-eastern.ics", "2022-03-01", "2022-05-01").events
    assert len(ev) == 8
    cancelled = ev[ev["status"] == "cancelled"]
    assert cancelled["original_start"].tolist() == [
        ts("2022-03-18 15:00"),
        ts("2022-04-01 15:00"),
        ts("2022-04-08 15:00"),
    ]
    assert set(ev["timezone"]) == {"America/New_York"}  # the Windows name, mapped
    first = by_original(ev).iloc[0]
    assert first.name == ts("2022-03-11 16:00")  # EST before the 13 March change
    assert first["end"] - first["start"] == pd.Timedelta(minutes=30)
    assert not (ev["start"] != ev["original_start"]).any()


def test_google_weekly_moved_timed_and_all_day() -> None:
    ev = load("google-weekly-moved-timed-and-allday.ics", "2023-08-01", "2023-09-01").events
    timed, all_day = ev[~ev["all_day"]], ev[ev["all_day"]]
    assert len(timed) == 3 and len(all_day) == 3
    t = by_original(timed)
    assert t.loc[ts("2023-08-15 04:00"), "start"] == ts("2023-08-14 04:00")  # Tue → Mon
    assert set(timed["timezone"]) == {"Australia/Sydney"}
    a = by_original(all_day)
    assert list(a.index) == [ts("2023-08-10"), ts("2023-08-17"), ts("2023-08-24")]
    assert a.loc[ts("2023-08-17"), "start"] == ts("2023-08-16")  # Thu → Wed
    assert (a["end"] - a["start"] == pd.Timedelta(days=1)).all()


def test_google_override_written_before_its_master_and_no_vtimezone() -> None:
    ev = load("google-moved-instance-override-before-master.ics", "2026-02-01", "2026-03-01").events
    e = by_original(ev)
    assert list(e.index) == [ts("2026-02-10 17:00"), ts("2026-02-11 17:00"), ts("2026-02-12 17:00")]
    assert e.loc[ts("2026-02-11 17:00"), "start"] == ts("2026-02-11 17:30")
    assert "title" not in ev.columns  # SUMMARY ("… - MODIFIED") is never read
    assert set(ev["timezone"]) == {"America/Denver"}


def test_google_orphan_overrides_without_a_master() -> None:
    imported = load("google-orphan-overrides-no-master.ics", "2021-03-01", "2021-04-01")
    ev = imported.events
    assert sorted(ev["original_start"]) == [ts(f"2021-03-{d} 11:00") for d in (24, 25, 26, 27)]
    assert (ev["start"] == ev["original_start"]).all()
    assert ev["series_id"].notna().all() and ev["recurrence"].isna().all()
    assert set(imported.attendees["email"]) == {
        "hst9ma4s2h5hf2iafmrqffki9o@group.calendar.google.com"
    }
    assert set(imported.attendees["response"]) == {"none"}  # no PARTSTAT


def test_outlook_windows_zone_names_and_six_exdates_on_one_folded_line() -> None:
    imported = load(
        "outlook-windows-tzids-exdate-quoted-tzid.ics", "2020-07-01", "2020-08-01", strict=False
    )
    ev = imported.events
    weekly = ev[ev["recurrence"].notna()]
    # Tu/Th/Fr/Su at 12:00 Pacific in July 2020: 15 slots, EXDATEs on 21, 23 and 28 July
    assert len(weekly) == 15
    assert sorted(weekly.loc[weekly["status"] == "cancelled", "original_start"]) == [
        ts("2020-07-21 19:00"),
        ts("2020-07-23 19:00"),
        ts("2020-07-28 19:00"),
    ]
    assert set(weekly["timezone"]) == {"America/Los_Angeles"}
    # the malformed DTSTART;TZID="W. Europe Standard Time:20200609T090000" event is skipped, named
    assert len(imported.problems) == 1
    assert imported.problems[0].uid.startswith(
        "040000008200E00074C5B7101A82E008000000008001F1896B63D3"
    )
    later = load(
        "outlook-windows-tzids-exdate-quoted-tzid.ics", "2020-09-01", "2020-10-01", strict=False
    )
    single = later.events[later.events["recurrence"].isna()].set_index("ical_uid")
    test = (
        "040000008200E00074C5B7101A82E0080000000070DE40F38786D6010000000000000000"
        "10000000D2A9BA8A3668CA4ABB2CC6838268179F"
    )
    other = (
        "040000008200E00074C5B7101A82E008000000007070639B9D82D6010000000000000000"
        "10000000690B7C3173632247A60664DDD8E0160E"
    )
    assert single.loc[test, "start"] == ts("2020-09-10 07:00")  # SUMMARY:test
    assert single.loc[test, "timezone"] == "Europe/Berlin"  # W. Europe Standard Time
    assert single.loc[other, "start"] == ts("2020-09-15 15:30")
    all_exdates = load(
        "outlook-windows-tzids-exdate-quoted-tzid.ics", "2020-07-01", "2021-04-01", strict=False
    ).events
    assert (all_exdates["status"] == "cancelled").sum() == 6


def test_the_broken_event_is_an_error_naming_file_and_uid_when_strict() -> None:
    with pytest.raises(IcsError) as info:
        load("outlook-windows-tzids-exdate-quoted-tzid.ics", "2020-07-01", "2020-08-01")
    message = str(info.value)
    assert "outlook-windows-tzids-exdate-quoted-tzid.ics" in message
    assert "040000008200E00074C5B7101A82E008000000008001F1896B63D3" in message
    assert "DTSTART" in message


def test_outlook_all_day_out_of_office_moved_from_friday_to_saturday() -> None:
    ev = load("outlook-allday-recurring-moved-instance.ics", "2021-04-01", "2021-05-01").events
    assert len(ev) == 9  # We/Fr in April 2021
    assert ev["all_day"].all() and set(ev["event_type"]) == {"out_of_office"}
    moved = ev[ev["start"] != ev["original_start"]]
    assert len(moved) == 1
    # Exchange writes the RECURRENCE-ID as midnight W. Europe time on the all-day slot's date
    assert moved.iloc[0]["original_start"] == ts("2021-04-09")
    assert moved.iloc[0]["start"] == ts("2021-04-10")


def test_outlook_reply_declined() -> None:
    imported = load("outlook-reply-declined.ics", "2021-06-01", "2021-07-01")
    ev = imported.events
    assert len(ev) == 1 and ev.iloc[0]["start"] == ts("2021-06-07 11:30")
    assert ev.iloc[0]["timezone"] == "Europe/Zurich"
    responses = imported.attendees.set_index("email")["response"].to_dict()
    assert responses == {"calendar@gmail.com": "declined", "calendar@microsoft.com": "none"}


def test_khal_attendees_with_mixed_partstat_and_double_space_folding() -> None:
    at = load("attendees-partstat-mixed-declined.ics", "2014-04-01", "2014-05-01").attendees
    got = at.set_index("email")[["role", "response"]].apply(tuple, axis=1).to_dict()
    assert got == {
        "hcabot@example.com": ("required", "tentative"),
        "iamboss@example.com": ("optional", "none"),  # NON-PARTICIPANT, DELEGATED
        "jdoe@example.com": ("required", "accepted"),
        "jqpublic@example.com": ("required", "accepted"),
        "another@example.com": ("required", "declined"),
        "tent@example.com": ("required", "tentative"),
    }


def test_apple_statuses_and_invalid_partstat() -> None:
    imported = load("apple-status-cancelled-invalid-partstat.ics", "2022-07-01", "2022-08-01")
    names = {  # UID → its SUMMARY in the file (titles are not imported)
        "31a1ffc9-9b76-465b-ae4a-cadb694c9d37": "Tentative",
        "F00F3710-BF4D-46D3-9A2C-1037AB24C6AC": "Confirmed",
        "8CAB46C5-669F-4249-B1AD-52BFA72F4E0A": "Cancelled",
        "99F615DE-82C6-4CEF-97B8-CD0D3E1EE0D3": "No Status",
    }
    assert "title" not in imported.events.columns
    ev = imported.events.assign(title=imported.events["ical_uid"].map(names)).set_index("title")
    assert ev["status"].to_dict() == {
        "Tentative": "tentative",
        "Confirmed": "confirmed",
        "Cancelled": "cancelled",
        "No Status": "confirmed",
    }
    # written in UTC; recurring-ical-events reads it in the calendar's X-WR-TIMEZONE
    assert ev.loc["Tentative", "start"] == ts("2022-07-04 23:00")
    assert ev.loc["Tentative", "timezone"] == "America/Vancouver"
    assert ev.loc["Confirmed", "timezone"] == "America/Vancouver"
    assert ev.loc["Confirmed", "start"] == ts("2022-07-05 16:00")
    assert ev.loc["Cancelled", "organizer"] == "cancelled@example.com"
    at = imported.attendees.set_index("email")["response"]
    assert at["confirmed@example.com"] == "none"  # PARTSTAT=CONFIRMED is not a response
    assert at["cancelled@example.com"] == "none"


def test_google_public_calendar_exdates_overrides_and_all_day() -> None:
    ev = load(
        "google-public-calendar-exdate-moved-attendees.ics", "2017-01-01", "2019-04-01"
    ).events
    assert sorted(ev.loc[ev["status"] == "cancelled", "original_start"]) == [
        ts("2017-11-21 17:00"),
        ts("2018-07-28 09:00"),
        ts("2018-08-25 09:00"),
        ts("2019-03-07 07:30"),
        ts("2019-03-08 07:30"),
    ]
    moved = ev[ev["start"] != ev["original_start"]].set_index("original_start")["start"]
    assert moved.to_dict() == {
        ts("2018-05-01 17:00"): ts("2018-05-02 17:00"),
        ts("2018-09-29 09:00"): ts("2018-09-22 09:00"),
        ts("2018-10-27 09:00"): ts("2018-10-20 09:00"),
        ts("2018-12-15 10:00"): ts("2018-12-08 10:00"),
        ts("2019-01-19 10:00"): ts("2019-01-27 10:00"),
        ts("2019-02-16 10:00"): ts("2019-02-24 10:00"),
    }
    assert ev["all_day"].sum() == 3
    assert set(ev["timezone"]) == {"Europe/Berlin"}


def test_quirky_file_is_imported_leniently_with_its_broken_events_listed() -> None:
    imported = load("quirky-malformed-mixed.ics", "2000-01-01", "2030-01-01", strict=False)
    uids = {p.uid for p in imported.problems}
    assert "f81b0b41a2e138ae0903daee0a966e1e" in uids  # DTSTART 20171032
    assert len(imported.events) > 0
    with pytest.raises(IcsError, match=r"quirky-malformed-mixed\.ics"):
        load("quirky-malformed-mixed.ics", "2000-01-01", "2030-01-01")


def test_folder_import_skips_and_lists_broken_events(tmp_path: Path) -> None:
    imported = load_ics(FIXTURES, start="2000-01-01", end="2030-01-01")
    assert len(imported.calendars) == 12  # one per file, named after it
    # (quirky's unparsable '&nbsp;' line is inside a DESCRIPTION, which is never read)
    assert len(imported.problems) == 4
    assert all(p.path.endswith(".ics") and p.uid for p in imported.problems)
    # two EXDATEs name no slot: 23 Jul 2016 is past the 15 Saturdays (COUNT=15 from 9 Apr),
    # 20 Oct 2017 is a Friday of a "second-last Monday" rule; listed, never cancellations
    exdates = sorted(p.message for p in imported.problems if p.message.startswith("EXDATE"))
    assert [m.split(" is no slot")[0] for m in exdates] == [
        "EXDATE 20160723T090000",
        "EXDATE 20171020",
    ]
    assert {Path(p.path).name for p in imported.problems} == {
        "outlook-windows-tzids-exdate-quoted-tzid.ics",
        "quirky-malformed-mixed.ics",
    }


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"this is not a calendar\n", "not an iCalendar file"),
        (b"BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:x\n", "truncated"),
        (b"", "not an iCalendar file"),
        (
            b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:u1\nDTSTART:2021XXXX\nEND:VEVENT\nEND:VCALENDAR\n",
            "u1",
        ),
        (
            b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:u2\nSUMMARY:no start\nEND:VEVENT\nEND:VCALENDAR\n",
            "no DTSTART",
        ),
    ],
)
def test_bad_files_are_clear_errors(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "bad.ics"
    path.write_bytes(content)
    with pytest.raises(IcsError) as info:
        load_ics(path, start="2021-01-01", end="2022-01-01")
    assert str(path) in str(info.value) and words in str(info.value)


def test_missing_path_and_empty_window(tmp_path: Path) -> None:
    with pytest.raises(IcsError, match="no such file or folder"):
        load_ics(tmp_path / "nope.ics")
    with pytest.raises(IcsError, match="must end after it starts"):
        load_ics(FIXTURES / "outlook-reply-declined.ics", start="2021-02-01", end="2021-01-01")


def test_calendar_owner_defaults_to_the_file_name(tmp_path: Path) -> None:
    target = tmp_path / "Ann@Example.com.ics"
    target.write_bytes((FIXTURES / "outlook-reply-declined.ics").read_bytes())
    imported = load_ics(target, start="2021-06-01", end="2021-07-01")
    assert imported.calendars == ["ann@example.com"]
    assert set(imported.events["calendar"]) == {"ann@example.com"}


# -- robustness and history ---------------------------------------------------------------------

REAL = sorted(FIXTURES.glob("*.ics"))


def _try(path: Path, strict: bool) -> None:
    try:
        imported = load_ics(path, calendar=ME, start="2014-01-01", end="2027-01-01", strict=strict)
    except IcsError:
        return
    assert list(imported.events.columns)[:3] == ["source", "calendar", "event_id"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=2000), strict=st.booleans())
def test_random_bytes_only_ever_raise_ics_errors(tmp_path: Path, data: bytes, strict: bool) -> None:
    path = tmp_path / "random.ics"
    path.write_bytes(data)
    _try(path, strict)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    which=st.sampled_from(REAL),
    cuts=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 40)), max_size=4),
    noise=st.binary(max_size=30),
    strict=st.booleans(),
)
def test_mutated_real_files_only_ever_raise_ics_errors(
    tmp_path: Path, which: Path, cuts: list[tuple[int, int]], noise: bytes, strict: bool
) -> None:
    data = bytearray(which.read_bytes())
    for at, length in cuts:  # delete some bytes and splice in noise
        at %= max(len(data), 1)
        data[at : at + length] = noise
    path = tmp_path / "mutated.ics"
    path.write_bytes(bytes(data))
    _try(path, strict)


def test_reimporting_a_newer_export_records_history(tmp_path: Path) -> None:
    """A newer export of the same calendar behaves like an incremental pull."""
    original = (FIXTURES / "recurring-moved-and-cancelled-overrides.ics").read_text()
    first = tmp_path / "export-1.ics"
    first.write_text(original)
    # a week later: the 21 July slot was moved to 10:00 and the 28 July slot deleted (EXDATE)
    newer = original.replace(
        "DTSTART;TZID=Europe/Berlin:20140630T070000",
        "DTSTART;TZID=Europe/Berlin:20140630T070000\nEXDATE;TZID=Europe/Berlin:20140728T070000",
    ).replace(
        "END:VCALENDAR",
        "BEGIN:VEVENT\nUID:event_rrule_recurrence_id\nSUMMARY:Arbeit\n"
        "RECURRENCE-ID;TZID=Europe/Berlin:20140721T070000\n"
        "DTSTART;TZID=Europe/Berlin:20140721T100000\nDTEND;TZID=Europe/Berlin:20140721T150000\n"
        "END:VEVENT\nEND:VCALENDAR",
    )
    second = tmp_path / "export-2.ics"
    second.write_text(newer)
    window = {"calendar": ME, "start": "2014-06-01", "end": "2014-09-01"}
    with Store(tmp_path / "c.sqlite") as store:
        for pull in load_ics(first, **window).pulls(ts("2014-06-20")):
            store.write_pull(pull)
        again = [store.write_pull(p) for p in load_ics(first, **window).pulls(ts("2014-06-21"))]
        assert sum(r.rows_written for r in again) == 0  # the same export again: nothing
        for pull in load_ics(second, **window).pulls(ts("2014-06-27")):
            store.write_pull(pull)
        changes = store.changes()
        events = store.events().set_index("original_start")
    assert sorted(changes["kind"]) == ["cancelled", "moved"]
    moved = changes[changes["kind"] == "moved"].iloc[0]
    assert (moved["old_start"], moved["new_start"]) == (
        ts("2014-07-21 05:00"),
        ts("2014-07-21 08:00"),
    )
    assert events.loc[ts("2014-07-28 05:00"), "status"] == "cancelled"


def test_demo_round_trip_through_ics_gives_the_same_pairs(tmp_path: Path) -> None:
    """Demo calendars → .ics files (series, EXDATEs, overrides) → import → the same analysis."""
    from cadence.analysis import analyze
    from cadence.sources import demo
    from cadence.sources.ics import write_ics

    as_of = ts("2026-06-30")
    org = demo.generate(40, seed=5, as_of=as_of)
    with Store(tmp_path / "c.sqlite") as store:
        for pull in org.pulls():
            store.write_pull(pull)
        events, attendees = store.events(), store.attendees()
        direct = analyze(store.frames(), org.roster, as_of=as_of)
    files = write_ics(events, attendees, tmp_path / "ics", until=org.window[1])
    assert len(files) == 40
    text = "".join(f.read_text() for f in files)
    assert "EXDATE;TZID=" in text and "RECURRENCE-ID;TZID=" in text and "RRULE:" in text
    imported = load_ics(tmp_path / "ics", start=org.window[0], end=org.window[1])
    assert imported.problems == [] and len(imported.events) == len(events)
    via_ics = analyze(imported, org.roster, as_of=as_of)
    cols = ["pair", "held", "cancelled", "declined", "moved", "upcoming", "past", "target_days"]
    pd.testing.assert_frame_equal(
        direct.pairs[cols].sort_values("pair", ignore_index=True),
        via_ics.pairs[cols].sort_values("pair", ignore_index=True),
    )
    assert direct.pairs["cancelled"].sum() > 0 and direct.pairs["moved"].sum() > 0


SYNTHETIC = """BEGIN:VCALENDAR
VERSION:2.0
{wr}BEGIN:VEVENT
UID:cancelled-series
DTSTART;TZID="Pacific Standard Time":20240102T090000
DTEND;TZID="Pacific Standard Time":20240102T093000
RRULE:FREQ=WEEKLY;COUNT=3
STATUS:CANCELLED
ORGANIZER:mailto:Ann@Example.com
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.com
END:VEVENT
BEGIN:VEVENT
UID:floating-with-room
DTSTART:20240105T100000
DTEND:20240105T103000
ORGANIZER:mailto:ann@example.com
ATTENDEE;PARTSTAT=DECLINED:mailto:bob@example.com
ATTENDEE;CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:room-1@resource.example.com
END:VEVENT
END:VCALENDAR
"""


@pytest.mark.parametrize(
    ("wr", "default", "floating_utc", "zone"),
    [
        ("X-WR-TIMEZONE:Europe/Berlin\n", "UTC", "2024-01-05 09:00", "Europe/Berlin"),
        ("", "America/New_York", "2024-01-05 15:00", "America/New_York"),
        ("", "UTC", "2024-01-05 10:00", "UTC"),
    ],
)
def test_cancelled_series_rooms_quoted_tzid_and_floating_times(
    tmp_path: Path, wr: str, default: str, floating_utc: str, zone: str
) -> None:
    path = tmp_path / "me@example.com.ics"
    path.write_text(SYNTHETIC.format(wr=wr))
    imported = load_ics(path, start="2024-01-01", end="2024-02-01", default_timezone=default)
    ev = imported.events.set_index("ical_uid")
    series = imported.events[imported.events["ical_uid"] == "cancelled-series"]
    assert len(series) == 3 and (series["status"] == "cancelled").all()
    assert set(series["timezone"]) == {"America/Los_Angeles"}  # quoted Windows TZID
    assert series["start"].min() == ts("2024-01-02 17:00")
    assert set(series["organizer"]) == {"ann@example.com"}
    assert ev.loc["floating-with-room", "start"] == ts(floating_utc)
    assert ev.loc["floating-with-room", "timezone"] == zone
    at = imported.attendees[imported.attendees["event_id"] == "floating-with-room"].set_index(
        "email"
    )
    assert bool(at.loc["room-1@resource.example.com", "is_resource"])
    assert at.loc["bob@example.com", "response"] == "declined"
    assert at.loc["ann@example.com", "role"] == "organizer"


def test_one_files_vtimezone_does_not_leak_into_the_next(tmp_path: Path) -> None:
    """Exchange's custom 'Pacific Standard Time' VTIMEZONE must not change how a later file,
    which has none, reads that TZID (icalendar caches custom zones process-wide)."""
    path = tmp_path / "me@example.com.ics"
    path.write_text(SYNTHETIC.format(wr="X-WR-TIMEZONE:Europe/Berlin\n"))
    before = load_ics(path, start="2024-01-01", end="2024-02-01").events
    load("outlook-windows-tzids-exdate-quoted-tzid.ics", "2020-07-01", "2020-08-01", strict=False)
    after = load_ics(path, start="2024-01-01", end="2024-02-01").events
    pd.testing.assert_frame_equal(before, after)
    assert after["start"].min() == ts("2024-01-02 17:00")  # 09:00 Pacific


def test_with_no_window_the_import_covers_the_files_own_span() -> None:
    """load_ics(files) then analyze(as_of=months ago) must see every 1:1 of that time."""
    path = FIXTURES / "outlook-teams-weekly-exdate-eastern.ics"
    whole = load_ics(path, calendar=ME)
    assert whole.span[0] == ts("2022-03-11")  # the series' first DTSTART, midnight UTC
    explicit = load_ics(path, calendar=ME, start="2022-03-01", end=whole.span[1])
    pd.testing.assert_frame_equal(whole.events, explicit.events)
    capped = load_ics(path, calendar=ME, max_years_back=1)  # never further back than asked
    assert capped.span[0] > ts("2025-01-01") and capped.events.empty
