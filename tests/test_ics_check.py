"""The checker (tests/ics_check.py) over every fixture, construct file and the corpus."""

from __future__ import annotations

import warnings
from pathlib import Path

import icalendar
import pandas as pd
import pytest

from tests.ics_check import ALLOWED, FileCheck, check_all, check_file, figures, reference

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "ics"
# recurring-ical-events' 105 test calendars take ~25 s more: checked in the slow test only
SLOW = DATA / "corpus" / "recurring-ical-events"
FOLDERS = [
    *(d for d in sorted(DATA.iterdir()) if d.is_dir() and d.name != "corpus"),
    *(d for d in sorted((DATA / "corpus").iterdir()) if d.is_dir() and d != SLOW),
    HERE.parents[1] / "shared" / "fixtures" / "ics",
]


def _assert_no_crash_no_disagreement(results: list[FileCheck]) -> None:
    got = figures(results)
    assert got["crashes"] == 0, [(r.path.name, r.detail) for r in results if r.outcome == "crash"]
    assert got["disagreements"] == 0, {
        r.path.name: r.disagreements for r in results if r.outcome == "disagrees"
    }
    checked = {f"{r.path.parent.name}/{r.path.name}": r.outcome for r in results}
    stale = [k for k in ALLOWED if k in checked and checked[k] != "allowed"]
    assert stale == [], f"ALLOWED entries whose file no longer differs: {stale}"


def test_every_file_reads_without_crash_and_agrees_with_the_reference() -> None:
    results = check_all(FOLDERS)
    fast = [p for p in DATA.rglob("*.ics") if SLOW not in p.parents]
    assert figures(results)["files"] == len(fast) + 12
    _assert_no_crash_no_disagreement(results)


@pytest.mark.slow
def test_the_recurring_ical_events_calendars_agree_with_the_reference() -> None:
    results = check_all([SLOW])
    assert len(results) == 105  # 95 from its 3.8.2 wheel + 10 from the repository (SOURCES.md)
    _assert_no_crash_no_disagreement(results)
    assert sorted(r.path.name for r in results if r.outcome == "allowed") == [
        "end_before_start_event.ics",
        "issue_132_swapped_start_and_end.ics",
        "issue_148_edge_case_1.ics",
    ]


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
