"""One hand-written file per iCalendar construct real clients write (tests/data/ics/constructs).

Every expected occurrence below was computed by hand from the file (UTC offsets noted).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cadence.errors import IcsError
from cadence.sources.ics import load_ics

HERE = Path(__file__).resolve().parent / "data" / "ics" / "constructs"
ME = "me@example.com"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def read(name: str, strict: bool = True, **kw):  # type: ignore[no-untyped-def]
    return load_ics(
        HERE / name, calendar=ME, start="2023-12-01", end="2024-12-31", strict=strict, **kw
    )


def rows(
    events: pd.DataFrame, uid: str
) -> list[tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp, str]]:
    one = events[events["ical_uid"] == uid].sort_values("original_start")
    return list(zip(one["original_start"], one["start"], one["end"], one["status"], strict=True))


@pytest.mark.parametrize("strict", [True, False])
def test_two_rrules_in_one_vevent(strict: bool) -> None:
    ev = read("two-rrules.ics", strict).events
    # the same rule twice: Mondays 10:00 Berlin (CET, +1) = 09:00 UTC, three of them, once each
    assert [r[1] for r in rows(ev, "same-rule-twice")] == [
        ts("2024-01-08 09:00"),
        ts("2024-01-15 09:00"),
        ts("2024-01-22 09:00"),
    ]
    # MO×2 and TH×2 from Monday 8 Jan: the union, 8, 11, 15, 18 Jan
    assert [r[1] for r in rows(ev, "monday-and-thursday")] == [
        ts(f"2024-01-{d} 09:00") for d in ("08", "11", "15", "18")
    ]
    assert ev["event_id"].is_unique and "title" not in ev.columns  # SUMMARY is never read


def test_rdate_only_series_with_datetime_date_and_period_values() -> None:
    imported = read("rdate-only.ics")
    ev = imported.events
    # 14:00 New York: 5 Mar EST (-5) = 19:00 UTC; 12 and 19 Mar EDT (-4) = 18:00 UTC;
    # the EXDATE cancels the 12 Mar slot
    assert rows(ev, "rdate-datetime") == [
        (ts("2024-03-05 19:00"), ts("2024-03-05 19:00"), ts("2024-03-05 19:30"), "confirmed"),
        (ts("2024-03-12 18:00"), ts("2024-03-12 18:00"), ts("2024-03-12 18:30"), "cancelled"),
        (ts("2024-03-19 18:00"), ts("2024-03-19 18:00"), ts("2024-03-19 18:30"), "confirmed"),
    ]
    days = ev[ev["ical_uid"] == "rdate-date"]
    assert sorted(days["start"]) == [ts("2024-04-01"), ts("2024-04-08"), ts("2024-04-15")]
    assert days["all_day"].all() and ((days["end"] - days["start"]) == pd.Timedelta(days=1)).all()
    # PERIOD values carry their own end (an end time, or a duration)
    assert [r[2] for r in rows(ev, "rdate-period")] == [
        ts("2024-05-01 09:30"),
        ts("2024-05-08 10:00"),
        ts("2024-05-15 09:45"),
    ]
    assert ev["event_id"].is_unique and (ev["series_id"] == ev["ical_uid"]).all()
    assert imported.problems == []


def test_exdates_that_are_no_slots_are_listed_not_cancelled() -> None:
    imported = read("exdate-not-slots.ics")
    # weekly Mondays 09:00 Berlin (CEST, +2) = 07:00 UTC: 3, 10, 17, 24 June
    assert [(r[0], r[3]) for r in rows(imported.events, "zoned-weekly")] == [
        (ts("2024-06-03 07:00"), "confirmed"),
        (ts("2024-06-10 07:00"), "cancelled"),  # EXDATE 09:00 Berlin: a slot
        (ts("2024-06-17 07:00"), "confirmed"),  # EXDATE 09:00Z is 11:00 Berlin: no slot
        (ts("2024-06-24 07:00"), "confirmed"),
    ]
    until = imported.events[imported.events["ical_uid"] == "until-before-dtstart"]
    assert (until["status"] != "cancelled").all()  # UNTIL before DTSTART: 10 Jun is no slot
    listed = {p.uid: p.message for p in imported.problems}
    assert "20240617T090000Z" in listed["zoned-weekly"] and "20240605" in listed["zoned-weekly"]
    assert "20240610T120000Z" in listed["until-before-dtstart"]
    assert all(str(HERE / "exdate-not-slots.ics") == p.path for p in imported.problems)


def test_exdate_value_date_on_a_timed_series_cancels_that_days_slot() -> None:
    ev = read("exdate-date-on-timed-series.ics").events
    # Mondays 15:00 Berlin (CEST) = 13:00 UTC from 2 Sep; EXDATE;VALUE=DATE:20240909
    assert [(r[0], r[3]) for r in rows(ev, "korganizer-weekly")] == [
        (ts("2024-09-02 13:00"), "confirmed"),
        (ts("2024-09-09 13:00"), "cancelled"),  # the timed slot, not an all-day row
        (ts("2024-09-16 13:00"), "confirmed"),
        (ts("2024-09-23 13:00"), "confirmed"),
    ]
    assert not ev["all_day"].any()


def test_range_thisandfuture_keeps_every_slot_its_own_identity() -> None:
    ev = read("this-and-future.ics").events
    mondays = [
        ts(f"2024-{d} 10:00") for d in ("01-01", "01-08", "01-15", "01-22", "01-29", "02-05")
    ]
    got = rows(ev, "moved-from-the-third-on")
    assert [r[0] for r in got] == mondays  # six slots, six identities
    moved = pd.Timedelta(hours=4)  # from 15 Jan on: 14:00 instead of 10:00
    assert [r[1] for r in got] == mondays[:2] + [m + moved for m in mondays[2:]]
    assert ev["event_id"].is_unique and len(ev) == 6


def test_several_vcalendars_in_one_file() -> None:
    ev = read("several-vcalendars.ics").events
    assert sorted(ev["ical_uid"]) == ["in-the-first", "in-the-second"]


def test_floating_times_in_the_calendars_zone() -> None:
    imported = read("floating-with-zone-name.ics")
    ev = imported.events
    # 09:00 Chicago: 10 Jan CST (-6) = 15:00 UTC
    assert rows(ev, "floating-single")[0][1] == ts("2024-01-10 15:00")
    # weekly 09:00 Chicago across the 10 March change: 15:00 then 14:00 UTC
    assert [r[1] for r in rows(ev, "floating-weekly-across-dst")] == [
        ts("2024-03-05 15:00"),
        ts("2024-03-12 14:00"),
    ]
    assert set(ev["timezone"]) == {"America/Chicago"}
    assert (ev["status"] == "confirmed").all()  # EXDATE 15:00Z is 10:00 Chicago: no slot
    assert [p.uid for p in imported.problems] == ["floating-weekly-across-dst"]


def test_windows_and_olson_zone_names() -> None:
    ev = read("windows-and-olson-zones.ics").events.set_index("ical_uid")
    assert ev.loc["windows-name", "start"] == ts("2024-07-10 07:00")  # CEST +2
    assert ev.loc["windows-name", "timezone"] == "Europe/Berlin"
    assert ev.loc["olson-name", "start"] == ts("2024-07-10 00:00")  # JST +9


@pytest.mark.parametrize("strict", [True, False])
def test_odd_vtimezone_offset_and_invalid_created_are_problems_not_rejections(strict: bool) -> None:
    imported = read("odd-vtimezone-offset.ics", strict)
    ev = imported.events
    assert ev["start"].tolist() == [ts("2024-02-05 05:00")]  # 10:30 IST (+5:30)
    assert ev["created"].isna().all()
    messages = " | ".join(p.message for p in imported.problems)
    assert "+5328" in messages and "Asia/Kolkata" in messages and "CREATED" in messages


def test_all_day_series_across_dst_stays_whole_days() -> None:
    ev = read("all-day-across-dst.ics").events
    assert sorted(ev["start"]) == [ts("2024-03-08"), ts("2024-03-15"), ts("2024-03-22")]
    assert ev["all_day"].all() and ((ev["end"] - ev["start"]) == pd.Timedelta(days=1)).all()


def test_overrides_whose_master_is_missing() -> None:
    ev = read("orphan-overrides.ics").events
    assert rows(ev, "no-master") == [
        (ts("2024-01-10 10:00"), ts("2024-01-10 12:00"), ts("2024-01-10 12:30"), "confirmed"),
        (ts("2024-01-17 10:00"), ts("2024-01-17 10:00"), ts("2024-01-17 10:30"), "confirmed"),
    ]
    assert (ev["series_id"] == "no-master").all()


def test_cancelled_instance_sent_as_its_own_vevent() -> None:
    ev = read("cancelled-instance-vevent.ics").events
    # Tuesdays 09:00 London (BST, +1) = 08:00 UTC
    assert [(r[0], r[3]) for r in rows(ev, "weekly-one-cancelled")] == [
        (ts("2024-09-03 08:00"), "confirmed"),
        (ts("2024-09-10 08:00"), "cancelled"),
        (ts("2024-09-17 08:00"), "confirmed"),
    ]


def test_rules_the_expander_cannot_read_strict_and_lenient() -> None:
    with pytest.raises(IcsError) as info:
        read("unexpandable-rules.ics")
    assert "unexpandable-rules.ics" in str(info.value) and "misspelt-until" in str(info.value)
    assert "UNTL" in str(info.value)
    imported = read("unexpandable-rules.ics", strict=False)
    assert imported.events["ical_uid"].tolist() == ["fine"]  # kept despite its bad DTSTAMP
    by_uid: dict[str | None, list[str]] = {}
    for p in imported.problems:
        by_uid.setdefault(p.uid, []).append(p.message)
    assert "UNTL" in by_uid["misspelt-until"][0]
    assert "no 1:1 repeats every minute" in by_uid["every-minute"][0]
    assert "DTSTAMP" in by_uid["fine"][0]
