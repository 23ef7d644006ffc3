"""The summary: one place that adds the figures up, and one way to write each of them."""

from __future__ import annotations

import pandas as pd
import pytest

import cadence
from cadence.analysis import display, summary
from cadence.analysis.summary import Summary

from .helpers import frames, ts, weekly_series, with_evidence

ANN, BOB = "ann@example.com", "bob@example.com"
AS_OF = ts("2026-06-15")


def test_a_future_cancellation_is_not_a_past_one() -> None:
    """Weekly from Mon 18 May: 18 May held, 25 May cancelled, 1 and 8 June held, 15 June
    09:00 (after as_of, 15 June 00:00) already cancelled, 22 June scheduled."""
    evs, ats = weekly_series(ANN, BOB, "2026-05-18 09:00", 6)
    gone = {"weekly_1", "weekly_4"}
    evs = [{**e, "status": "cancelled"} if e["event_id"] in gone else e for e in evs]
    result = cadence.analyze(frames(evs, ats), as_of=AS_OF)
    s = summary(result)
    assert (s.past, s.held, s.cancelled, s.declined, s.upcoming) == (4, 3, 1, 0, 1)
    # the occurrences do hold two cancellations: one past, one ahead of its slot
    assert (result.occurrences["outcome"] == "cancelled").sum() == 2
    assert s.lines()[1].startswith("past 1:1 slots: 4 · held 3 · cancelled 1 (")


def test_summary_is_the_sum_of_the_pairs() -> None:
    org = cadence.load_demo(40, seed=2, as_of="2026-06-30")
    result = cadence.analyze(org, org.roster, as_of="2026-06-30")
    s, p = summary(result), result.pairs
    for field in ("past", "held", "cancelled", "declined", "moved", "late_unknown", "upcoming"):
        assert getattr(s, field) == p[field].sum(), field
    assert s.expected == round(p["expected"].sum(), 1)
    counts = p["status"].value_counts()
    assert (s.lapsed, s.at_risk, s.watch, s.healthy) == tuple(
        counts[k] for k in ("lapsed", "at_risk", "watch", "healthy")
    )
    assert s.pairs == len(p) == s.lapsed + s.at_risk + s.watch + s.healthy


def test_lines_say_unknown_lateness_in_words_never_zero_percent() -> None:
    s = Summary(
        pairs=2,
        people=3,
        past=20,
        held=16,
        cancelled=4,
        declined=0,
        moved=2,
        late_cancelled=0,
        late_unknown=4,
        late_unknown_sources="ics, graph",
        upcoming=2,
        expected=17.5,
        gap_ratio=1.0,
        median_gap_days=7.0,
        median_target_days=7.0,
        lapsed=0,
        at_risk=1,
        watch=0,
        healthy=1,
    )
    assert s.lines() == [
        "1:1s held: 16 of 17.5 expected (91 %)",  # 16 / 17.5 = 0.914
        "past 1:1 slots: 20 · held 16 · cancelled 4 (late: not known from .ics / Outlook data)"
        " · declined 0 · moved 2",
        "2 pairs: 0 lapsed · 1 at risk · 0 to watch · 1 healthy",
    ]
    assert s.late_cancel_rate is None
    assert s.cards()["late_cancel_rate"] is None and s.cards()["cancellation_rate"] == 0.2
    known = Summary(**{**s.__dict__, "late_cancelled": 1, "late_unknown": 3})
    assert known.late_text() == "at least 5 % late; 3 not known from .ics / Outlook data"
    assert known.late_cancel_rate == 0.05


def test_known_late_cancellations_are_a_share_of_past_slots() -> None:
    evs, ats = weekly_series(ANN, BOB, "2026-05-18 09:00", 4)  # 18, 25 May; 1, 8 June
    evs = [{**e, "status": "cancelled"} if e["event_id"] == "weekly_1" else e for e in evs]
    late = {(ANN, "weekly_1"): ("2026-05-25 07:00", "2026-05-25 07:00")}
    s = summary(cadence.analyze(with_evidence(frames(evs, ats), late), as_of=AS_OF))
    assert (s.cancelled, s.late_cancelled, s.late_unknown) == (1, 1, 0)
    assert s.late_text() == "25 % late"  # 1 of 4 past slots


@pytest.mark.parametrize(
    ("value", "text"), [(6.5, "6.5"), (6.0, "6"), (6.46, "6.5"), (12.94, "12.9"), (0.04, "0")]
)
def test_fractional_counts_are_written_one_way(value: float, text: str) -> None:
    assert display.count_text(value) == text


def test_days_since_are_whole_days_rounded_down() -> None:
    assert display.whole_days(pd.Series([69.5, 69.99, 70.0])).tolist() == [69, 69, 70]
