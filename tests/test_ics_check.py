"""The checker (tests/ics_check.py) over every fixture, construct file and the corpus."""

from __future__ import annotations

import warnings
from pathlib import Path

import icalendar
import pandas as pd

from tests.ics_check import check_all, check_file, figures, reference

HERE = Path(__file__).resolve().parent
FOLDERS = [HERE / "data" / "ics", HERE.parents[1] / "shared" / "fixtures" / "ics"]


def test_every_file_reads_without_crash_and_agrees_with_the_reference() -> None:
    results = check_all(FOLDERS)
    got = figures(results)
    assert got["files"] == len(list((HERE / "data" / "ics").rglob("*.ics"))) + 12
    assert got["crashes"] == 0, [(r.path.name, r.detail) for r in results if r.outcome == "crash"]
    assert got["disagreements"] == 0, {
        r.path.name: r.disagreements for r in results if r.disagreements
    }


def test_the_reference_expansion_matches_a_hand_computed_series(tmp_path: Path) -> None:
    """The reference itself, checked by hand: Mondays 09:00 Berlin (CEST) = 07:00 UTC."""
    path = tmp_path / "zoned.ics"
    path.write_text(
        "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:w\n"
        "DTSTART;TZID=Europe/Berlin:20240603T090000\nDTEND;TZID=Europe/Berlin:20240603T093000\n"
        "RRULE:FREQ=WEEKLY;COUNT=2\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    assert check_file(path).outcome == "clean"
    lo, hi = pd.Timestamp("2024-06-01", tz="UTC"), pd.Timestamp("2024-07-01", tz="UTC")
    expected = reference(path.read_bytes(), lo, hi, "UTC")["w"]
    assert {k[0] for k in expected} == {
        pd.Timestamp("2024-06-03 07:00", tz="UTC"),
        pd.Timestamp("2024-06-10 07:00", tz="UTC"),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = icalendar.Calendar.from_ical(path.read_bytes())
    assert len(cal.walk("VEVENT")) == 1
