"""docs/calibration.md is the spec: each named situation, built here from small hand-made
frames, gets exactly the status and score its row says (the test fails when either drifts).

Every situation is one pair, Ann (manager) and Bob (report), a weekly 1:1 on Mondays at 09:00
UTC from 6 April 2026 unless it says otherwise, read from Google Calendar (which dates each
cancelled instance: here 3 days ahead unless it says otherwise), analyzed as of Tue 30 June
2026 00:00 UTC with the default settings and a 13-week window (from 31 March).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from cadence.analysis import Analysis, analyze

from .helpers import frames, one_on_one_copies, ts, weekly_series, with_evidence

DOC = Path(__file__).resolve().parents[1] / "docs" / "calibration.md"
AS_OF = ts("2026-06-30")
ANN, BOB, CAT = "ann@example.com", "bob@example.com", "cat@example.com"
ROSTER = pd.DataFrame({"email": [ANN, BOB, CAT], "manager_email": [None, ANN, ANN]})
FIRST = "2026-04-06 09:00"  # slot k is 6 April + k weeks; slot 12 is Mon 29 June, 13 is 6 July

Frames = tuple[pd.DataFrame, pd.DataFrame]


def _weekly(
    count: int = 14, *, cancel=(), decline=(), skip=(), move=(), source="google", **kw
) -> tuple[list, list]:
    evs, ats = weekly_series(ANN, BOB, kw.pop("first", FIRST), count, skip=skip, **kw)
    for e in evs:
        k = int(e["event_id"].rsplit("_", 1)[1])
        e["source"] = source
        if k in cancel:
            e["status"] = "cancelled"
        if k in move:
            e["start"] += pd.Timedelta(days=1)
            e["end"] += pd.Timedelta(days=1)
    for a in ats:
        a["source"] = source
        k = int(a["event_id"].rsplit("_", 1)[1])
        if k in decline and a["email"] == BOB:
            a["response"] = "declined"
    return evs, ats


def _run(data: Frames, roster: pd.DataFrame | None = ROSTER, *, dated: bool = True) -> Analysis:
    """Analyze; with ``dated``, each cancelled Google copy says it was cancelled 3 days ahead."""
    events, attendees = data
    if dated:
        cancelled = (events["status"] == "cancelled") & (events["source"] == "google")
        when = (events["start"] - pd.Timedelta(days=3)).where(cancelled)
        events = events.assign(cancelled_after=when, cancelled_before=when)
    return analyze((events, attendees), roster, as_of=AS_OF)


def perfect() -> Analysis:
    return _run(frames(*_weekly()))


def one_miss() -> Analysis:
    return _run(frames(*_weekly(cancel=(12,))))


def three_in_a_row() -> Analysis:
    return _run(frames(*_weekly(cancel=(10, 11, 12))))


def every_other() -> Analysis:
    return _run(frames(*_weekly(cancel=(1, 3, 5, 7, 9, 11))))


def long_gap_booked() -> Analysis:
    return _run(frames(*_weekly(skip=(7, 8, 9, 10, 11, 12))))


def moved_a_lot() -> Analysis:
    return _run(frames(*_weekly(move=(1, 2, 3, 4, 5, 6, 7))))


def new_pair() -> Analysis:
    return _run(frames(*_weekly(3, first="2026-06-22 09:00")))


def monthly() -> Analysis:
    return _run(frames(*_weekly(4, every_days=30, rrule="FREQ=MONTHLY;BYMONTHDAY=6")))


def replaced() -> Analysis:
    evs, ats = _weekly(cancel=(11,))
    catch, catch_ats = one_on_one_copies(
        ANN, BOB, event_id="c", uid="catch-up", start="2026-06-24 14:00"
    )
    return _run(frames(evs + catch, ats + catch_ats))


def _late(source: str, evidence: bool) -> Analysis:
    data = frames(*_weekly(cancel=(4, 9), source=source))
    if evidence:  # each cancelled 2 h before its start, and the provider says when
        when = {
            (ANN, "weekly_4"): ("2026-05-04 07:00", "2026-05-04 07:00"),
            (ANN, "weekly_9"): ("2026-06-08 07:00", "2026-06-08 07:00"),
        }
        data = with_evidence(data, when)
    return _run(data, dated=False)


def late_known() -> Analysis:
    return _late("google", evidence=True)


def late_unknown() -> Analysis:
    return _late("ics", evidence=False)


def silent() -> Analysis:
    return _run(frames(*_weekly()))  # Ann meets Bob; Ann and Cat (her report) never meet


def ended() -> Analysis:
    return _run(frames(*_weekly(7)))


def drifting() -> Analysis:
    return _run(frames(*_weekly(skip=(8, 10, 12))))


def _away(evs: list, person: str, start: str, end: str) -> None:
    """An out-of-office event on ``person``'s own calendar."""
    row = dict(evs[0])
    row.update(
        calendar=person,
        organizer=person,
        event_id=f"away-{start}",
        ical_uid=f"away-{start}",
        series_id=None,
        recurrence=None,
        original_start=ts(start),
        start=ts(start),
        end=ts(end),
        status="confirmed",
        event_type="out_of_office",
        timezone="UTC",
    )
    evs.append(row)


def excused_while_away() -> Analysis:
    evs, ats = _weekly(cancel=(7, 8))  # 25 May and 1 June
    _away(evs, BOB, "2026-05-25", "2026-06-06")
    return _run(frames(evs, ats))


def on_long_leave() -> Analysis:
    evs, ats = _weekly(cancel=tuple(range(2, 14)))  # every slot from 20 April
    _away(evs, BOB, "2026-04-20", "2026-07-13")
    return _run(frames(evs, ats))


SITUATIONS: dict[str, tuple[Callable[[], Analysis], str]] = {
    # name in the doc: (builder, whose pair: the report)
    "perfect weekly": (perfect, BOB),
    "one miss in 13, the latest": (one_miss, BOB),
    "three in a row cancelled": (three_in_a_row, BOB),
    "every other cancelled": (every_other, BOB),
    "long gap, but booked": (long_gap_booked, BOB),
    "moved a lot, but held": (moved_a_lot, BOB),
    "new pair, 2 meetings": (new_pair, BOB),
    "monthly cadence": (monthly, BOB),
    "a miss replaced by a catch-up": (replaced, BOB),
    "two late cancellations, known (Google)": (late_known, BOB),
    "two cancellations, timing unknown (.ics)": (late_unknown, BOB),
    "silent roster pair": (silent, CAT),
    "series ended": (ended, BOB),
    "drifting to every other week": (drifting, BOB),
    "two cancelled while the report was away": (excused_while_away, BOB),
    "report on a 12-week leave": (on_long_leave, BOB),
}


def _doc_rows() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and re.fullmatch(r"\*\*.+\*\*", cells[0]):
            rows[cells[0].strip("*")] = (cells[1], cells[2])
    return rows


def test_the_doc_names_every_situation_and_no_other() -> None:
    assert 12 <= len(SITUATIONS) <= 16
    assert set(_doc_rows()) == set(SITUATIONS)


@pytest.mark.parametrize("name", list(SITUATIONS))
def test_each_situation_gets_the_status_and_score_the_doc_says(name: str) -> None:
    build, report = SITUATIONS[name]
    pair = build().pairs.set_index("report").loc[report]
    status, score = _doc_rows()[name]
    assert str(pair["status"]).replace("_", " ") == status, list(pair["reasons"])
    assert f"{pair['health_score']:g}" == score, list(pair["reasons"])
