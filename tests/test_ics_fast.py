"""The fast reader of plain events (sources/ics/fast.py) gives exactly what icalendar gives.

Every fixture, construct and corpus file is imported with the fast reader on and forced
off: the same events and attendees (rows, values, dtypes) and the same problems,
or the same error. Plus hand-made files of the shapes the fast reader must either read
right or leave to icalendar (time zones, DST gaps, escapes, quotes, repeated properties).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cadence.errors import IcsError
from cadence.model import ATTENDEES, EVENTS
from cadence.sources.ics import fast, load_ics
from cadence.sources.ics.client import earliest_start

HERE = Path(__file__).resolve().parent
FILES = sorted((HERE / "data" / "ics").rglob("*.ics")) + sorted(
    (HERE.parents[1] / "shared" / "fixtures" / "ics").rglob("*.ics")
)


def _both(monkeypatch: pytest.MonkeyPatch, path: Path, **kwargs: object) -> None:
    got = []
    for enabled in (True, False):
        monkeypatch.setattr(fast, "ENABLED", enabled)
        try:
            imported = load_ics(path, calendar="me@example.com", **kwargs)  # type: ignore[arg-type]
            got.append((imported.events, imported.attendees, [str(p) for p in imported.problems]))
        except IcsError as exc:
            got.append((None, None, [str(exc)]))
    (ev, at, problems), (ev0, at0, problems0) = got
    assert problems == problems0
    if ev0 is None:
        assert ev is None
        return
    pd.testing.assert_frame_equal(_sorted(ev, EVENTS.key), _sorted(ev0, EVENTS.key))
    pd.testing.assert_frame_equal(_sorted(at, ATTENDEES.key), _sorted(at0, ATTENDEES.key))


def _sorted(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    """Rows in key order: the icalendar path itself yields some series' occurrences in an
    order that varies from run to run (ties of the final sort by start keep it)."""
    return frame.sort_values(list(key), kind="stable", ignore_index=True)


def _window(path: Path) -> dict[str, object]:
    """The checker's window: from the day before the file's first event, three years."""
    first = earliest_start([path]) or pd.Timestamp("2020-01-01", tz="UTC")
    start = max(first - pd.Timedelta(days=1), pd.Timestamp("1970-01-01", tz="UTC"))
    return {"start": start, "end": start + pd.DateOffset(years=3)}


def _with_plain_events(files: list[Path]) -> list[Path]:
    """The files the fast reader takes events from (for the others it changes nothing:
    the whole file goes through icalendar as before)."""
    out = []
    for path in files:
        plain = fast.split(path.read_bytes())
        if plain is not None and plain.index:
            out.append(path)
    return out


@pytest.mark.parametrize("strict", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_every_file_reads_the_same_with_and_without_the_fast_reader(
    monkeypatch: pytest.MonkeyPatch, strict: bool
) -> None:
    assert len(FILES) > 100
    taken = _with_plain_events(FILES)
    assert len(taken) > 30
    for path in taken:
        _both(monkeypatch, path, strict=strict, **_window(path))


def _event(*lines: str, uid: str = "e1") -> str:
    return (
        "BEGIN:VEVENT\r\n"
        + f"UID:{uid}\r\n"
        + "".join(f"{x}\r\n" for x in lines)
        + ("END:VEVENT\r\n")
    )


_ZONE = (
    "BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\nBEGIN:STANDARD\r\n"
    "DTSTART:16010101T030000\r\nTZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nEND:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
)
# (events, how many of them the fast reader takes)
SHAPES = {
    "utc": ([_event("DTSTART:20250106T090000Z", "DTEND:20250106T093000Z")], 1),
    "floating in the calendar zone, DST gap and overlap": (
        [
            _event("DTSTART:20250330T023000", "DTEND:20250330T033000", uid="gap"),
            _event("DTSTART:20251026T023000", "DTEND:20251026T033000", uid="overlap"),
        ],
        2,
    ),
    "TZID times in a DST gap and overlap (icalendar's fold 0)": (
        [
            _event(
                "DTSTART;TZID=Europe/Berlin:20250330T023000",
                "DTEND;TZID=Europe/Berlin:20250330T033000",
                uid="gap",
            ),
            _event(
                'DTSTART;TZID="Europe/Berlin":20251026T023000',
                "DTEND;TZID=America/New_York:20251025T230000",
                uid="overlap",
            ),
        ],
        2,
    ),
    "Windows zone without VTIMEZONE": (
        [_event("DTSTART;TZID=W. Europe Standard Time:20250601T090000")],
        1,
    ),
    "Windows zone its VTIMEZONE defines (+03:00 here)": (
        [_ZONE + _event("DTSTART;TZID=W. Europe Standard Time:20250601T090000")],
        0,
    ),
    "all-day, no DTEND, DTEND before DTSTART": (
        [
            _event("DTSTART;VALUE=DATE:20250601", uid="a"),
            _event("DTSTART:20250602T100000Z", uid="b"),
            _event("DTSTART:20250603T100000Z", "DTEND:20250603T090000Z", uid="c"),
        ],
        3,
    ),
    "people, status, busy status, stamps": (
        [
            _event(
                "DTSTART:20250106T090000Z",
                "DTEND:20250106T093000Z",
                "STATUS:CANCELLED",
                'ORGANIZER;CN="Boss, The":MAILTO:Boss@Example.com',
                "ATTENDEE;CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:room@example.com",
                'ATTENDEE;ROLE="OPT-PARTICIPANT";PARTSTAT=declined:mailto:me@example.com',
                "ATTENDEE;PARTSTAT=TENTATIVE:mailto:me@example.com",
                "attendee:not-an-address",
                "X-MICROSOFT-CDO-BUSYSTATUS:OOF",
                "CREATED:20240101T000000",
                "LAST-MODIFIED:20240102T000000Z",
                "SEQUENCE:3",
            )
        ],
        1,
    ),
    "what only icalendar reads": (
        [
            _event("DTSTART:20250106T090000Z", "STATUS:CANCEL\\,LED", uid="escape"),
            _event("DTSTART:20250106T090000Z", "CREATED:00001231T000000Z", uid="created"),
            _event("DTSTART:20250106T090000Z", "DURATION:PT30M", uid="duration"),
            _event("DTSTART:20250106T090000Z", "STATUS:CANCELLED", "STATUS:X", uid="twice"),
            _event("DTSTART:20250230T090000Z", uid="no-such-day"),
            _event("DTSTART;TZID=Mars/Olympus:20250106T090000", uid="unknown-zone"),
            _event("DTSTART;TZID=Europe/Berlin:20250106T090000Z", uid="zone-and-z"),
            _event("DTSTART:20250106T090000Z", "ATTENDEE;PARTSTAT=A,B:mailto:x@y.z", uid="list"),
            _event("DTSTART:20250106T090000Z", uid="dup"),
            _event("DTSTART:20250107T090000Z", "RECURRENCE-ID:20250106T090000Z", uid="dup"),
            _event("DTEND:20250106T090000Z", uid="no-start"),
        ],
        0,
    ),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("strict", [False, True])
def test_each_shape_reads_the_same_with_and_without_the_fast_reader(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shape: str, strict: bool
) -> None:
    events, taken = SHAPES[shape]
    path = tmp_path / "me@example.com.ics"
    path.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-TIMEZONE:Europe/Berlin\r\n"
        + "".join(events)
        + "END:VCALENDAR\r\n"
    )
    plain = fast.split(path.read_bytes())
    assert plain is not None and len(plain.index) == taken
    _both(monkeypatch, path, start="2024-12-01", end="2026-01-01", strict=strict)


def test_a_tzid_time_in_a_dst_gap_is_read_as_icalendar_reads_it(tmp_path: Path) -> None:
    """02:30 on 30 March 2025 does not exist in Berlin: icalendar's datetime (fold 0) has
    the offset before the change, +01:00, so 01:30 UTC; a floating 02:30 is shifted forward
    to 03:00 CEST, 01:00 UTC (both computed by hand)."""
    path = tmp_path / "me@example.com.ics"
    path.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-TIMEZONE:Europe/Berlin\r\n"
        + _event("DTSTART;TZID=Europe/Berlin:20250330T023000", uid="zoned")
        + _event("DTSTART:20250330T023000", uid="floating")
        + "END:VCALENDAR\r\n"
    )
    got = load_ics(path, start="2025-03-01", end="2025-04-01").events.set_index("ical_uid")
    assert got.loc["zoned", "start"] == pd.Timestamp("2025-03-30 01:30", tz="UTC")
    assert got.loc["floating", "start"] == pd.Timestamp("2025-03-30 01:00", tz="UTC")
