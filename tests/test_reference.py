"""The engine's integer-coded kernels agree with the readable reference (tests/reference.py).

On generated organisations (demo orgs of random size, seed and as-of, some calendars read
twice, random cancellation evidence) and on hand-made edge cases: the same occurrences
(outcome, who declined, who cancelled, late or not or unknown, evidence, copies), the same
per-pair counts, and for every pair the same score, status and reasons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cadence.analysis import AnalysisSettings, analyze
from cadence.sources import demo

from . import reference
from .helpers import attendee, frames, one_on_one_copies, ts, weekly_series, with_evidence

BASE = pd.Timestamp("2026-06-30", tz="UTC")
ANN, BOB, CAT, DAN = "ann@example.com", "bob@example.com", "cat@example.com", "dan@example.com"
ROSTER = pd.DataFrame({"email": [ANN, BOB, CAT, DAN], "manager_email": [None, ANN, ANN, BOB]})
OCC_COLUMNS = [
    "pair",
    "manager",
    "report",
    "relation",
    "person_a",
    "person_b",
    "start",
    "end",
    "outcome",
    "moved",
    "late_cancel",
    "declined_by",
    "cancelled_by",
    "cancelled_after",
    "cancelled_before",
    "organizer",
    "source",
    "copies",
]
COUNTS = [
    "past",
    "held",
    "cancelled",
    "declined",
    "excused",
    "moved",
    "late_cancelled",
    "late_unknown",
]


def _plain(value: object) -> object:
    """Missing of any kind → None; numpy scalars → Python; so rows compare as values."""
    if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _rows(frame: pd.DataFrame) -> list[tuple]:
    keyed = frame.sort_values(["ical_uid", "original_start"], ignore_index=True)
    return [
        tuple(_plain(v) for v in row)
        for row in keyed[["ical_uid", "original_start", *OCC_COLUMNS]].astype(object).to_numpy()
    ]


def agree(
    events: pd.DataFrame,
    attendees: pd.DataFrame,
    roster: pd.DataFrame | None,
    as_of: pd.Timestamp,
    config: AnalysisSettings,
) -> None:
    engine = analyze((events, attendees), roster, as_of=as_of, settings=config)
    ref = reference.occurrences(events, attendees, roster, as_of, config)
    assert len(engine.occurrences) == len(ref)
    if len(ref):
        for got, want in zip(_rows(engine.occurrences), _rows(ref), strict=True):
            assert got == want, (got, want)
    every = reference.occurrences(events, attendees, roster, as_of, config, in_window=False)
    if len(every):
        counts = reference.pair_counts(every, as_of, config)
        met = engine.pairs[~engine.pairs["never_met"]]
        met = met.set_index(met["pair"].astype(object))
        assert set(met.index) == set(counts.index)
        for pair in counts.index:
            got = [int(met.loc[pair, c]) for c in COUNTS]
            assert got == [int(counts.loc[pair, c]) for c in COUNTS], pair
    for row in engine.pairs.to_dict("records"):
        score, status, reasons = reference.health(row, config)
        assert (status, list(row["reasons"])) == (str(row["status"]), reasons), row["pair"]
        assert row["health_score"] == pytest.approx(score, abs=0.051)


def _evidence(events: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Random cancellation bounds on some cancelled copies: exact, an interval, one bound."""
    rng = np.random.default_rng(seed)
    out = events.copy()
    n = len(out)
    cancelled = (out["status"] == "cancelled").to_numpy()
    has = cancelled & (rng.random(n) < 0.7)
    lead_after = pd.to_timedelta(rng.integers(0, 96, size=n), unit="h")
    width = pd.to_timedelta(rng.choice([0, 0, 6, 30, 200], size=n), unit="h")
    after = out["start"] - lead_after - width
    before = out["start"] - lead_after
    kind = rng.integers(0, 3, size=n)  # 0: both bounds, 1: only after, 2: only before
    nat = pd.Series(pd.NaT, index=out.index, dtype="datetime64[us, UTC]")
    out["cancelled_after"] = after.where(has & (kind != 2), nat)
    out["cancelled_before"] = before.where(has & (kind != 1), nat)
    return out


