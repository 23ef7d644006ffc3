"""Invariants of the analysis on generated organisations (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.analysis import Analysis, AnalysisSettings, analyze, parse_window
from cadence.errors import CoverageError
from cadence.sources import demo

BASE = pd.Timestamp("2026-06-30", tz="UTC")
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])

orgs = st.builds(
    lambda seed, people, weeks, shift: demo.generate(
        people, seed=seed, weeks=weeks, as_of=BASE + pd.Timedelta(hours=shift)
    ),
    seed=st.integers(0, 10**6),
    people=st.integers(3, 24),
    weeks=st.integers(3, 20),
    shift=st.integers(-24 * 60, 0),
)
windows = st.sampled_from(["4w", "13w", "90d"])
use_roster = st.booleans()


def run(org: demo.DemoOrg, frames, window: str, roster: bool) -> Analysis:
    """The analysis of ``frames``, over ``window`` or the whole history when that is shorter
    (a longer window is refused: see the test below)."""
    if parse_window(window) > pd.Timedelta(weeks=org.weeks):
        window = f"{org.weeks}w"
    return analyze(frames, org.roster if roster else None, as_of=org.as_of, window=window)


@SETTINGS
@given(org=orgs, extra=st.integers(1, 30))
def test_a_window_longer_than_the_history_is_refused(org: demo.DemoOrg, extra: int) -> None:
    too_long = f"{org.weeks * 7 + extra}d"
    with pytest.raises(CoverageError, match="not covered by the data"):
        analyze(org, org.roster, as_of=org.as_of, window=too_long)
    later = org.as_of + pd.Timedelta(weeks=org.ahead_weeks, days=extra)
    with pytest.raises(CoverageError):
        analyze(org, org.roster, as_of=later, window="1w")


def same(a: Analysis, b: Analysis, ignore: tuple[str, ...] = ()) -> None:
    for name in ("occurrences", "pairs", "weekly"):
        left = getattr(a, name).drop(columns=[c for c in ignore if c in getattr(a, name)])
        right = getattr(b, name).drop(columns=[c for c in ignore if c in getattr(b, name)])
        pd.testing.assert_frame_equal(left, right, obj=name)


@SETTINGS
@given(org=orgs, window=windows, roster=use_roster)
def test_outcome_counts_add_up(org: demo.DemoOrg, window: str, roster: bool) -> None:
    result = run(org, org, window, roster)
    occ, pairs = result.occurrences, result.pairs
    assert occ["outcome"].value_counts().sum() == len(occ)
    assert (pairs["past"] == pairs["held"] + pairs["cancelled"] + pairs["declined"]).all()
    per_pair = occ.groupby("pair").size()
    future = (occ["start"] >= result.as_of).groupby(occ["pair"]).sum()
    with_meetings = pairs.set_index("pair").loc[per_pair.index]
    assert (with_meetings["past"] + future == per_pair).all()
    for flag in ("moved", "late_cancelled", "replaced", "shortened"):
        assert (pairs[flag] <= pairs["past"]).all()
    # a cancellation is known late, known on time, or unknown: never more than there are
    assert (pairs["late_cancelled"] + pairs["late_unknown"] <= pairs["cancelled"]).all()
    assert str(occ["late_cancel"].dtype) == "boolean"
    assert occ.loc[occ["late_cancel"].isna(), "outcome"].eq("cancelled").all()
    assert (pairs["days_since_last_held"].dropna() >= 0).all()
    assert str(pairs["days_since_last_held"].dtype) == "Int64"
    weekly = result.weekly.groupby("pair")["scheduled"].sum()
    assert (weekly == per_pair.reindex(weekly.index)).all()


@SETTINGS
@given(org=orgs, window=windows, roster=use_roster, seed=st.integers(0, 2**32 - 1))
def test_shuffling_the_rows_changes_nothing(
    org: demo.DemoOrg, window: str, roster: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    shuffled = (
        org.events.iloc[rng.permutation(len(org.events))],
        org.attendees.iloc[rng.permutation(len(org.attendees))],
    )
    same(run(org, org, window, roster), run(org, shuffled, window, roster))


@SETTINGS
@given(org=orgs, window=windows, roster=use_roster, pick=st.integers(0, 10**6))
def test_duplicating_a_calendar_copy_changes_nothing(
    org: demo.DemoOrg, window: str, roster: bool, pick: int
) -> None:
    """The same calendar read twice (say from the API and from an .ics export)."""
    calendar = org.calendars[pick % len(org.calendars)]
    ev = org.events[org.events["calendar"] == calendar].assign(source="ics")
    at = org.attendees[org.attendees["calendar"] == calendar].assign(source="ics")
    doubled = (pd.concat([org.events, ev]), pd.concat([org.attendees, at]))
    same(
        run(org, org, window, roster),
        run(org, doubled, window, roster),
        ignore=("copies", "source"),
    )


@SETTINGS
@given(org=orgs, window=windows, roster=use_roster)
def test_score_in_range_and_status_follows_the_bands(
    org: demo.DemoOrg, window: str, roster: bool
) -> None:
    result = run(org, org, window, roster)
    s: AnalysisSettings = result.settings
    pairs = result.pairs
    assert pairs["health_score"].between(0, 100).all()
    band = np.select(
        [pairs["health_score"] >= s.healthy_min, pairs["health_score"] >= s.watch_min],
        ["healthy", "watch"],
        "at_risk",
    )
    lapsed = pairs["status"] == "lapsed"
    assert (pairs.loc[~lapsed, "status"].astype(str) == band[~lapsed.to_numpy()]).all()
    assert (pairs.loc[lapsed, "health_score"] < s.watch_min).all()
    # the rules: a long silence or a streak of misses is never better than at risk
    since = pairs["days_since_last_held"].astype("Int64").fillna(pairs["days_observed"])
    silent = (since.astype(float) / pairs["target_days"]) >= s.lapsed_factor
    flagged = silent | pairs["last_slots_missed"]
    assert pairs.loc[flagged, "status"].isin(["at_risk", "lapsed"]).all()
    assert (pairs.loc[silent & ~pairs["on_the_books"], "status"] == "lapsed").all()
    assert (pairs["reasons"].map(len)[pairs["health_score"] < 99.5] > 0).all()
