"""The .ics source is bounded: only regular files, a size cap, no runaway series (issue 15)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from cadence.errors import IcsError
from cadence.sources.ics import load_ics

WINDOW = {"start": "2024-01-01", "end": "2024-04-01", "calendar": "me@example.com"}


def ics(*events: str) -> str:
    return "BEGIN:VCALENDAR\nVERSION:2.0\n" + "".join(events) + "END:VCALENDAR\n"


def event(uid: str, *lines: str, start: str = "20240102T090000Z") -> str:
    body = "".join(f"{line}\n" for line in lines)
    end = start[:9] + "0930" + start[13:]
    return f"BEGIN:VEVENT\nUID:{uid}\nDTSTART:{start}\nDTEND:{end}\n{body}END:VEVENT\n"


def test_dev_zero_is_refused_in_one_line() -> None:
    with pytest.raises(IcsError, match=r"/dev/zero: is a device, not an \.ics file"):
        load_ics("/dev/zero", **WINDOW)


def test_a_fifo_is_refused_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.ics"
    os.mkfifo(fifo)  # opening it would block forever: nobody writes
    with pytest.raises(IcsError, match=r"pipe\.ics: is a pipe \(FIFO\)"):
        load_ics(fifo, **WINDOW)
    good = tmp_path / "good.ics"
    good.write_text(ics(event("ok")))
    imported = load_ics(tmp_path, **WINDOW)  # in a folder: listed, the rest imported
    assert imported.events["ical_uid"].tolist() == ["ok"]
    assert [Path(p.path).name for p in imported.problems] == ["pipe.ics"]


def test_a_folder_named_like_a_file_inside_a_folder(tmp_path: Path) -> None:
    (tmp_path / "odd.ics").mkdir()
    (tmp_path / "real.ics").write_text(ics(event("ok")))
    imported = load_ics(tmp_path, **WINDOW)
    assert imported.events["ical_uid"].tolist() == ["ok"]
    assert [str(p) for p in imported.problems] == [
        f"{tmp_path / 'odd.ics'}: is a folder, not an .ics file; give a calendar file"
    ]


def test_size_cap(tmp_path: Path) -> None:
    path = tmp_path / "big.ics"
    padding = "X-PAD:" + "x" * 70 + "\n"
    path.write_text(ics(event("ok", *([padding.strip()] * 2_000))))  # 2,000 × 77 bytes
    assert 0.14 < path.stat().st_size / 2**20 < 0.16
    with pytest.raises(IcsError, match=r"more than \[ics\] max_file_mb = 0.1"):
        load_ics(path, max_file_mb=0.1, **WINDOW)
    assert len(load_ics(path, max_file_mb=0.2, **WINDOW).events) == 1


@pytest.mark.parametrize(
    ("freq", "unit"), [("SECONDLY", "second"), ("MINUTELY", "minute"), ("HOURLY", "hour")]
)
def test_sub_daily_rules_are_refused(tmp_path: Path, freq: str, unit: str) -> None:
    path = tmp_path / "fast.ics"
    path.write_text(ics(event("fast", f"RRULE:FREQ={freq}"), event("ok")))
    imported = load_ics(path, **WINDOW)  # strict (one file) too: listed, not fatal
    assert imported.events["ical_uid"].tolist() == ["ok"]
    assert imported.problems[0].uid == "fast"
    assert f"no 1:1 repeats every {unit}" in imported.problems[0].message


def test_count_ten_million_is_bounded_by_the_window_and_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "count.ics"
    path.write_text(ics(event("daily", "RRULE:FREQ=DAILY;COUNT=10000000")))
    ev = load_ics(path, **WINDOW).events
    # daily from 2 Jan 09:00 to the window's end (1 Apr): 2 Jan … 31 Mar = 90 days
    assert len(ev) == 90
    capped = load_ics(path, max_occurrences_per_series=10, **WINDOW)
    assert len(capped.events) == 10
    assert "more than 10 occurrences" in capped.problems[0].message
    assert capped.events["start"].max() == pd.Timestamp("2024-01-11 09:00", tz="UTC")


def test_a_hundred_thousand_exdates(tmp_path: Path) -> None:
    """100,000 EXDATEs (one per minute, only 9 of them slots): read in linear time."""
    start = pd.Timestamp("2024-01-02 09:00", tz="UTC")
    minutes = [start + pd.Timedelta(minutes=i) for i in range(0, 100_000)]
    # every minute from 2 Jan 09:00 for ~69 days: the daily 09:00 slots of 2 Jan … 10 Jan
    # are among them (i = 0, 1440, …); the other 99,9xx name no slot
    values = ",".join(m.strftime("%Y%m%dT%H%M%SZ") for m in minutes)
    path = tmp_path / "exdates.ics"
    path.write_text(ics(event("daily", "RRULE:FREQ=DAILY;COUNT=20", f"EXDATE:{values}")))
    imported = load_ics(path, **WINDOW)
    ev = imported.events.sort_values("start")
    slots_covered = len([i for i in range(100_000) if i % 1440 == 0])  # 70 days of minutes
    assert len(ev) == 20
    cancelled = ev[ev["status"] == "cancelled"]
    assert len(cancelled) == min(20, slots_covered) == 20
    assert "is no slot of the series" in imported.problems[0].message