orgs = st.builds(
    lambda seed, people, weeks, shift: demo.generate(
        people, seed=seed, weeks=weeks, as_of=BASE + pd.Timedelta(hours=shift)
    ),
    seed=st.integers(0, 10**6),
    people=st.integers(3, 20),
    weeks=st.integers(3, 16),
    shift=st.integers(-24 * 40, 0),
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    org=orgs,
    window=st.sampled_from(["4w", "13w", "90d"]),
    use_roster=st.booleans(),
    peers=st.booleans(),
    twice=st.integers(0, 10**6),
    seed=st.integers(0, 2**32 - 1),
)
def test_engine_agrees_with_the_reference_on_generated_organisations(
    org: demo.DemoOrg, window: str, use_roster: bool, peers: bool, twice: int, seed: int
) -> None:
    calendar = org.calendars[twice % len(org.calendars)]
    again = org.events["calendar"] == calendar  # one calendar also read from an .ics export
    events = pd.concat([org.events, org.events[again].assign(source="ics")], ignore_index=True)
    attendees = pd.concat(
        [org.attendees, org.attendees[org.attendees["calendar"] == calendar].assign(source="ics")],
        ignore_index=True,
    )
    config = AnalysisSettings(window=window, include_peers=peers)
    agree(_evidence(events, seed), attendees, org.roster if use_roster else None, org.as_of, config)


leave_orgs = st.builds(
    lambda seed, people, weeks, shift: demo.generate(
        people, seed=seed, weeks=weeks, as_of=BASE + pd.Timedelta(hours=shift), absences=True
    ),
    seed=st.integers(0, 10**6),
    people=st.integers(3, 20),
    weeks=st.integers(3, 16),
    shift=st.integers(-24 * 40, 0),
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(
    org=leave_orgs,
    window=st.sampled_from(["4w", "13w"]),
    all_day=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_engine_agrees_with_the_reference_on_organisations_with_leave(
    org: demo.DemoOrg, window: str, all_day: bool, seed: int
) -> None:
    """Out-of-office periods (the reference does not model holidays: no country column)."""
    config = AnalysisSettings(window=window, all_day_busy_is_absence=all_day)
    roster = org.roster.drop(columns="country")
    agree(_evidence(org.events, seed), org.attendees, roster, org.as_of, config)


def _case(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    if name == "removed own copy":
        evs, ats = one_on_one_copies(b_status="cancelled")
    elif name == "both declined":
        evs, ats = one_on_one_copies(a_sees_b="declined", b_sees_b="declined")
    elif name == "a third person in one copy":
        evs, ats = one_on_one_copies()
        ats.append(attendee(email=CAT, role="required"))
    elif name == "organizer's copy missing, the other cancelled":
        evs, ats = one_on_one_copies(b_status="cancelled")
        evs, ats = evs[1:], [a for a in ats if a["calendar"] == BOB]
    elif name == "a delegate's cancelled copy":
        evs, ats = one_on_one_copies()
        evs.append({**evs[0], "calendar": DAN, "status": "cancelled"})
        ats += [{**a, "calendar": DAN} for a in ats if a["calendar"] == ANN]
    elif name == "no organizer on record":
        evs, ats = one_on_one_copies()
        evs = [{**e, "organizer": None} for e in evs]
    elif name == "mixed-case addresses":
        evs, ats = one_on_one_copies(" Ann@Example.COM", "BOB@example.com ")
    elif name == "a weekly series with misses":
        evs, ats = weekly_series(ANN, BOB, "2026-03-02 09:00", 17)
        gone = {"weekly_12", "weekly_13", "weekly_14"}
        evs = [{**e, "status": "cancelled"} if e["event_id"] in gone else e for e in evs]
    else:
        raise AssertionError(name)
    data = frames(evs, ats)
    bounds = {(BOB, "e1"): ("2026-06-01 08:00", "2026-06-01 08:00")}
    return with_evidence(data, bounds) if name.startswith("organizer's") else data


@pytest.mark.parametrize(
    "name",
    [
        "removed own copy",
        "both declined",
        "a third person in one copy",
        "organizer's copy missing, the other cancelled",
        "a delegate's cancelled copy",
        "no organizer on record",
        "mixed-case addresses",
        "a weekly series with misses",
    ],
)
@pytest.mark.parametrize("roster", [None, ROSTER], ids=["no roster", "roster"])
def test_engine_agrees_with_the_reference_on_edge_cases(name: str, roster) -> None:
    events, attendees = _case(name)
    agree(events, attendees, roster, ts("2026-06-15"), AnalysisSettings())


def test_a_delegates_cancelled_copy_is_not_a_decline() -> None:
    events, attendees = _case("a delegate's cancelled copy")
    occ = analyze((events, attendees), as_of=ts("2026-06-15")).occurrences
    assert occ["outcome"].tolist() == ["held"] and occ["declined_by"].isna().all()
